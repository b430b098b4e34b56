// MemoryRecordStore against the RecordStore contract (lib/store/types.ts), condition by condition,
// as test/integration/store.test.ts holds DynamoRecordStore to it: the unit tests of the sync core
// are only as good as this fake's faithfulness.
import { beforeEach, describe, expect, it } from 'vitest';
import { InvalidCursorError, type StoredRecord } from '../../../lib/store/types.ts';
import { fakeClock, MemoryRecordStore, type FakeClock } from './memory-store.ts';

let clock: FakeClock;
let store: MemoryRecordStore;

beforeEach(() => {
  clock = fakeClock();
  store = new MemoryRecordStore({ now: clock.now });
});

function record(id: string, source = 'docker.io/library/busybox:1.36') {
  return { id, source, destination: `registry.example/team/${id}:1`, status: 'syncing' as const };
}

async function readAll(page: (cursor?: string) => Promise<{ items: StoredRecord[]; nextCursor?: string }>): Promise<{ sizes: number[]; ids: string[] }> {
  const sizes: number[] = [];
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const result = await page(cursor);
    sizes.push(result.items.length);
    ids.push(...result.items.map((item) => item.id));
    cursor = result.nextCursor;
  } while (cursor !== undefined);
  return { sizes, ids };
}

describe('records', () => {
  it('creates once, stamping version 1 and the clock; a second create returns the existing record', async () => {
    const first = await store.create({ ...record('a'), image: undefined });
    expect(first).toEqual({ created: true, record: { ...record('a'), version: 1, created_at: '2026-11-27T10:00:00Z', updated_at: '2026-11-27T10:00:00Z' } });
    expect('image' in first.record).toBe(false);
    const second = await store.create(record('a', 'docker.io/library/alpine:3'));
    expect(second).toEqual({ created: false, record: first.record });
  });

  it('updates only at the expected version, bumping it and updated_at', async () => {
    await store.create(record('a'));
    clock.advance(5_000);
    const written = await store.update('a', 1, { status: 'synced' });
    expect(written).toMatchObject({ status: 'synced', version: 2, created_at: '2026-11-27T10:00:00Z', updated_at: '2026-11-27T10:00:05Z' });
    expect(await store.update('a', 1, { status: 'failed' })).toBeUndefined();
    expect(store.peek('a')).toEqual(written);
  });

  it('never creates a record by writing to a missing one', async () => {
    expect(await store.update('none', 1, { status: 'synced' })).toBeUndefined();
    expect(await store.acquireLease('none', 'job', 1_000)).toBeUndefined();
    expect(await store.dropLease('none', 'job')).toBe(false);
    expect(store.size).toBe(0);
  });

  it('removes fields, and refuses unknown, store-kept, or both-changed-and-removed fields', async () => {
    await store.create({ ...record('a'), status: 'failed', error: 'boom' });
    const written = await store.update('a', 1, { status: 'synced' }, ['error']);
    expect(written).not.toHaveProperty('error');
    await expect(store.update('a', 2, { lease_owner: 'sneaky' } as never)).rejects.toThrow(/lease_owner is not a record field/);
    await expect(store.update('a', 2, { error: 'x' }, ['error'])).rejects.toThrow(TypeError);
    await expect(store.update('a', 2, {}, ['version' as never])).rejects.toThrow(TypeError);
    expect(store.peek('a')!.version).toBe(2);
  });

  it('deletes at a version, or unconditionally; false when nothing was deleted', async () => {
    await store.create(record('a'));
    expect(await store.delete('a', 7)).toBe(false);
    expect(await store.delete('a', 1)).toBe(true);
    expect(await store.delete('a')).toBe(false);
    await store.create(record('b'));
    expect(await store.delete('b')).toBe(true);
  });

  it('hands out copies: changing a returned record, or the input, changes nothing stored', async () => {
    const input = { ...record('a'), cleanup: { repository: 'team/a', images: [{ digest: 'sha256:x' }] } };
    const { record: created } = await store.create(input);
    input.cleanup.images.push({ digest: 'sha256:y' });
    created.status = 'failed';
    (await store.get('a'))!.cleanup!.images.length = 0;
    expect(store.peek('a')).toMatchObject({ status: 'syncing', cleanup: { images: [{ digest: 'sha256:x' }] } });
  });

  it('counts calls per operation', async () => {
    await store.create(record('a'));
    await store.get('a');
    await store.update('a', 9, {});
    expect(store.calls).toMatchObject({ create: 1, get: 1, update: 1, acquireLease: 0 });
    expect(store.count()).toBe(2);
    expect(store.count('get', 'update')).toBe(2);
    store.resetCalls();
    expect(store.count('create', 'get')).toBe(0);
  });
});

describe('leases', () => {
  it('are taken only when free or run out (strictly after lease_until), for the current generation', async () => {
    await store.create(record('a'));
    const held = await store.acquireLease('a', 'job-a', 60_000);
    // A record without a generation starts at 0.
    expect(held).toMatchObject({ lease_owner: 'job-a', lease_until: clock.now() + 60_000, generation: 0, lease_generation: 0, version: 2 });
    expect(await store.acquireLease('a', 'job-b', 60_000)).toBeUndefined();
    expect(await store.acquireLease('a', 'job-a', 60_000)).toBeUndefined();
    clock.advance(60_000);
    expect(await store.acquireLease('a', 'job-b', 60_000)).toBeUndefined();
    clock.advance(1);
    expect(await store.acquireLease('a', 'job-b', 60_000)).toMatchObject({ lease_owner: 'job-b', version: 3 });
  });

  it('renew, release and deleteLeased only while the token holds it at the leased generation', async () => {
    await store.create({ ...record('a'), generation: 4 });
    const held = (await store.acquireLease('a', 'job-a', 10_000))!;
    expect(held).toMatchObject({ generation: 4, lease_generation: 4 });
    clock.advance(20_000);
    // Renewal checks the holder, not the clock: a lease nobody took over yet is still the job's.
    expect(await store.renewLease('a', 'job-a', 10_000, { pending_digest: 'sha256:abc' })).toMatchObject({ lease_until: clock.now() + 10_000, pending_digest: 'sha256:abc' });
    expect(await store.renewLease('a', 'job-b', 10_000)).toBeUndefined();
    expect(await store.releaseLease('a', 'job-b')).toBeUndefined();
    expect(await store.deleteLeased('a', 'job-b')).toBe(false);

    // A new intent: the holder is fenced out of everything but giving the lease up.
    const moved = (await store.update('a', store.peek('a')!.version, { generation: 5 }))!;
    expect(await store.renewLease('a', 'job-a', 10_000)).toBeUndefined();
    expect(await store.releaseLease('a', 'job-a', { status: 'synced' })).toBeUndefined();
    expect(await store.deleteLeased('a', 'job-a')).toBe(false);
    expect(store.peek('a')).toEqual(moved);
    expect(await store.dropLease('a', 'job-b')).toBe(false);
    expect(await store.dropLease('a', 'job-a')).toBe(true);
    expect(store.peek('a')).not.toHaveProperty('lease_owner');
    expect(await store.acquireLease('a', 'job-b', 10_000)).toMatchObject({ lease_generation: 5 });
    expect(await store.deleteLeased('a', 'job-b')).toBe(true);
    expect(store.size).toBe(0);
  });

  it('release writes the outcome and removes every lease field', async () => {
    await store.create({ ...record('a'), error: 'earlier' });
    await store.acquireLease('a', 'job-a', 10_000);
    const released = await store.releaseLease('a', 'job-a', { status: 'synced' }, ['error']);
    expect(released).toMatchObject({ status: 'synced', version: 3 });
    for (const field of ['lease_owner', 'lease_until', 'lease_generation', 'error']) expect(released).not.toHaveProperty(field);
    expect(await store.releaseLease('a', 'job-a')).toBeUndefined();
    expect(await store.acquireLease('a', 'job-b', 10_000)).toBeDefined();
  });

  it('refuse a duration that is not a positive number', async () => {
    await store.create(record('a'));
    for (const ms of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) await expect(store.acquireLease('a', 'job', ms)).rejects.toThrow(RangeError);
  });
});

describe('listing', () => {
  const ids = Array.from({ length: 25 }, (_, i) => `rec-${String(i).padStart(2, '0')}`);
  beforeEach(async () => {
    for (const id of ids) await store.create(record(id));
  });

  it('pages with cursors, handing one out only when another page has items', async () => {
    expect(await readAll((cursor) => store.list(10, cursor))).toEqual({ sizes: [10, 10, 5], ids });
    expect((await readAll((cursor) => store.list(25, cursor))).sizes).toEqual([25]);
    expect((await readAll((cursor) => store.list(5, cursor))).sizes).toEqual([5, 5, 5, 5, 5]);
  });

  it('covers every record exactly once over scan segments', async () => {
    const seen: string[] = [];
    for (let segment = 0; segment < 4; segment++) seen.push(...(await readAll((cursor) => store.scanSegment(segment, 4, cursor, 3))).ids);
    expect(seen.sort()).toEqual(ids);
    await expect(store.scanSegment(4, 4)).rejects.toThrow(RangeError);
  });

  it('refuses cursors it did not hand out, and bad limits', async () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    for (const bad of ['', 'not a cursor!', b64('not json'), b64('[]'), b64('{"id":5}'), b64('{"id":"a","x":1}'), b64('null')]) {
      await expect(store.list(10, bad), bad).rejects.toThrow(InvalidCursorError);
    }
    await expect(store.list(0)).rejects.toThrow(RangeError);
  });
});
