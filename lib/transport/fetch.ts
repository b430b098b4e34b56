// The portable transport: the runtime's own fetch (Deno, browsers, workers).
import { NetworkError, describeNetworkError } from './errors.ts';
import type { HttpRequest, HttpResponse, Transport } from './types.ts';
import { classifyAddress } from './addresses.ts';
import type { AddressGuard } from './address-guard.ts';

export interface FetchTransportOptions {
  fetch?: typeof fetch;
  /**
   * Checked against the addresses a host resolves to, before each request. fetch cannot be told
   * which address to use, so this is a check before connecting, not at connection time. Needs
   * `resolve`, the runtime's name resolution (the adapter supplies it: the core has none).
   */
  guard?: { check: AddressGuard; resolve: (hostname: string) => Promise<string[]> };
  /** How long to wait for the response headers. */
  headersTimeoutMs?: number;
}

export function fetchTransport(options: FetchTransportOptions = {}): Transport {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const headersTimeoutMs = options.headersTimeoutMs ?? 60_000;
  return async (request: HttpRequest): Promise<HttpResponse> => {
    if (options.guard) {
      const url = new URL(request.url);
      const hostname = url.hostname.replace(/^\[|\]$/g, '');
      const addresses = classifyAddress(hostname) === undefined ? await options.guard.resolve(hostname) : [hostname];
      for (const address of addresses) options.guard.check(url.host, address);
    }
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new DOMException('no answer in time', 'TimeoutError')), headersTimeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout.signal]) : timeout.signal;
    try {
      return await fetchImpl(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        redirect: 'manual',
        signal,
        // Streams need half duplex in fetch; harmless for byte bodies.
        duplex: 'half',
      } as RequestInit);
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason;
      throw new NetworkError(new URL(request.url).host, describeNetworkError(error), { cause: error });
    } finally {
      clearTimeout(timer);
    }
  };
}
