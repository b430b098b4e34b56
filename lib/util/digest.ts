// Content digests ("sha256:<hex>"): parsing, hashing bytes, and verifying a stream on the way through.
// node:crypto because WebCrypto cannot hash incrementally; Deno supports node:crypto's createHash.
import { createHash, type Hash } from 'node:crypto';
import { digestProblem } from '../reference/reference.ts';

// The algorithms registered in the OCI image spec; anything else cannot be verified, so is refused.
const algorithms: Record<string, { node: string; hexLength: number }> = {
  sha256: { node: 'sha256', hexLength: 64 },
  sha512: { node: 'sha512', hexLength: 128 },
};

export class DigestError extends Error {
  override readonly name = 'DigestError';
}

/**
 * Throws DigestError unless `digest` is a sha256 (64 lower-case hex) or sha512 (128) digest: the
 * grammar is the reference grammar's, and only registered algorithms can be checked against bytes.
 */
export function verifiableDigest(digest: string): { algorithm: string; hex: string } {
  const problem = digestProblem(digest);
  if (problem !== undefined) throw new DigestError(problem);
  const colon = digest.indexOf(':');
  const algorithm = digest.slice(0, colon);
  if (!algorithms[algorithm]) {
    throw new DigestError(`unsupported digest algorithm ${JSON.stringify(algorithm.slice(0, 40))}: only sha256 and sha512 can be verified`);
  }
  return { algorithm, hex: digest.slice(colon + 1) };
}

/** Why `digest` is not a digest this client can verify; undefined when it is one. */
export function verifiableDigestProblem(digest: string): string | undefined {
  try {
    verifiableDigest(digest);
    return undefined;
  } catch (error) {
    if (error instanceof DigestError) return error.message;
    throw error;
  }
}

export function digestOf(bytes: Uint8Array, algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithms[algorithm]!.node).update(bytes).digest('hex')}`;
}

export class DigestMismatchError extends Error {
  override readonly name = 'DigestMismatchError';
}

/**
 * Passes bytes through while hashing them, and holds back the last chunk until the digest and size
 * are checked: a receiver never gets the complete body of a blob whose bytes do not match.
 */
export class VerifyingStream extends TransformStream<Uint8Array, Uint8Array> {
  /** Set when verification failed, whatever the transport later reports. */
  failure?: DigestMismatchError;
  bytes = 0;

  constructor(expectedDigest: string, expectedSize: number, what: string) {
    const { algorithm } = verifiableDigest(expectedDigest);
    const hash: Hash = createHash(algorithms[algorithm]!.node);
    const fail = (controller: TransformStreamDefaultController<Uint8Array>, message: string) => {
      this.failure = new DigestMismatchError(`${what}: ${message}`);
      controller.error(this.failure);
    };
    const check = (controller: TransformStreamDefaultController<Uint8Array>): boolean => {
      const actual = `${algorithm}:${hash.digest('hex')}`;
      if (actual === expectedDigest) return true;
      fail(controller, `content does not match its digest (expected ${expectedDigest}, got ${actual})`);
      return false;
    };
    super({
      transform: (chunk, controller) => {
        // An empty chunk changes nothing, and must not finish the hash a second time.
        if (chunk.byteLength === 0) return;
        this.bytes += chunk.byteLength;
        if (this.bytes > expectedSize) return fail(controller, `longer than its size ${expectedSize}`);
        hash.update(chunk);
        if (this.bytes === expectedSize && !check(controller)) return;
        controller.enqueue(chunk);
      },
      flush: (controller) => {
        if (this.bytes < expectedSize) fail(controller, `ended after ${this.bytes} of ${expectedSize} bytes`);
        else if (expectedSize === 0) check(controller);
      },
    });
  }
}
