// The one interface every layer of the client speaks: a request in, a response out.
// A response is the part of the web-standard Response the client reads (a fetch Response is
// one); the Node transport builds it without Node's global Headers/Response, whose first use
// loads Node's own bundled undici (~20 ms of start-up) beside the undici we use.
// Bodies are bytes (replayable, so retries and redirects can resend them) or a stream (sent once).
import { readAllCapped } from '../util/stream.ts';

export type Body = Uint8Array | ReadableStream<Uint8Array>;

export interface HttpRequest {
  method: string;
  url: string;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body?: Body;
  signal?: AbortSignal;
  /**
   * 'refuse': withRedirects throws rather than follow a redirect to another origin, for a request
   * carrying a secret no other host may get in any form (a token request with credentials).
   * Default 'follow': followed without Authorization, and never with a body.
   */
  crossOriginRedirect?: 'follow' | 'refuse';
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly body: ReadableStream<Uint8Array> | null;
  /**
   * The URL that gave this answer: withRedirects sets it when it followed a redirect, so callers
   * can tell who spoke (a 401 from object storage is not the registry's challenge). Absent or
   * empty means the request's own URL. A fetch Response has it too, with the same meaning.
   */
  readonly url?: string;
  /** Set when a profile read this answer as a throttle (lib/transport/retry.ts): what to call it in errors. */
  readonly throttled?: string;
}

export type Transport = (request: HttpRequest) => Promise<HttpResponse>;

/** The URL that gave this answer: the request's own unless a redirect led elsewhere. */
export function answeredUrl(response: HttpResponse, requestUrl: string): URL {
  return new URL(response.url || requestUrl);
}

/** A body that can be sent again (retry, redirect, auth refresh). */
export function isReplayable(body: Body | undefined): body is Uint8Array | undefined {
  return body === undefined || body instanceof Uint8Array;
}

/** An unwanted body this short is read to the end to keep its connection; others are cut. */
const DRAIN_LIMIT = 64 * 1024;
const DRAIN_MS = 1_000;

/** Disposes of a body: a short one is read to the end so its connection can be reused. */
export async function discard(response: HttpResponse): Promise<void> {
  if (!response.body) return;
  const reader = response.body.getReader();
  const length = Number(response.headers.get('content-length') ?? Number.NaN);
  try {
    if (length <= DRAIN_LIMIT) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), DRAIN_MS)));
      const drained = (async () => {
        while (!(await reader.read()).done);
        return 'drained' as const;
      })();
      const outcome = await Promise.race([drained, late]).finally(() => clearTimeout(timer));
      if (outcome === 'drained') return;
    }
    await reader.cancel();
  } catch {
    // Nothing to do: the connection is gone either way.
  }
}

/** The body as text, refusing more than `limit` bytes. */
export async function readText(response: HttpResponse, limit: number, what: string): Promise<string> {
  return response.body ? new TextDecoder().decode(await readAllCapped(response.body, limit, what)) : '';
}
