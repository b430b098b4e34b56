// Small pure helpers behind the API's records: timestamps (lib/util/time.ts) and the digest of
// a record's image (lib/sync/inspect.ts).
import { describe, expect, it } from 'vitest';
import { recordDigest } from '../../../lib/sync/inspect.ts';
import { isoSeconds } from '../../../lib/util/time.ts';

const DIGEST = `sha256:${'cd'.repeat(32)}`;

describe('isoSeconds', () => {
  it('formats UTC with second precision and a Z', () => {
    expect(isoSeconds(Date.UTC(2026, 10, 27, 10, 0, 0))).toBe('2026-11-27T10:00:00Z');
    expect(isoSeconds(Date.UTC(2026, 10, 27, 10, 15, 7))).toBe('2026-11-27T10:15:07Z');
  });

  it('drops milliseconds by truncating, never rounding up to the next second', () => {
    expect(isoSeconds(Date.UTC(2026, 10, 27, 10, 0, 0, 999))).toBe('2026-11-27T10:00:00Z');
    expect(isoSeconds(Date.UTC(2026, 11, 31, 23, 59, 59, 999))).toBe('2026-12-31T23:59:59Z');
  });

  it('formats the epoch', () => {
    expect(isoSeconds(0)).toBe('1970-01-01T00:00:00Z');
  });

  it('always has the shape of the contract', () => {
    for (const ms of [1, 1_000_000_000_123, 1_800_000_000_500, Date.now()]) {
      expect(isoSeconds(ms)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
  });
});

describe('recordDigest', () => {
  it('is the digest part of repo@digest', () => {
    expect(recordDigest({ image: `gcr.io/team/busybox@${DIGEST}` })).toBe(DIGEST);
  });

  it('is not confused by a registry port', () => {
    expect(recordDigest({ image: `localhost:5000/team/busybox@${DIGEST}` })).toBe(DIGEST);
  });

  it('is undefined without an image', () => {
    expect(recordDigest({})).toBeUndefined();
    expect(recordDigest({ image: undefined })).toBeUndefined();
  });

  it('is undefined for an image without a digest', () => {
    expect(recordDigest({ image: 'gcr.io/team/busybox:1.32' })).toBeUndefined();
  });
});
