import { afterEach, describe, expect, it, vi } from 'vitest';
import { NetworkError } from '../../../lib/transport/errors.ts';
import {
  backoffDelay,
  defaultRetryPolicy,
  isRetryableStatus,
  parseRetryAfter,
  sleep,
  withRetries,
  type RetryEvent,
  type RetryPolicy,
} from '../../../lib/transport/retry.ts';
import { fakeTransport, request, status, streamOf, bytes, text } from '../fakes/transport.ts';

const NOW = Date.parse('2030-01-01T00:00:00Z');

const policy: RetryPolicy = { retries: 3, baseDelayMs: 100, maxDelayMs: 1_000, maxRetryAfterMs: 10_000 };

/** A sleep hook that records every delay and returns at once (rejecting like the real one when aborted). */
function fakeSleep() {
  const delays: number[] = [];
  const hook = vi.fn(async (ms: number, signal?: AbortSignal) => {
    delays.push(ms);
    if (signal?.aborted) throw signal.reason;
  });
  return { hook, delays };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('parseRetryAfter', () => {
  it.each<[value: string | null, expected: number | undefined]>([
    ['0', 0],
    ['1', 1_000],
    ['120', 120_000],
    [' 3 ', 3_000],
    [null, undefined],
    ['', undefined],
    ['abc', undefined],
    ['5s', undefined],
    ['12abc', undefined],
    ['0x10', undefined],
    ['Thursday', undefined],
  ])('%j → %j', (value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });

  it('an HTTP-date in the future is the time until then', () => {
    expect(parseRetryAfter('Tue, 01 Jan 2030 00:00:30 GMT', NOW)).toBe(30_000);
  });

  it('an HTTP-date in the past is 0, not negative', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', NOW)).toBe(0);
  });

  it('uses the current time by default', () => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
    expect(parseRetryAfter('Tue, 01 Jan 2030 00:01:00 GMT')).toBe(60_000);
  });

  // Regression (found by these tests, fixed): values that are neither delay-seconds nor an HTTP-date go through the lenient Date.parse:
  // '-1' (parsed as year -1) and '1.5' (parsed as a date in 2001) give 0 instead of undefined.
  // Harmless inside withRetries today (0 and undefined both mean "use the backoff"), but the
  // function's contract is "delay-seconds or an HTTP date".
  it.each(['-1', '1.5', 'later 7'])('invalid %j → undefined', (value) => {
    expect(parseRetryAfter(value, NOW)).toBeUndefined();
  });
});

describe('backoffDelay', () => {
  it.each<[attempt: number, random: number, expected: number]>([
    [0, 1, 100],
    [1, 1, 200],
    [2, 1, 400],
    [3, 1, 800],
    [4, 1, 1_000], // capped at maxDelayMs
    [20, 1, 1_000],
    [3, 0, 0],
    [3, 0.5, 400],
    [0, 0.999, 100], // rounded
  ])('attempt %i with random %d → %i', (attempt, random, expected) => {
    expect(backoffDelay(attempt, policy, () => random)).toBe(expected);
  });

  it('stays within [0, min(max, base·2^attempt)] for any random value', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
      for (const r of [0, 0.1, 0.5, 0.9, 0.999999]) {
        const d = backoffDelay(attempt, policy, () => r);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(ceiling);
      }
    }
  });
});

describe('isRetryableStatus', () => {
  it.each<[status: number, retryable: boolean]>([
    [200, false],
    [201, false],
    [202, false],
    [204, false],
    [206, false],
    [301, false],
    [307, false],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [405, false],
    [408, true],
    [409, false],
    [413, false],
    [416, false],
    [429, true],
    [500, true],
    [501, false],
    [502, true],
    [503, true],
    [504, true],
    [505, false],
    [507, true],
    [599, true],
  ])('%i → %s', (code, retryable) => {
    expect(isRetryableStatus(code)).toBe(retryable);
  });
});

describe('sleep', () => {
  it('resolves after the delay', async () => {
    vi.useFakeTimers();
    let done = false;
    const p = sleep(500).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(499);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(done).toBe(true);
  });

  it('rejects with the abort reason, at once when already aborted and when aborted while waiting', async () => {
    vi.useFakeTimers();
    const reason = new Error('stop');
    await expect(sleep(1_000, AbortSignal.abort(reason))).rejects.toBe(reason);
    const controller = new AbortController();
    const p = sleep(1_000, controller.signal);
    controller.abort(reason);
    await expect(p).rejects.toBe(reason);
  });
});

describe('withRetries', () => {
  it.each([429, 503, 500, 408])('retries %i and then returns the success', async (code) => {
    const next = fakeTransport([status(code), status(code), status(200, {}, 'ok')]);
    const { hook, delays } = fakeSleep();
    const response = await withRetries(next, policy, { sleep: hook, random: () => 1 })(request('https://r.example/v2/'));
    expect(response.status).toBe(200);
    expect(await text(response)).toBe('ok');
    expect(next.calls).toHaveLength(3);
    // Full backoff with random 1: base·2^0, base·2^1.
    expect(delays).toEqual([100, 200]);
  });

  it.each([200, 201, 400, 401, 403, 404, 501, 505])('does not retry %i', async (code) => {
    const next = fakeTransport([status(code), status(200)]);
    const { hook } = fakeSleep();
    const response = await withRetries(next, policy, { sleep: hook })(request('https://r.example/v2/'));
    expect(response.status).toBe(code);
    expect(next.calls).toHaveLength(1);
    expect(hook).not.toHaveBeenCalled();
  });

  it('resends the same method, URL, headers and bytes body', async () => {
    const next = fakeTransport([status(503), status(201)]);
    const { hook } = fakeSleep();
    const body = bytes('payload');
    const headers = { 'content-type': 'application/octet-stream', authorization: 'Bearer t' };
    await withRetries(next, policy, { sleep: hook })(request('https://r.example/v2/a/blobs/uploads/x', { method: 'PUT', headers, body }));
    expect(next.calls).toHaveLength(2);
    for (const call of next.calls) {
      expect(call.method).toBe('PUT');
      expect(call.url).toBe('https://r.example/v2/a/blobs/uploads/x');
      expect(call.headers).toEqual({ 'content-type': 'application/octet-stream', authorization: 'Bearer t' });
      expect(call.body).toBe(body);
    }
  });

  it('waits at least Retry-After (seconds) even when the backoff is shorter', async () => {
    const next = fakeTransport([status(429, { 'retry-after': '7' }), status(200)]);
    const { hook, delays } = fakeSleep();
    const response = await withRetries(next, policy, { sleep: hook, random: () => 0 })(request('https://r.example/v2/'));
    expect(response.status).toBe(200);
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeGreaterThanOrEqual(7_000);
  });

  it('waits the longer of Retry-After and the backoff', async () => {
    const next = fakeTransport([status(503, { 'retry-after': '0' }), status(200)]);
    const { hook, delays } = fakeSleep();
    await withRetries(next, policy, { sleep: hook, random: () => 1 })(request('https://r.example/v2/'));
    expect(delays).toEqual([100]);
  });

  it('waits until an HTTP-date Retry-After', async () => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
    const next = fakeTransport([status(503, { 'retry-after': 'Tue, 01 Jan 2030 00:00:05 GMT' }), status(200)]);
    const { hook, delays } = fakeSleep();
    await withRetries(next, policy, { sleep: hook, random: () => 0 })(request('https://r.example/v2/'));
    expect(delays).toEqual([5_000]);
  });

  it('with the real sleep, does not send again before Retry-After has passed', async () => {
    vi.useFakeTimers();
    const next = fakeTransport([status(429, { 'retry-after': '2' }), status(200)]);
    const pending = withRetries(next, policy, { random: () => 0 })(request('https://r.example/v2/'));
    await vi.advanceTimersByTimeAsync(1_999);
    expect(next.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect((await pending).status).toBe(200);
    expect(next.calls).toHaveLength(2);
  });

  it('returns the 429 as it is when Retry-After exceeds maxRetryAfterMs', async () => {
    const next = fakeTransport([status(429, { 'retry-after': '11' }, 'slow down'), status(200)]);
    const { hook } = fakeSleep();
    const response = await withRetries(next, policy, { sleep: hook })(request('https://r.example/v2/'));
    expect(response.status).toBe(429);
    // Not discarded: the caller can still read it.
    expect(await text(response)).toBe('slow down');
    expect(next.calls).toHaveLength(1);
    expect(hook).not.toHaveBeenCalled();
  });

  it('waits for a Retry-After exactly at maxRetryAfterMs', async () => {
    const next = fakeTransport([status(429, { 'retry-after': '10' }), status(200)]);
    const { hook, delays } = fakeSleep();
    const response = await withRetries(next, policy, { sleep: hook, random: () => 0 })(request('https://r.example/v2/'));
    expect(response.status).toBe(200);
    expect(delays).toEqual([10_000]);
  });

  it('retries a NetworkError', async () => {
    const next = fakeTransport([new NetworkError('r.example', 'ECONNRESET'), new NetworkError('r.example', 'ECONNREFUSED'), status(200)]);
    const { hook, delays } = fakeSleep();
    const response = await withRetries(next, policy, { sleep: hook, random: () => 1 })(request('https://r.example/v2/'));
    expect(response.status).toBe(200);
    expect(next.calls).toHaveLength(3);
    expect(delays).toEqual([100, 200]);
  });

  it.each([new TypeError('bad header'), new Error('boom'), new DOMException('aborted', 'AbortError')])(
    'does not retry any other thrown error (%s)',
    async (error) => {
      const next = fakeTransport([error, status(200)]);
      const { hook } = fakeSleep();
      await expect(withRetries(next, policy, { sleep: hook })(request('https://r.example/v2/'))).rejects.toBe(error);
      expect(next.calls).toHaveLength(1);
      expect(hook).not.toHaveBeenCalled();
    },
  );

  it('throws the last NetworkError once the retries are spent', async () => {
    const errors = [1, 2, 3, 4, 5].map((i) => new NetworkError('r.example', `reset ${i}`));
    const next = fakeTransport(errors);
    const { hook } = fakeSleep();
    await expect(withRetries(next, policy, { sleep: hook })(request('https://r.example/v2/'))).rejects.toBe(errors[3]);
    expect(next.calls).toHaveLength(policy.retries + 1);
    expect(hook).toHaveBeenCalledTimes(policy.retries);
  });

  it('gives up after `retries` and returns the last response', async () => {
    const answers = [1, 2, 3, 4, 5].map((i) => status(503, { 'x-attempt': String(i) }));
    const next = fakeTransport(answers);
    const { hook } = fakeSleep();
    const response = await withRetries(next, policy, { sleep: hook })(request('https://r.example/v2/'));
    expect(response.status).toBe(503);
    expect(response.headers.get('x-attempt')).toBe('4');
    expect(next.calls).toHaveLength(policy.retries + 1);
    expect(hook).toHaveBeenCalledTimes(policy.retries);
  });

  it('retries: 0 sends once', async () => {
    const next = fakeTransport([status(503), status(200)]);
    const { hook } = fakeSleep();
    const response = await withRetries(next, { ...policy, retries: 0 }, { sleep: hook })(request('https://r.example/v2/'));
    expect(response.status).toBe(503);
    expect(next.calls).toHaveLength(1);
  });

  it('discards (cancels) the body of a response it retries', async () => {
    const cancel = vi.fn();
    const body = new ReadableStream<Uint8Array>({ pull() {}, cancel });
    const next = fakeTransport([new Response(body, { status: 503 }), status(200)]);
    const { hook } = fakeSleep();
    await withRetries(next, policy, { sleep: hook })(request('https://r.example/v2/'));
    expect(cancel).toHaveBeenCalled();
  });

  describe('a request whose body is a ReadableStream', () => {
    it('is not retried on a retryable status', async () => {
      const next = fakeTransport([status(503), status(201)]);
      const { hook } = fakeSleep();
      const body = streamOf([bytes('abc')]);
      const response = await withRetries(next, policy, { sleep: hook })(request('https://r.example/up', { method: 'PUT', body }));
      expect(response.status).toBe(503);
      expect(next.calls).toHaveLength(1);
      expect(hook).not.toHaveBeenCalled();
    });

    it('is not retried on a NetworkError', async () => {
      const error = new NetworkError('r.example', 'EPIPE');
      const next = fakeTransport([error, status(201)]);
      const { hook } = fakeSleep();
      const body = streamOf([bytes('abc')]);
      await expect(withRetries(next, policy, { sleep: hook })(request('https://r.example/up', { method: 'PUT', body }))).rejects.toBe(error);
      expect(next.calls).toHaveLength(1);
    });
  });

  it('reports each retry to onRetry', async () => {
    const next = fakeTransport([status(503), new NetworkError('r.example:5000', 'ECONNRESET'), status(429, { 'retry-after': '3' }), status(200)]);
    const { hook } = fakeSleep();
    const events: RetryEvent[] = [];
    await withRetries(next, policy, { sleep: hook, random: () => 1, onRetry: (e) => events.push(e) })(
      request('https://r.example:5000/v2/a/manifests/latest', { method: 'HEAD' }),
    );
    expect(events).toEqual([
      { method: 'HEAD', host: 'r.example:5000', attempt: 1, reason: 'status 503', delayMs: 100 },
      { method: 'HEAD', host: 'r.example:5000', attempt: 2, reason: 'ECONNRESET', delayMs: 200 },
      { method: 'HEAD', host: 'r.example:5000', attempt: 3, reason: 'status 429', delayMs: 3_000 },
    ]);
  });

  it('onRetry is called before the wait with the delay the sleep hook then receives', async () => {
    const order: string[] = [];
    const next = fakeTransport([status(500), status(200)]);
    await withRetries(next, policy, {
      random: () => 0.5,
      onRetry: (e) => order.push(`retry ${e.delayMs}`),
      sleep: async (ms) => {
        order.push(`sleep ${ms}`);
      },
    })(request('https://r.example/v2/'));
    expect(order).toEqual(['retry 50', 'sleep 50']);
  });

  it('passes the request signal to the sleep hook', async () => {
    const controller = new AbortController();
    const next = fakeTransport([status(503), status(200)]);
    const { hook } = fakeSleep();
    await withRetries(next, policy, { sleep: hook })(request('https://r.example/v2/', { signal: controller.signal }));
    expect(hook).toHaveBeenCalledWith(expect.any(Number), controller.signal);
  });

  describe('abort', () => {
    it('stops waiting and rejects with the abort reason when the signal aborts during the wait (real sleep)', async () => {
      vi.useFakeTimers();
      const controller = new AbortController();
      const next = fakeTransport([status(503), status(200)]);
      const pending = withRetries(next, policy, { random: () => 1 })(request('https://r.example/v2/', { signal: controller.signal }));
      const settled = pending.catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(10);
      const reason = new Error('cancelled by user');
      controller.abort(reason);
      expect(await settled).toBe(reason);
      await vi.advanceTimersByTimeAsync(10_000);
      expect(next.calls).toHaveLength(1);
    });

    it('stops when the sleep hook rejects because the signal aborted', async () => {
      const controller = new AbortController();
      const reason = new Error('stop');
      const next = fakeTransport(() => {
        controller.abort(reason);
        return status(503);
      });
      const { hook } = fakeSleep();
      await expect(withRetries(next, policy, { sleep: hook })(request('https://r.example/v2/', { signal: controller.signal }))).rejects.toBe(reason);
      expect(next.calls).toHaveLength(1);
    });

    it('does not retry a NetworkError once the signal is aborted', async () => {
      const controller = new AbortController();
      const error = new NetworkError('r.example', 'aborted');
      const next = fakeTransport(() => {
        controller.abort();
        throw error;
      });
      const { hook } = fakeSleep();
      await expect(withRetries(next, policy, { sleep: hook })(request('https://r.example/v2/', { signal: controller.signal }))).rejects.toBe(error);
      expect(next.calls).toHaveLength(1);
      expect(hook).not.toHaveBeenCalled();
    });
  });

  it('has sane defaults', () => {
    expect(defaultRetryPolicy.retries).toBeGreaterThan(0);
    expect(defaultRetryPolicy.baseDelayMs).toBeLessThanOrEqual(defaultRetryPolicy.maxDelayMs);
    expect(defaultRetryPolicy.maxRetryAfterMs).toBeGreaterThanOrEqual(defaultRetryPolicy.maxDelayMs);
  });
});
