// Follows redirects by hand so that credentials never travel to another origin
// (blob GETs are often redirected to object storage, which must not see the registry token).
// The answer tells where it came from (`url`), so a 401 from elsewhere is not taken for the
// registry's own challenge.
import { RefusedUrlError } from './errors.ts';
import { discard, isReplayable, type HttpRequest, type HttpResponse, type Transport } from './types.ts';

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
      if (!redirectStatuses.has(response.status) || location === null) return hops === 0 ? response : answeredBy(response, request.url);
      await discard(response);
      if (hops >= maxRedirects) throw new RefusedUrlError(`more than ${maxRedirects} redirects from ${new URL(first.url).host}`);
      const target = new URL(location, request.url);
      options.checkUrl?.(target);
      request = redirected(request, response.status, target);
    }
  };
}

/** The answer marked with the URL that gave it (a fetch Response's own `url` cannot be set). */
function answeredBy(response: HttpResponse, url: string): HttpResponse {
  return { status: response.status, headers: response.headers, body: response.body, url, throttled: response.throttled };
}

function redirected(request: HttpRequest, status: number, target: URL): HttpRequest {
  const from = new URL(request.url);
  const crossOrigin = target.origin !== from.origin;
  const hop = `${request.method} to ${from.host} was redirected (${status}) to ${target.host}`;
  if (crossOrigin && request.crossOriginRedirect === 'refuse') {
    throw new RefusedUrlError(`${hop}, another origin; this request carries credentials and is not sent there`);
  }
  const headers = { ...request.headers };
  if (crossOrigin) delete headers.authorization;
  // 303, and 301/302 after a POST, turn into a GET without a body (as browsers and Go do).
  const toGet = (status === 303 && request.method !== 'HEAD') || ((status === 301 || status === 302) && request.method === 'POST');
  if (toGet) {
    for (const name of ['content-length', 'content-type', 'content-range']) delete headers[name];
    return { method: 'GET', url: target.href, headers, signal: request.signal, crossOriginRedirect: request.crossOriginRedirect };
  }
  // A body is meant for the origin it was sent to (a token form, a manifest): never forwarded.
  if (crossOrigin && request.body !== undefined) throw new RefusedUrlError(`${hop}, another origin; a request body is not sent there`);
  if (!isReplayable(request.body)) throw new RefusedUrlError(`${hop}; a streamed body cannot be sent twice`);
  return { ...request, url: target.href, headers };
}
