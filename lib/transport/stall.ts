// A transfer that moves too little for too long has stalled: it ends with an error naming the host
// at fault, instead of holding a record `syncing` for minutes. The rule is curl's
// --speed-limit/--speed-time: fewer than `minBytes` within `ms` of waiting. A trickle (one byte
// every few seconds) stalls as surely as silence. Time is charged to the side being waited on: the
// producer (a response body: the host sending it) while a read is pending, the consumer (an
// upload: the host receiving it) while a chunk waits to be taken.
import { NetworkError } from './errors.ts';

export interface StallPolicy {
  ms: number;
  minBytes: number;
}

export const DEFAULT_STALL: StallPolicy = { ms: 30_000, minBytes: 16 * 1024 };

/** The host stopped (or nearly stopped) sending or taking bytes. Retried like any network failure. */
export class StalledError extends NetworkError {
  constructor(host: string, role: 'sending' | 'receiving', policy: StallPolicy) {
    super(host, `stalled: ${role} less than ${formatBytes(policy.minBytes)} in ${policy.ms / 1000} s`);
    this.message = `${host} stalled: ${role} less than ${formatBytes(policy.minBytes)} in ${policy.ms / 1000} s`;
  }
}

export interface WatchOptions {
  policy: StallPolicy;
  /** The host producing the bytes (charged while a read waits). */
  producer?: string;
  /** The host consuming them (charged while a chunk waits to be taken). */
  consumer?: string;
  /**
   * Called with the error when the stream stalls. A consumer blocked on its socket (the remote end
   * reads nothing) never asks for the next chunk, so it cannot learn of the failure from the
   * stream: whoever sends the request must be stopped another way (an AbortController).
   */
  onStall?: (error: StalledError) => void;
}

/** The stream, failing with StalledError when the watched side stalls. Pull-driven: nothing is read ahead. */
export function watchStalls(body: ReadableStream<Uint8Array>, options: WatchOptions): ReadableStream<Uint8Array> {
  const { policy, producer, consumer } = options;
  const reader = body.getReader();
  // The current window: bytes moved, and time waited on each side, since the last reset.
  let bytes = 0;
  let producerWait = 0;
  let consumerWait = 0;
  let waitingSince: number | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failed: StalledError | undefined;
  let controller!: ReadableStreamDefaultController<Uint8Array>;

  const stall = (host: string, role: 'sending' | 'receiving') => {
    failed = new StalledError(host, role, policy);
    controller.error(failed);
    void reader.cancel(failed).catch(() => {});
    options.onStall?.(failed);
  };
  const arm = (remaining: number, host: string | undefined, role: 'sending' | 'receiving') => {
    clearTimeout(timer);
    timer = undefined;
    if (host === undefined) return;
    timer = setTimeout(() => stall(host, role), Math.max(0, remaining));
  };
  const settle = (waited: number, host: string | undefined, role: 'sending' | 'receiving'): boolean => {
    if (host !== undefined && waited >= policy.ms && bytes < policy.minBytes) {
      stall(host, role);
      return true;
    }
    return false;
  };

  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      async pull(c) {
        if (failed) return;
        const now = Date.now();
        if (waitingSince !== undefined) consumerWait += now - waitingSince;
        if (settle(consumerWait, consumer, 'receiving')) return;
        waitingSince = now;
        arm(policy.ms - producerWait, producer, 'sending');
        let step: Awaited<ReturnType<typeof reader.read>>;
        try {
          step = await reader.read();
        } catch (error) {
          clearTimeout(timer);
          if (!failed) c.error(error);
          return;
        }
        clearTimeout(timer);
        if (failed) return;
        const arrived = Date.now();
        producerWait += arrived - waitingSince;
        if (step.done) {
          c.close();
          return;
        }
        bytes += step.value.byteLength;
        if (bytes >= policy.minBytes) {
          bytes = 0;
          producerWait = 0;
          consumerWait = 0;
        } else if (settle(producerWait, producer, 'sending')) {
          return;
        }
        waitingSince = arrived;
        c.enqueue(step.value);
        arm(policy.ms - consumerWait, consumer, 'receiving');
      },
      cancel(reason) {
        clearTimeout(timer);
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** The StalledError behind an error (a transport wraps the failure of the body it was sending), if any. */
export function stallBehind(error: unknown): StalledError | undefined {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof StalledError) return e;
  }
  return undefined;
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 && bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`;
}
