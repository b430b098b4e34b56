// SyncEngine over the memory store and the in-memory registry: one job per record across workers
// (leases with fencing), joining a job for the same intent, waiting out one for an older intent,
// taking over a dead worker's record, and what each way of ending leaves in the record and at the
// destination. Time is the fake clock (leases) except where timers matter (the job's timeout, the
// lease window of a destination change): there, vitest's fake timers.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LogFields } from '../../../lib/log.ts';
import { NotFoundError } from '../../../lib/registry/errors.ts';
import type { RecordChanges, StoredRecord } from '../../../lib/store/types.ts';
import { SyncEngine, type SyncEngineOptions } from '../../../lib/sync/engine.ts';
import { SyncTimeoutError } from '../../../lib/sync/errors.ts';
import { isoSeconds } from '../../../lib/util/time.ts';
import { blobsOf, makeImage, makeIndex, MemoryRegistry, type Fixture, type Match } from '../fakes/memory-registry.ts';
import { fakeClock, MemoryRecordStore, type FakeClock } from '../fakes/memory-store.ts';

const ID = 'record-1';
const SOURCE = 'src.example/team/app:v1';
const DESTINATION = 'dst.example/mirror/app:v1';
const DST = 'dst.example';
const REPO = 'mirror/app';
const LEASE_MS = 60_000;
/** The copy's first source blob GET: where tests hold a job mid-copy. */
const SOURCE_BLOB: Match = { method: 'GET', host: 'src.example', path: '/blobs/' };
const TAG_PUSH: Match = { method: 'PUT', host: DST, path: '/manifests/v1' };

let clock: FakeClock;
let store: MemoryRecordStore;
let registry: MemoryRegistry;
let logs: { message: string; fields?: LogFields }[];
let image: Fixture;

beforeEach(async () => {
  clock = fakeClock();
  store = new MemoryRecordStore({ now: clock.now });
  registry = new MemoryRegistry();
  logs = [];
  image = registry.push('src.example', 'team/app', makeImage({ layers: 1 }), 'v1');
  await store.create({ id: ID, source: SOURCE, destination: DESTINATION, status: 'syncing', generation: 1 });
});

afterEach(() => {
  vi.useRealTimers();
});

function engine(worker = 'w1', options: Partial<SyncEngineOptions> = {}): SyncEngine {
  const clients = registry.clients();
  return new SyncEngine({ store, clients, worker, log: (_level, message, fields) => logs.push({ message, fields }), pollMs: 5, leaseMs: LEASE_MS, now: clock.now, ...options });
}

/** Writes a new intent as PUT (a new source) and DELETE do: the generation goes up. */
async function raiseGeneration(changes: RecordChanges = {}): Promise<number> {
  const current = store.peek(ID)!;
  const generation = current.generation! + 1;
  expect(await store.update(ID, current.version, { generation, ...changes })).toBeDefined();
  return generation;
}

/** Whether a promise has settled yet, without waiting for it. */
function track<T>(promise: Promise<T>): { settled: boolean } {
  const state = { settled: false };
  promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

/** Lets every pending promise job run: enough for a job stopped in memory to finish stopping. */
function macrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Lets a waiting job poll the store a few times. */
async function letPoll(times = 3): Promise<void> {
  const reads = store.calls.get;
  await vi.waitFor(() => expect(store.calls.get).toBeGreaterThanOrEqual(reads + times));
}

/** The lease fields of a record: {} once given up. */
function leaseOf(record: StoredRecord | undefined): Partial<StoredRecord> {
  return Object.fromEntries(Object.entries(record ?? {}).filter(([field]) => field.startsWith('lease_')));
}

describe('a sync job', () => {
  it('takes the lease, copies, writes the outcome and releases', async () => {
    // Right before the tag moves, the record already names the digest the tag is about to get.
    let beforeTagPush: StoredRecord | undefined;
    registry.before(TAG_PUSH, () => void (beforeTagPush = store.peek(ID)));
    const outcome = await engine().sync(ID);

    expect(outcome).toMatchObject({ kind: 'synced', copy: { unchanged: false, digest: image.digest } });
    expect(beforeTagPush).toMatchObject({ pending_digest: image.digest, lease_owner: expect.stringMatching(/^w1:/), lease_generation: 1 });
    const at = isoSeconds(clock.now());
    expect(store.peek(ID)).toMatchObject({ status: 'synced', image: `${DST}/${REPO}@${image.digest}`, source_digest: image.digest, synced_at: at, checked_at: at, generation: 1 });
    expect(leaseOf(store.peek(ID))).toEqual({});
    expect(store.peek(ID)).not.toHaveProperty('pending_digest');
    expect(store.calls).toMatchObject({ acquireLease: 1, renewLease: 1, releaseLease: 1, dropLease: 0 });
    expect(registry.read(DST, REPO).tags).toEqual({ v1: image.digest });
  });

  it('joins a job for the same intent running elsewhere: one copy, its outcome', async () => {
    const gate = registry.hang(SOURCE_BLOB);
    const first = engine('w1').sync(ID);
    await gate.reached;
    const second = engine('w2').sync(ID);
    await letPoll();
    gate.release();

    const [a, b] = await Promise.all([first, second]);
    expect(a).toMatchObject({ kind: 'synced', copy: { unchanged: false } });
    expect(b.kind).toBe('synced');
    expect(b).not.toHaveProperty('copy');
    expect(b.kind === 'synced' && b.record.image).toBe(`${DST}/${REPO}@${image.digest}`);
    expect(registry.uploads(DST)).toBe(blobsOf(image).length);
    expect(store.calls.acquireLease).toBe(1);
  });

  it("joining a re-sync of a synced record, answers that job's new outcome, not the record's old state", async () => {
    // Regression: a joiner took the record's old `synced` status for the outcome of the job it joined.
    expect((await engine('w1').sync(ID)).kind).toBe('synced');
    const moved = registry.push('src.example', 'team/app', makeImage({ layers: 1 }), 'v1');
    const gate = registry.hang(SOURCE_BLOB);
    const first = engine('w1').sync(ID);
    await gate.reached;
    expect(store.peek(ID)).toMatchObject({ status: 'syncing' });
    const second = engine('w2').sync(ID);
    const joined = track(second);
    await letPoll();
    expect(joined.settled).toBe(false);
    gate.release();
    const [a, b] = await Promise.all([first, second]);
    expect(a).toMatchObject({ kind: 'synced', record: { source_digest: moved.digest } });
    expect(b).toMatchObject({ kind: 'synced', record: { source_digest: moved.digest } });
    expect(b).not.toHaveProperty('copy');
  });

  it('answers pending when the job it joined outlasts joinUntil', async () => {
    await store.acquireLease(ID, 'elsewhere:job', LEASE_MS);
    expect(await engine().sync(ID, { joinUntil: clock.now() })).toMatchObject({ kind: 'pending', record: { lease_owner: 'elsewhere:job' } });
    expect(registry.log).toEqual([]);
  });

  it('stops before its tag push when the record moves on to a new generation, changing nothing at the destination', async () => {
    const gate = registry.hang(SOURCE_BLOB);
    const outcome = engine().sync(ID);
    await gate.reached;
    await raiseGeneration({ status: 'syncing' });
    gate.release();

    expect(await outcome).toMatchObject({ kind: 'pending', record: { generation: 2, status: 'syncing' } });
    expect(registry.count(TAG_PUSH)).toBe(0);
    expect(registry.read(DST, REPO).tags).toEqual({});
    expect(store.peek(ID)).toMatchObject({ status: 'syncing' });
    expect(leaseOf(store.peek(ID))).toEqual({});
    expect(store.peek(ID)).not.toHaveProperty('pending_digest');
    expect(store.calls).toMatchObject({ releaseLease: 0, dropLease: 1 });
  });

  it('stops at once when cancelled for a newer generation, and not for its own', async () => {
    const gate = registry.hang(SOURCE_BLOB);
    const sync = engine();
    const outcome = sync.sync(ID);
    const state = track(outcome);
    await gate.reached;

    sync.cancel(ID, 1);
    await macrotask();
    expect(state.settled).toBe(false);

    sync.cancel(ID, await raiseGeneration());
    // The held request is never released: only the cancellation can end the job.
    expect(await outcome).toMatchObject({ kind: 'pending', record: { generation: 2 } });
    expect(sync.running).toBe(0);
    expect(registry.count(TAG_PUSH)).toBe(0);
    expect(leaseOf(store.peek(ID))).toEqual({});
  });

  it('waits out a job for an older intent, whatever joinUntil, and takes over once its lease is dropped', async () => {
    await store.acquireLease(ID, 'stale:job', LEASE_MS);
    await raiseGeneration();
    const outcome = engine().sync(ID, { joinUntil: clock.now() });
    const state = track(outcome);
    await letPoll();
    expect(state.settled).toBe(false);

    expect(await store.dropLease(ID, 'stale:job')).toBe(true);
    expect(await outcome).toMatchObject({ kind: 'synced', copy: { unchanged: false }, record: { status: 'synced', generation: 2 } });
    expect(registry.read(DST, REPO).tags).toEqual({ v1: image.digest });
  });

  it('takes over a dead worker’s record once its lease runs out', async () => {
    await store.acquireLease(ID, 'dead:job', LEASE_MS);
    const outcome = engine().sync(ID);
    const state = track(outcome);
    await letPoll();
    expect(state.settled).toBe(false);
    expect(store.calls.acquireLease).toBe(1);

    clock.advance(LEASE_MS + 1);
    expect(await outcome).toMatchObject({ kind: 'synced', copy: { unchanged: false }, record: { status: 'synced' } });
    expect(leaseOf(store.peek(ID))).toEqual({});
    expect(store.calls.acquireLease).toBe(2);
  });

  it('is fenced out of its tag push once another job took the lease over', async () => {
    const gate = registry.hang(SOURCE_BLOB);
    const outcome = engine().sync(ID);
    await gate.reached;
    // This worker stalled past its lease; another took the record over.
    clock.advance(LEASE_MS + 1);
    expect(await store.acquireLease(ID, 'other:job', LEASE_MS)).toBeDefined();
    gate.release();

    expect(await outcome).toMatchObject({ kind: 'pending', record: { status: 'syncing', lease_owner: 'other:job' } });
    expect(registry.count(TAG_PUSH)).toBe(0);
    expect(registry.read(DST, REPO).tags).toEqual({});
    // The fence's LeaseLostError is how the job stopped (outcomes carry no error for a lost record).
    expect(logs.find((l) => l.message === 'sync stopped')?.fields?.reason).toBe(`record ${ID} moved on before push ${REPO}:v1`);
    expect(store.peek(ID)).toMatchObject({ lease_owner: 'other:job' });
  });

  it('records a failure with its error and releases the lease', async () => {
    registry.fail(SOURCE_BLOB, { status: 404, code: 'BLOB_UNKNOWN', times: 1 });
    const outcome = await engine().sync(ID);
    expect(outcome.kind).toBe('failed');
    expect(outcome.kind === 'failed' && outcome.error).toBeInstanceOf(NotFoundError);
    expect(store.peek(ID)).toMatchObject({ status: 'failed', error: expect.stringMatching(/404 BLOB_UNKNOWN/), checked_at: isoSeconds(clock.now()) });
    expect(leaseOf(store.peek(ID))).toEqual({});
    expect(store.calls.releaseLease).toBe(1);
    expect(registry.read(DST, REPO).tags).toEqual({});
  });

  it('fails with SyncTimeoutError past IMAGESYNC_SYNC_TIMEOUT', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const gate = registry.hang(SOURCE_BLOB);
    const outcome = engine('w1', { syncTimeoutMs: 10_000 }).sync(ID);
    await gate.reached;
    await vi.advanceTimersByTimeAsync(10_000);

    const ended = await outcome;
    expect(ended.kind).toBe('failed');
    expect(ended.kind === 'failed' && ended.error).toBeInstanceOf(SyncTimeoutError);
    expect(store.peek(ID)).toMatchObject({ status: 'failed', error: `the job on record ${ID} did not finish within 10 s (IMAGESYNC_SYNC_TIMEOUT)` });
    expect(leaseOf(store.peek(ID))).toEqual({});
    expect(registry.count(TAG_PUSH)).toBe(0);
  });

  it('stopped by its timeout while removing the image it replaced, keeps its outcome: synced, the removal left for later', async () => {
    // Regression: the timeout's failure overwrote the outcome already written (the tag had moved).
    expect((await engine('w1').sync(ID)).kind).toBe('synced');
    const moved = registry.push('src.example', 'team/app', makeImage({ layers: 1 }), 'v1');
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const gate = registry.hang({ method: 'DELETE', host: DST, path: '/manifests/' });
    const outcome = engine('w1', { syncTimeoutMs: 10_000 }).sync(ID);
    await gate.reached;
    await vi.advanceTimersByTimeAsync(10_000);

    expect(await outcome).toMatchObject({ kind: 'synced', record: { status: 'synced', source_digest: moved.digest } });
    expect(store.peek(ID)).toMatchObject({ status: 'synced', image: `${DST}/${REPO}@${moved.digest}`, cleanup: { images: [{ digest: image.digest }] } });
    expect(registry.read(DST, REPO).tags).toEqual({ v1: moved.digest });
    // The delete got no answer: it may still land, so the lease is kept until it runs out.
    expect(store.peek(ID)).toMatchObject({ lease_owner: expect.stringMatching(/^w1:/) });
  });

  it('keeps the lease until it runs out when its tag push outlasts the lease window with no answer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const gate = registry.hang(TAG_PUSH);
    const outcome = engine().sync(ID);
    await gate.reached;
    // Three quarters of the lease: the push may still land, so no other job may move the tag yet.
    await vi.advanceTimersByTimeAsync(LEASE_MS * 0.75);

    expect(await outcome).toMatchObject({ kind: 'failed', record: { status: 'failed' } });
    expect(store.peek(ID)).toMatchObject({ status: 'failed', error: expect.stringMatching(/did not finish within 45000 ms/), lease_owner: expect.stringMatching(/^w1:/) });
    expect(store.calls).toMatchObject({ releaseLease: 0, dropLease: 0 });
  });

  it('is interrupted by stop(), leaving the record syncing without a lease', async () => {
    const gate = registry.hang(SOURCE_BLOB);
    const sync = engine();
    const outcome = sync.sync(ID);
    await gate.reached;
    await sync.stop(new Error('shutting down'));

    expect(sync.running).toBe(0);
    expect(await outcome).toMatchObject({ kind: 'interrupted', record: { status: 'syncing' } });
    expect(store.peek(ID)).toMatchObject({ status: 'syncing' });
    expect(leaseOf(store.peek(ID))).toEqual({});
    expect(registry.count(TAG_PUSH)).toBe(0);
  });

  it('does not sync a record being deleted', async () => {
    await raiseGeneration({ status: 'deleting' });
    expect(await engine().sync(ID)).toMatchObject({ kind: 'deleting' });
    expect(store.calls.acquireLease).toBe(0);
  });
});

describe('a removal job', () => {
  async function syncThenMarkDeleting(): Promise<void> {
    expect((await engine().sync(ID)).kind).toBe('synced');
    await raiseGeneration({ status: 'deleting' });
  }

  it('removes the tag, manifests and blobs nothing else uses, then the record', async () => {
    await syncThenMarkDeleting();
    expect(await engine().remove(ID)).toEqual({ kind: 'removed', left: [] });
    expect(store.peek(ID)).toBeUndefined();
    expect(registry.read(DST, REPO)).toEqual({ tags: {}, manifests: {}, blobs: {} });
  });

  it('keeps an image another tag points at, removing only the record’s tag', async () => {
    await syncThenMarkDeleting();
    registry.setTag(DST, REPO, 'stable', image.digest);
    expect(await engine().remove(ID)).toEqual({ kind: 'removed', left: [] });
    const held = registry.read(DST, REPO);
    expect(held.tags).toEqual({ stable: image.digest });
    expect(Object.keys(held.manifests)).toEqual([image.digest]);
    expect(Object.keys(held.blobs)).toHaveLength(blobsOf(image).length);
    expect(store.peek(ID)).toBeUndefined();
  });

  it('removes an image a stopped job pushed (pending_digest) with the record', async () => {
    const pushed = registry.push(DST, REPO, makeIndex([makeImage()]), 'v1');
    await store.delete(ID);
    await store.create({ id: ID, source: SOURCE, destination: DESTINATION, status: 'deleting', generation: 3, pending_digest: pushed.digest });
    expect(await engine().remove(ID)).toEqual({ kind: 'removed', left: [] });
    expect(store.peek(ID)).toBeUndefined();
    expect(registry.read(DST, REPO)).toEqual({ tags: {}, manifests: {}, blobs: {} });
  });

  it('leaves a record that is not being deleted alone', async () => {
    expect(await engine().remove(ID)).toEqual({ kind: 'gone' });
    expect(store.peek(ID)).toBeDefined();
    expect(store.calls.acquireLease).toBe(0);
  });
});
