// Quay (quay.io). What differs, with the public record of it (emulated in test/harness/quirks/quay.ts):
// - v2 tag deletion since 2024 (quay/quay PR#3128): DELETE manifests/<tag> removes that tag alone,
//   which the v2 path tries first (lib/cleanup/remove-image.ts), so no throwaway manifest is pushed.
// - 429 under load (goharbor/harbor#19199, ivanilves/lstags#204), from its nginx rate limits
//   (quay/quay PR#1175), with nginx's HTML page as the body (3scale/3scale-operator#583): the usual
//   retries take it, waiting at least what Retry-After asks (lib/transport/retry.ts).
// - A referrers API.
import { hostWithoutPort } from '../../reference/reference.ts';
import { distribution, type RegistryProfile } from './profile.ts';

export function isQuay(registry: string): boolean {
  return hostWithoutPort(registry).toLowerCase() === 'quay.io';
}

export const quay: RegistryProfile = { ...distribution, name: 'quay' };
