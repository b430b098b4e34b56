// Retries what is worth retrying: network errors, 408, 429 and 5xx, with exponential backoff
// and full jitter, waiting at least as long as the registry's Retry-After asks.
import { NetworkError } from './errors.ts';
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
      if (!isRetryableStatus(response.status) || attempt >= retries) return response;
      if (request.signal?.aborted) {
        await discard(response);
        throw request.signal.reason;
      }
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
      if (retryAfter !== undefined && retryAfter > policy.maxRetryAfterMs) return response;
      const delayMs = Math.max(retryAfter ?? 0, backoffDelay(attempt, policy, random));
      await discard(response);
      hooks.onRetry?.({ method: request.method, host, attempt: attempt + 1, reason: `status ${response.status}`, delayMs });
      await wait(delayMs, request.signal);
    }
  };
}
