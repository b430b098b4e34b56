// watchStalls (lib/transport/stall.ts) on hand-made streams, with a fake clock: silence, a trickle,
// a consumer that stops taking, and transfers that must not be cut.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StalledError, watchStalls, type StallPolicy } from '../../../lib/transport/stall.ts';
import { NetworkError } from '../../../lib/transport/errors.ts';

const policy: StallPolicy = { ms: 30_000, minBytes: 16 * 1024 };

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A source that hands out `size`-byte chunks, each after `everyMs` (or never, for Infinity). */
function source(chunks: number, size: number, everyMs: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (sent === chunks) return controller.close();
        if (!Number.isFinite(everyMs)) return new Promise(() => {});
        if (everyMs > 0) await new Promise((resolve) => setTimeout(resolve, everyMs));
        sent++;
        controller.enqueue(new Uint8Array(size));
      },
    },
    { highWaterMark: 0 },
  );
}

/** Reads to the end; resolves with the byte count or the error, and when it happened (fake ms). */
async function drain(stream: ReadableStream<Uint8Array>, pauseMs = 0): Promise<{ bytes: number; error?: unknown; at: number }> {
  const started = Date.now();
  const reader = stream.getReader();
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes, at: Date.now() - started };
      bytes += value.byteLength;
      if (pauseMs) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  } catch (error) {
    return { bytes, error, at: Date.now() - started };
  }
}

describe('the producer side', () => {
  it('fails a silent source after the stall time, naming its host', async () => {
    const result = drain(watchStalls(source(5, 1024, Infinity), { policy, producer: 'registry.example' }));
    await vi.advanceTimersByTimeAsync(29_999);
    await vi.advanceTimersByTimeAsync(2);
    const { error, at } = await result;
    expect(error).toBeInstanceOf(StalledError);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toBe('registry.example stalled: sending less than 16 KiB in 30 s');
    expect(at).toBe(30_000);
  });

  it('fails a trickle of one byte every 5 s once 30 s of waiting brought less than 16 KiB', async () => {
    const result = drain(watchStalls(source(1000, 1, 5_000), { policy, producer: 'slow.example' }));
    await vi.advanceTimersByTimeAsync(60_000);
    const { error, bytes, at } = await result;
    expect((error as Error).message).toMatch(/^slow\.example stalled: sending/);
    expect(bytes).toBe(5);
    expect(at).toBe(30_000);
  });

  it('lets a slow but steady source through: 16 KiB every 25 s', async () => {
    const result = drain(watchStalls(source(6, 16 * 1024, 25_000), { policy, producer: 'steady.example' }));
    await vi.advanceTimersByTimeAsync(200_000);
    expect(await result).toEqual({ bytes: 6 * 16 * 1024, at: 150_000 });
  });

  it('charges a slow consumer nothing when only the producer is watched', async () => {
    const result = drain(watchStalls(source(3, 10, 0), { policy, producer: 'fast.example' }), 100_000);
    await vi.advanceTimersByTimeAsync(400_000);
    const { bytes, error } = await result;
    expect(error).toBeUndefined();
    expect(bytes).toBe(30);
  });
});

describe('the consumer side', () => {
  it('fails when the consumer stops taking chunks, naming the consumer', async () => {
    const stream = watchStalls(source(10, 1024, 0), { policy, consumer: 'destination.example' });
    const reader = stream.getReader();
    await reader.read();
    const next = reader.read().then(
      () => 'read',
      (error: unknown) => error,
    );
    // The consumer took a chunk, asked for the next (pending is the source: not charged), got it...
    await vi.advanceTimersByTimeAsync(0);
    expect(await next).toBe('read');
    // ...and then took nothing more.
    const later = reader.read().catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(1);
    expect(await later).toMatchObject({ done: false });
    await vi.advanceTimersByTimeAsync(30_000);
    const after = await reader.read().catch((error: unknown) => error);
    expect(after).toBeInstanceOf(StalledError);
    expect((after as Error).message).toBe('destination.example stalled: receiving less than 16 KiB in 30 s');
  });

  it('does not charge the consumer for a slow source', async () => {
    const result = drain(watchStalls(source(3, 1024, 40_000), { policy, consumer: 'destination.example' }));
    await vi.advanceTimersByTimeAsync(200_000);
    expect(await result).toEqual({ bytes: 3 * 1024, at: 120_000 });
  });

  it('lets a consumer that pauses within the window finish', async () => {
    const result = drain(watchStalls(source(4, 16 * 1024, 0), { policy, consumer: 'destination.example' }), 20_000);
    await vi.advanceTimersByTimeAsync(200_000);
    const { bytes, error } = await result;
    expect(error).toBeUndefined();
    expect(bytes).toBe(4 * 16 * 1024);
  });
});

it('leaves no timer behind once the stream ended or was cancelled', async () => {
  await drain(watchStalls(source(2, 10, 0), { policy, producer: 'a', consumer: 'b' }));
  expect(vi.getTimerCount()).toBe(0);
  const stream = watchStalls(source(2, 10, Infinity), { policy, producer: 'a' });
  const reader = stream.getReader();
  void reader.read().catch(() => {});
  await vi.advanceTimersByTimeAsync(1);
  expect(vi.getTimerCount()).toBe(1);
  await reader.cancel();
  expect(vi.getTimerCount()).toBe(0);
});
