// IMAGESYNC_ALLOWED_REGISTRIES: registries that may be used as source or destination. Unset:
// every registry may be named (which addresses may be contacted is the address guard's business).
import { hostPatterns } from './host-patterns.ts';

export function registryAllowlist(list: string | undefined): ((registry: string) => boolean) | undefined {
  return hostPatterns(list);
}
