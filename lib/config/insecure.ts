// Which registries are reached over plain http: loopback hosts always (as Docker does), plus
// IMAGESYNC_INSECURE_REGISTRIES entries.
import { isLoopbackHost } from '../reference/reference.ts';
import { hostPatterns } from './host-patterns.ts';

export function insecureHosts(list: string | undefined): (host: string) => boolean {
  const listed = hostPatterns(list);
  return (host) => isLoopbackHost(host.toLowerCase()) || (listed?.(host) ?? false);
}
