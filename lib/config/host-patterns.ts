// Lists of registry hosts in settings: `host` (any port), `host:port`, `*.example.com` (any
// subdomain, not the apex), comma-separated. Both sides are normalized the way references are,
// so `registry.hub.docker.com` in a list means Docker Hub however a reference spells it.
import { hostWithoutPort, normalizeRegistryHost } from '../reference/reference.ts';

export function hostPatterns(list: string | undefined): ((host: string) => boolean) | undefined {
  const entries = (list ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)
    .map((e) => (e.startsWith('*.') ? `*.${e.slice(2).toLowerCase()}` : normalizeRegistryHost(e)));
  if (entries.length === 0) return undefined;
  return (host) => {
    const name = normalizeRegistryHost(host);
    const bare = hostWithoutPort(name);
    return entries.some((entry) => (entry.startsWith('*.') ? bare.endsWith(entry.slice(1)) : entry === name || entry === bare));
  };
}
