// Which registries are reached over plain http: loopback hosts always (as Docker does), plus
// IMAGESYNC_INSECURE_REGISTRIES entries (`host`, `host:port`, `*.example.com`), comma-separated.
import { hostWithoutPort, isLoopbackHost } from '../reference/reference.ts';

export function insecureHosts(list: string | undefined): (host: string) => boolean {
  const entries = (list ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter(Boolean);
  return (host) => {
    const h = host.toLowerCase();
    if (isLoopbackHost(h)) return true;
    const bare = hostWithoutPort(h);
    return entries.some((entry) => {
      if (entry.startsWith('*.')) return bare.endsWith(entry.slice(1));
      return entry === h || entry === bare;
    });
  };
}
