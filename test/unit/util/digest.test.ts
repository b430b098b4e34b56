import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifiableDigest, DigestError, DigestMismatchError, digestOf, verifiableDigestProblem, VerifyingStream } from '../../../lib/util/digest.ts';
import { bytes, chunkedStream, concat, pattern, streamOf } from '../fakes/transport.ts';

const EMPTY_SHA256 = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const HEX64 = '0123456789abcdef'.repeat(4);
const HEX128 = HEX64 + HEX64;

interface Outcome {
  delivered: Uint8Array;
  error?: unknown;
}

/** Pipes a source through a VerifyingStream and records what the receiver got before any error. */
async function verify(source: ReadableStream<Uint8Array>, digest: string, size: number): Promise<Outcome & { verifier: VerifyingStream }> {
  const verifier = new VerifyingStream(digest, size, 'blob team/app@' + digest.slice(0, 15));
  const received: Uint8Array[] = [];
  const reader = source.pipeThrough(verifier).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received.push(value);
    }
    return { delivered: concat(received), verifier };
  } catch (error) {
    return { delivered: concat(received), error, verifier };
  }
}

describe('verifiableDigest', () => {
  it.each<[digest: string, algorithm: string]>([
    [`sha256:${HEX64}`, 'sha256'],
    [`sha512:${HEX128}`, 'sha512'],
    [EMPTY_SHA256, 'sha256'],
  ])('accepts %s', (digest, algorithm) => {
    expect(verifiableDigest(digest)).toEqual({ algorithm, hex: digest.slice(digest.indexOf(':') + 1) });
  });

  it.each([
    ['no colon', HEX64],
    ['empty', ''],
    ['unknown algorithm', `md5:${'0'.repeat(32)}`],
    ['sha384 (not supported)', `sha384:${'0'.repeat(96)}`],
    ['upper-case algorithm', `SHA256:${HEX64}`],
    ['upper-case hex', `sha256:${HEX64.toUpperCase()}`],
    ['short hex', `sha256:${HEX64.slice(1)}`],
    ['long hex', `sha256:${HEX64}0`],
    ['sha512 with sha256 length', `sha512:${HEX64}`],
    ['non-hex characters', `sha256:${'g'.repeat(64)}`],
    ['empty hex', 'sha256:'],
    ['whitespace', ` sha256:${HEX64}`],
    ['trailing newline', `sha256:${HEX64}\n`],
  ])('rejects %s', (_label, digest) => {
    expect(() => verifiableDigest(digest)).toThrow(DigestError);
  });

  it.each<[label: string, digest: string, reason: RegExp]>([
    ['a path traversal', `sha256:${HEX64}/../../v2/x/manifests/v1`, /invalid character "\/" in encoded value/],
    ['a query', `sha256:${HEX64}?x=1`, /invalid character "\?"/],
    ['an unknown algorithm', `md5:${'0'.repeat(32)}`, /unsupported digest algorithm "md5": only sha256 and sha512/],
    ['upper-case hex', `sha256:${HEX64.toUpperCase()}`, /lower-case/],
    ['a short sha512', `sha512:${HEX64}`, /sha512 needs 128 hex digits, got 64/],
  ])('says why it rejects %s', (_label, digest, reason) => {
    expect(() => verifiableDigest(digest)).toThrow(reason);
    expect(verifiableDigestProblem(digest)).toMatch(reason);
  });

  it('verifiableDigestProblem: undefined for a good digest', () => {
    expect(verifiableDigestProblem(`sha256:${HEX64}`)).toBeUndefined();
    expect(verifiableDigestProblem(`sha512:${HEX128}`)).toBeUndefined();
  });

  it('does not echo an enormous input in full', () => {
    const huge = 'sha256:' + 'a'.repeat(100_000);
    try {
      verifiableDigest(huge);
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message.length).toBeLessThan(300);
    }
  });
});

describe('digestOf', () => {
  it.each<[input: Uint8Array, algorithm: string | undefined, expected: string]>([
    [new Uint8Array(0), undefined, EMPTY_SHA256],
    [bytes('abc'), 'sha256', 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    [
      bytes('abc'),
      'sha512',
      'sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    ],
  ])('%#', (input, algorithm, expected) => {
    expect(digestOf(input, algorithm)).toBe(expected);
  });

  it('defaults to sha256 and agrees with node:crypto on larger input', () => {
    const data = pattern(100_000);
    expect(digestOf(data)).toBe(`sha256:${createHash('sha256').update(data).digest('hex')}`);
  });
});

describe('VerifyingStream', () => {
  const data = pattern(10_000);
  const good = digestOf(data);

  it.each<[label: string, sizes: number[]]>([
    ['one chunk', [10_000]],
    ['odd-sized chunks', [1, 7, 333, 4096, 2]],
    ['single bytes', [1]],
    ['many small chunks', [13]],
  ])('passes exact bytes for a good blob (%s)', async (_label, sizes) => {
    const { delivered, error, verifier } = await verify(chunkedStream(data, sizes), good, data.length);
    expect(error).toBeUndefined();
    expect(delivered).toEqual(data);
    expect(verifier.bytes).toBe(data.length);
    expect(verifier.failure).toBeUndefined();
  });

  it('verifies sha512 digests too', async () => {
    const { delivered, error } = await verify(chunkedStream(data, [999]), digestOf(data, 'sha512'), data.length);
    expect(error).toBeUndefined();
    expect(delivered).toEqual(data);
  });

  it.each<[label: string, sizes: number[]]>([
    ['one chunk', [10_000]],
    ['odd-sized chunks', [1, 7, 333, 4096, 2]],
    ['last chunk of one byte', [9_999, 1]],
  ])('for a wrong digest, errors and never delivers the last chunk (%s)', async (_label, sizes) => {
    const corrupted = data.slice();
    corrupted[5_000] ^= 0xff;
    const { delivered, error, verifier } = await verify(chunkedStream(corrupted, sizes), good, data.length);
    expect(error).toBeInstanceOf(DigestMismatchError);
    expect(verifier.failure).toBe(error);
    expect(delivered.byteLength).toBeLessThan(data.length);
    const message = (error as Error).message;
    expect(message).toContain('blob team/app@');
    expect(message).toContain(good);
    expect(message).toContain(digestOf(corrupted));
  });

  it('input longer than the size errors (extra bytes in the last chunk)', async () => {
    const longer = concat([data, bytes('x')]);
    const { delivered, error } = await verify(chunkedStream(longer, [4_000]), good, data.length);
    expect(error).toBeInstanceOf(DigestMismatchError);
    expect((error as Error).message).toMatch(/longer than its size 10000/);
    expect(delivered.byteLength).toBeLessThan(longer.length);
    expect(delivered.byteLength).toBeLessThanOrEqual(data.length);
  });

  it('input longer than the size errors (extra chunk after a complete body)', async () => {
    const { error, verifier } = await verify(streamOf([data, bytes('extra')]), good, data.length);
    expect(error).toBeInstanceOf(DigestMismatchError);
    expect(verifier.failure).toBe(error);
  });

  it('input shorter than the size errors at the end', async () => {
    const short = data.subarray(0, 9_000);
    const { delivered, error, verifier } = await verify(chunkedStream(short, [1_000]), good, data.length);
    expect(error).toBeInstanceOf(DigestMismatchError);
    expect((error as Error).message).toMatch(/ended after 9000 of 10000 bytes/);
    expect(verifier.failure).toBe(error);
    expect(delivered.byteLength).toBeLessThan(data.length);
  });

  it('a right-sized body with the digest of other bytes errors', async () => {
    const { error } = await verify(chunkedStream(data, [777]), digestOf(pattern(10_000, 99)), data.length);
    expect(error).toBeInstanceOf(DigestMismatchError);
  });

  it('an empty blob with the empty digest passes', async () => {
    const { delivered, error } = await verify(streamOf([]), EMPTY_SHA256, 0);
    expect(error).toBeUndefined();
    expect(delivered.byteLength).toBe(0);
  });

  it('an empty blob with another digest errors', async () => {
    const { error } = await verify(streamOf([]), good, 0);
    expect(error).toBeInstanceOf(DigestMismatchError);
  });

  it('bytes for a blob of size 0 error', async () => {
    const { error, delivered } = await verify(streamOf([bytes('a')]), EMPTY_SHA256, 0);
    expect(error).toBeInstanceOf(DigestMismatchError);
    expect(delivered.byteLength).toBe(0);
  });

  it('refuses an unverifiable digest at construction', () => {
    expect(() => new VerifyingStream('md5:abc', 1, 'x')).toThrow(DigestError);
  });

  // Regression (found by these tests, fixed): once `bytes === expectedSize` the hash is finalized (hash.digest); a later zero-length chunk
  // (or, for a size-0 blob, an empty chunk followed by flush) digests again and node:crypto throws
  // "Digest already called". The blob is good, yet the stream errors with a plain Error (not a
  // DigestMismatchError, and `failure` stays unset).
  it.each<[label: string, chunks: Uint8Array[], digest: string, size: number]>([
    ['a good blob followed by an empty chunk', [pattern(100), new Uint8Array(0)], digestOf(pattern(100)), 100],
    ['an empty blob sent as one empty chunk', [new Uint8Array(0)], EMPTY_SHA256, 0],
  ])('tolerates zero-length chunks: %s', async (_label, chunks, digest, size) => {
    const { error, delivered } = await verify(streamOf(chunks), digest, size);
    expect(error).toBeUndefined();
    expect(delivered.byteLength).toBe(size);
  });
});
