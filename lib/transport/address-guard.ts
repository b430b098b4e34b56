// The SSRF guard's rule: a connection goes to a loopback, private, link-local or metadata
// address only for a host listed in IMAGESYNC_ALLOWED_REGISTRIES (or loopback, where the
// runtime allows it: `serve` without a list). Transports apply it to the addresses they are
// about to connect to, so redirects, token realms and upload locations are covered alike.
import { classifyAddress } from './addresses.ts';

export class ForbiddenAddressError extends Error {
  override readonly name = 'ForbiddenAddressError';
}

export interface AddressGuardOptions {
  /** Hosts (`host` or `host:port`) that may resolve anywhere. */
  listed?: (host: string) => boolean;
  /** Loopback is fine for any host. */
  allowLoopback?: boolean;
}

/** Throws ForbiddenAddressError when `host` (`name:port`) must not be reached at `address`. */
export type AddressGuard = (host: string, address: string) => void;

export function addressGuard(options: AddressGuardOptions = {}): AddressGuard {
  return (host, address) => {
    const kind = classifyAddress(address);
    if (kind === undefined || kind === 'public') return;
    if (kind === 'loopback' && options.allowLoopback) return;
    if (options.listed?.(host)) return;
    throw new ForbiddenAddressError(
      `refusing to connect to ${host} at ${address} (a ${kind} address); list ${host} in IMAGESYNC_ALLOWED_REGISTRIES if that registry is meant to be reached`,
    );
  };
}

/**
 * The guard of a service: hosts in IMAGESYNC_ALLOWED_REGISTRIES may resolve anywhere; without a
 * list, a local service (`serve`, Deno) may also reach loopback, Lambda may not.
 */
export function serviceGuard(allowed: ((host: string) => boolean) | undefined, local: boolean): AddressGuard {
  return addressGuard({ listed: allowed, allowLoopback: local && allowed === undefined });
}
