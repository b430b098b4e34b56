import { describe, expect, it, vi } from 'vitest';
import { readAllCapped, SizeLimitError, StreamSlicer } from '../../../lib/util/stream.ts';
import { chunkedStream, concat, pattern, readChunks, streamOf } from '../fakes/transport.ts';

describe('StreamSlicer', () => {
  it.each<[label: string, total: number, chunkSizes: number[], sliceLengths: number[]]>([
    ['odd chunks, equal slices', 1_000, [1, 7, 333, 13, 97], [250, 250, 250, 250]],
    ['slices smaller than chunks', 1_000, [400], [3, 3, 94, 100, 300, 500]],
    ['slices larger than chunks', 1_000, [7], [999, 1]],
    ['slice boundaries on chunk boundaries', 900, [300], [300, 300, 300]],
    ['one slice of everything', 4_096, [1, 2, 3, 5, 8, 13], [4_096]],
    ['single-byte chunks and slices', 20, [1], [1, 1, 1, 17]],
  ])('%s: consecutive slices of exact lengths with bytes intact', async (_label, total, chunkSizes, sliceLengths) => {
    const data = pattern(total);
    const slicer = new StreamSlicer(chunkedStream(data, chunkSizes));
    let offset = 0;
    for (const length of sliceLengths) {
      const slice = concat(await readChunks(slicer.take(length)));
      expect(slice.byteLength).toBe(length);
      expect(slice).toEqual(data.subarray(offset, offset + length));
      offset += length;
    }
    expect(offset).toBe(total);
  });

  it('a slice of length 0 is empty and consumes nothing', async () => {
    const data = pattern(10);
    const slicer = new StreamSlicer(chunkedStream(data, [4]));
    expect(concat(await readChunks(slicer.take(0))).byteLength).toBe(0);
    expect(concat(await readChunks(slicer.take(10)))).toEqual(data);
  });

  it('never reads more from the source than the slice needs plus the chunk it is in', async () => {
    const pulls = vi.fn();
    let sent = 0;
    const source = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          pulls();
          controller.enqueue(pattern(100, sent));
          sent++;
        },
      },
      { highWaterMark: 0 },
    );
    const slicer = new StreamSlicer(source);
    await readChunks(slicer.take(150));
    expect(pulls.mock.calls.length).toBeLessThanOrEqual(2);
  });

  it('a source that ends early makes the slice error, after delivering what there was', async () => {
    const data = pattern(100);
    const slicer = new StreamSlicer(chunkedStream(data, [30]));
    expect(concat(await readChunks(slicer.take(60)))).toEqual(data.subarray(0, 60));
    const reader = slicer.take(50).getReader();
    const got: Uint8Array[] = [];
    let error: unknown;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        got.push(value);
      }
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/10 bytes early/);
    expect(concat(got)).toEqual(data.subarray(60, 100));
  });

  it('an empty source makes the first slice error', async () => {
    const slicer = new StreamSlicer(streamOf([]));
    await expect(readChunks(slicer.take(1))).rejects.toThrow(/1 bytes early/);
  });

  it('cancelling a slice cancels the source', async () => {
    const cancel = vi.fn();
    const source = new ReadableStream<Uint8Array>({ pull: (c) => c.enqueue(pattern(10)), cancel }, { highWaterMark: 0 });
    const slicer = new StreamSlicer(source);
    const reader = slicer.take(100).getReader();
    await reader.read();
    await reader.cancel('stop');
    expect(cancel).toHaveBeenCalledWith('stop');
  });

  it('cancel() cancels the source and does not throw', async () => {
    const cancel = vi.fn(() => {
      throw new Error('already gone');
    });
    const slicer = new StreamSlicer(new ReadableStream<Uint8Array>({ cancel }));
    await expect(slicer.cancel('done')).resolves.toBeUndefined();
    expect(cancel).toHaveBeenCalledWith('done');
  });
});

describe('readAllCapped', () => {
  it.each<[size: number, limit: number, chunks: number[]]>([
    [0, 0, [1]],
    [10, 10, [3]],
    [1_000, 4_096, [1, 7, 333]],
  ])('reads %i bytes under a limit of %i', async (size, limit, chunks) => {
    const data = pattern(size);
    expect(await readAllCapped(chunkedStream(data, chunks), limit, 'manifest')).toEqual(data);
  });

  it.each<[size: number, limit: number]>([
    [11, 10],
    [1, 0],
    [5_000, 4_096],
  ])('%i bytes over a limit of %i throw a SizeLimitError, naming the thing and the limit', async (size, limit) => {
    const error = await readAllCapped(chunkedStream(pattern(size), [3]), limit, 'manifest').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SizeLimitError);
    expect((error as SizeLimitError).message).toBe(`manifest is larger than ${limit} bytes`);
    expect([(error as SizeLimitError).what, (error as SizeLimitError).limit]).toEqual(['manifest', limit]);
  });

  it('stops reading and cancels the source as soon as the cap is passed', async () => {
    const cancel = vi.fn();
    let pulls = 0;
    const endless = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          pulls++;
          controller.enqueue(new Uint8Array(100));
        },
        cancel,
      },
      { highWaterMark: 0 },
    );
    await expect(readAllCapped(endless, 250, 'error body')).rejects.toThrow(/larger than 250/);
    expect(cancel).toHaveBeenCalled();
    expect(pulls).toBeLessThanOrEqual(4);
  });

  it('propagates a source error', async () => {
    const failing = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(3));
        controller.error(new Error('connection reset'));
      },
    });
    await expect(readAllCapped(failing, 100, 'x')).rejects.toThrow('connection reset');
  });
});
