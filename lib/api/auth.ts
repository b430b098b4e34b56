// Bearer tokens for /v1: several may be valid at once (rotation). Compared in constant time
// over fixed-length hashes, so neither content nor length leaks through timing.
import { createHash, timingSafeEqual } from 'node:crypto';

export function tokenChecker(tokens: string[]): (authorization: string | undefined) => boolean {
  const expected = tokens.filter(Boolean).map(hash);
  return (authorization) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) return false;
    const presented = hash(match[1]!);
    // Every token is compared, whichever matches first.
    let ok = false;
    for (const candidate of expected) ok = timingSafeEqual(candidate, presented) || ok;
    return ok;
  };
}

function hash(token: string): Uint8Array {
  return createHash('sha256').update(token).digest();
}
