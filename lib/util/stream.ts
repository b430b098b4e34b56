// Slicing one byte stream into consecutive sub-streams of exact lengths (chunked uploads),
// without buffering more than the chunk the source just produced.

export class StreamSlicer {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private leftover: Uint8Array | undefined;

  constructor(source: ReadableStream<Uint8Array>) {
    this.reader = source.getReader();
  }

  /** The next `length` bytes as a stream; read it to the end before asking for the next slice. */
  take(length: number): ReadableStream<Uint8Array> {
    let remaining = length;
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          if (remaining === 0) return controller.close();
          let chunk = this.leftover;
          this.leftover = undefined;
          if (!chunk) {
            const step = await this.reader.read();
            if (step.done) return controller.error(new Error(`stream ended ${remaining} bytes early`));
            chunk = step.value;
          }
          if (chunk.byteLength > remaining) {
            this.leftover = chunk.subarray(remaining);
            chunk = chunk.subarray(0, remaining);
          }
          remaining -= chunk.byteLength;
          controller.enqueue(chunk);
          if (remaining === 0) controller.close();
        },
        cancel: (reason) => this.reader.cancel(reason),
      },
      { highWaterMark: 0 },
    );
  }

  async cancel(reason?: unknown): Promise<void> {
    await this.reader.cancel(reason).catch(() => {});
  }
}

/** A body was larger than its reader's limit; typed so callers can say whose answer it was. */
export class SizeLimitError extends Error {
  override readonly name = 'SizeLimitError';
  constructor(
    readonly what: string,
    readonly limit: number,
  ) {
    super(`${what} is larger than ${limit} bytes`);
  }
}

/** Reads a whole stream, cancelling it and throwing SizeLimitError as soon as it passes `limit`. */
export async function readAllCapped(stream: ReadableStream<Uint8Array>, limit: number, what: string): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new SizeLimitError(what, limit);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.byteLength;
  }
  return all;
}
