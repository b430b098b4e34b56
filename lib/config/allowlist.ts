// IMAGESYNC_ALLOWED_REGISTRIES: registries that may be used as source or destination
// (`host[:port]`, `*.example.com`, comma-separated). Unset: every registry may be named
// (which addresses may be contacted is the address guard's business).
import { hostWithoutPort } from '../reference/reference.ts';

export function registryAllowlist(list: string | undefined): ((registry: string) => boolean) | undefined {
  const entries = (list ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter(Boolean);
  if (entries.length === 0) return undefined;
  return (registry) => {
    const host = registry.toLowerCase();
    const bare = hostWithoutPort(host);
    return entries.some((entry) => {
      // `*.example.com` matches subdomains at any depth, not example.com itself.
      if (entry.startsWith('*.')) return bare.endsWith(entry.slice(1));
      // An entry with a port matches that port only; without, any port.
      return entry === host || entry === bare;
    });
  };
}
