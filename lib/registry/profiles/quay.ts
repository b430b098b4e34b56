// Quay (quay.io). What differs, with the public record of it: v2 tag deletion since 2024
// (quay/quay PR#3128), which the v2 path uses; 429s under load (goharbor/harbor#19199), which
// the usual retries with Retry-After handle; a referrers API.
import { distribution, type RegistryProfile } from './profile.ts';

export function isQuay(registry: string): boolean {
  return registry.replace(/:\d+$/, '') === 'quay.io';
}

export const quay: RegistryProfile = { ...distribution, name: 'quay' };
