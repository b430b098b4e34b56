// Follows redirects by hand so that credentials never travel to another origin
// (blob GETs are often redirected to object storage, which must not see the registry token).
import { RefusedUrlError } from './errors.ts';
import { discard, isReplayable, type HttpRequest, type Transport } from './types.ts';

const redirectStatuses = new Set([301, 302, 303, 307, 308]);

export interface RedirectOptions {
  maxRedirects?: number;
  /** Throws when a redirect target must not be contacted (scheme policy, address guard). */
  checkUrl?: (url: URL) => void;
}

export function withRedirects(next: Transport, options: RedirectOptions = {}): Transport {
  const maxRedirects = options.maxRedirects ?? 10;
  return async (first: HttpRequest) => {
    let request = first;
    for (let hops = 0; ; hops++) {
      const response = await next(request);
      const location = response.headers.get('location');
      if (!redirectStatuses.has(response.status) || location === null) return response;
      await discard(response);
      if (hops >= maxRedirects) throw new RefusedUrlError(`more than ${maxRedirects} redirects from ${new URL(first.url).host}`);
      const target = new URL(location, request.url);
      options.checkUrl?.(target);
      request = redirected(request, response.status, target);
    }
  };
}

function redirected(request: HttpRequest, status: number, target: URL): HttpRequest {
  const headers = { ...request.headers };
  if (target.origin !== new URL(request.url).origin) delete headers.authorization;
  // 303, and 301/302 after a POST, turn into a GET without a body (as browsers and Go do).
  const toGet = (status === 303 && request.method !== 'HEAD') || ((status === 301 || status === 302) && request.method === 'POST');
  if (toGet) {
    for (const name of ['content-length', 'content-type', 'content-range']) delete headers[name];
    return { method: 'GET', url: target.href, headers, signal: request.signal };
  }
  if (!isReplayable(request.body)) {
    throw new RefusedUrlError(`${request.method} to ${new URL(request.url).host} was redirected to ${target.host}; a streamed body cannot be sent twice`);
  }
  return { ...request, url: target.href, headers };
}
