// Retries what is worth retrying: network errors, 408, 429 and 5xx, with exponential backoff
// and full jitter, waiting at least as long as the registry's Retry-After asks.
import { NetworkError } from './errors.ts';
import { readAllCapped } from '../util/stream.ts';
import { discard, isReplayable, type HttpRequest, type HttpResponse, type Transport } from './types.ts';

export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the answer is returned as it is. */
  maxRetryAfterMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  retries: 5,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
};

export interface RetryEvent {
  method: string;
  host: string;
  attempt: number;
  reason: string;
  delayMs: number;
}

export interface RetryHooks {
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  onRetry?: (event: RetryEvent) => void;
  random?: () => number;
  /** Reads a 429 (with its body, at most 4 KiB) as a throttle calling for a long wait, or not. */
  throttle?: (response: HttpResponse, body: string) => { reason: string; delayMs: number } | undefined;
}

/** Bytes of a 429's body read to classify it; a throttle page is short. */
const THROTTLE_BODY = 4 * 1024;

/**
 * The throttle a 429 means (none for an ordinary 429), and the answer rebuilt around the body
 * read, so whoever reports the error reads it too, marked with the throttle's reason.
 */
async function readThrottle(response: HttpResponse, classify: NonNullable<RetryHooks['throttle']>): Promise<{ throttle?: { reason: string; delayMs: number }; response: HttpResponse }> {
  let bytes: Uint8Array = new Uint8Array(0);
  if (response.body) {
    try {
      bytes = await readAllCapped(response.body, THROTTLE_BODY, '429 body');
    } catch {
      // Longer than a throttle page: not one.
    }
  }
  const throttle = classify(response, new TextDecoder().decode(bytes));
  const rebuilt: HttpResponse = {
    status: response.status,
    headers: response.headers,
    url: response.url,
    body: new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(bytes), c.close()) }),
    throttled: throttle?.reason,
  };
  return { throttle, response: rebuilt };
}

/** 501 and 505 say the server will never do it; every other 5xx may pass. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

// The three HTTP-date forms (RFC 9110 5.6.7); Date.parse alone would take "-1" or "1.5" as dates.
const imfFixdate = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const rfc850Date = /^[A-Z][a-z]+, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const asctimeDate = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/** Retry-After as milliseconds from now: delay-seconds or an HTTP date (RFC 9110 10.2.3). */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  let date = Number.NaN;
  if (imfFixdate.test(text) || rfc850Date.test(text)) date = Date.parse(text);
  // asctime has no zone; HTTP dates are always UTC.
  else if (asctimeDate.test(text)) date = Date.parse(`${text} GMT`);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Full jitter: uniform in [0, min(max, base * 2^attempt)]. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(random() * ceiling);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function withRetries(next: Transport, policy: RetryPolicy = defaultRetryPolicy, hooks: RetryHooks = {}): Transport {
  const wait = hooks.sleep ?? sleep;
  const random = hooks.random ?? Math.random;
  return async (request: HttpRequest) => {
    // A streamed body can be sent only once: the caller restarts the whole operation instead.
    const retries = isReplayable(request.body) ? policy.retries : 0;
    const host = new URL(request.url).host;
    for (let attempt = 0; ; attempt++) {
      let response: HttpResponse;
      try {
        response = await next(request);
      } catch (error) {
        if (attempt >= retries || request.signal?.aborted || !(error instanceof NetworkError)) throw error;
        const delayMs = backoffDelay(attempt, policy, random);
        hooks.onRetry?.({ method: request.method, host, attempt: attempt + 1, reason: error.reason, delayMs });
        await wait(delayMs, request.signal);
        continue;
      }
      if (!isRetryableStatus(response.status)) return response;
      // A profile may read the answer as a throttle that calls for a long wait (Docker Hub's anti-abuse 429).
      let throttle: { reason: string; delayMs: number } | undefined;
      if (hooks.throttle && response.status === 429) ({ throttle, response } = await readThrottle(response, hooks.throttle));
      if (attempt >= retries) return response;
      if (request.signal?.aborted) {
        await discard(response);
        throw request.signal.reason;
      }
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
      if (retryAfter !== undefined && retryAfter > policy.maxRetryAfterMs) return response;
      const delayMs = Math.min(policy.maxRetryAfterMs, Math.max(retryAfter ?? 0, throttle?.delayMs ?? 0, backoffDelay(attempt, policy, random)));
      await discard(response);
      hooks.onRetry?.({ method: request.method, host, attempt: attempt + 1, reason: throttle?.reason ?? `status ${response.status}`, delayMs });
      await wait(delayMs, request.signal);
    }
  };
}
