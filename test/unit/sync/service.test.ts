// ImageService (the HTTP API's operations) over the memory store, the in-memory registry, a real
// SyncEngine and an InProcessContinuation: what each request answers, what it writes, and what it
// leaves to the background once its one deadline passes.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseImageSpec } from '../../../lib/api/input.ts';
import { SourceNotFoundError } from '../../../lib/copy/errors.ts';
import { NotFoundError } from '../../../lib/registry/errors.ts';
import { InProcessContinuation } from '../../../lib/sync/continuation.ts';
import { SyncEngine } from '../../../lib/sync/engine.ts';
import { ConflictError } from '../../../lib/sync/errors.ts';
import { ImageService } from '../../../lib/sync/service.ts';
import type { ImageSpec } from '../../../lib/sync/spec.ts';
import { isoSeconds } from '../../../lib/util/time.ts';
import { blobsOf, makeImage, MemoryRegistry, type Fixture, type LoggedRequest, type Match } from '../fakes/memory-registry.ts';
import { fakeClock, MemoryRecordStore, type FakeClock } from '../fakes/memory-store.ts';

const SOURCE = 'src.example/team/app:v1';
const DESTINATION = 'dst.example/mirror/app:v1';
const DST = 'dst.example';
const REPO = 'mirror/app';
const LEASE_MS = 60_000;
const SOURCE_BLOB: Match = { method: 'GET', host: 'src.example', path: '/blobs/' };

let clock: FakeClock;
let store: MemoryRecordStore;
let registry: MemoryRegistry;
let continuation: InProcessContinuation;
let image: Fixture;

beforeEach(() => {
  clock = fakeClock();
  store = new MemoryRecordStore({ now: clock.now });
  registry = new MemoryRegistry();
  continuation = new InProcessContinuation(() => {});
  image = registry.push('src.example', 'team/app', makeImage(), 'v1');
});

/** The service; `now` is the fake clock unless a test measures real time against its budget. */
function service(options: { budgetMs?: number; now?: () => number } = {}): ImageService {
  const clients = registry.clients();
  const log = () => {};
  const engine = new SyncEngine({ store, clients, log, worker: 'api', pollMs: 5, leaseMs: LEASE_MS, now: clock.now });
  return new ImageService({ store, engine, clients, continuation, log, budgetMs: options.budgetMs ?? 10_000, now: options.now ?? clock.now });
}

afterEach(() => {
  vi.useRealTimers();
});

/** Whether a promise has settled yet, without waiting for it. */
function track<T>(promise: Promise<T>): { settled: boolean } {
  const state = { settled: false };
  promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

function spec(source = SOURCE, destination = DESTINATION): ImageSpec {
  return parseImageSpec({ source, destination }, {});
}

const ID = spec().id;
const line = (r: LoggedRequest) => `${r.method} ${r.host}${r.path}`;

describe('create', () => {
  it('answers 201 with the synced record, then 200 for the same source without writing', async () => {
    const api = service();
    const created = await api.create(spec(), api.begin(true));
    expect(created).toMatchObject({ status: 201, record: { id: ID, status: 'synced', source: SOURCE, image: `${DST}/${REPO}@${image.digest}` } });
    expect(registry.read(DST, REPO).tags).toEqual({ v1: image.digest });

    store.resetCalls();
    const again = await api.create(spec(), api.begin(true));
    expect(again).toEqual({ status: 200, record: created.record });
    expect(store.count()).toBe(0);
  });

  it('answers 409 destination-taken for another source to the same destination', async () => {
    const api = service();
    await api.create(spec(), api.begin(true));
    const conflict = await api.create(spec('src.example/team/other:v1'), api.begin(true)).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(ConflictError);
    expect((conflict as ConflictError).code).toBe('destination-taken');
    expect(store.peek(ID)!.source).toBe(SOURCE);
  });

  it('refuses a missing source with SourceNotFoundError, writing nothing', async () => {
    const api = service();
    const missing = api.create(spec('src.example/team/app:nope'), api.begin(true));
    await expect(missing).rejects.toThrow(SourceNotFoundError);
    await expect(missing).rejects.toThrow(/404 MANIFEST_UNKNOWN/);
    expect(store.calls.create).toBe(0);
    expect(store.size).toBe(0);
    expect(registry.count({ host: DST })).toBe(0);
  });

  it('leaves no record when the first sync fails', async () => {
    registry.fail(SOURCE_BLOB, { status: 404, code: 'BLOB_UNKNOWN' });
    const api = service();
    await expect(api.create(spec(), api.begin(true))).rejects.toThrow(NotFoundError);
    expect(store.size).toBe(0);
  });

  it('answers 202 at once with wait: false, the sync finishing in the background', async () => {
    const api = service();
    const answer = await api.create(spec(), api.begin(false));
    expect(answer).toMatchObject({ status: 202, record: { status: 'syncing' } });
    expect(await continuation.drain(5_000)).toBe(true);
    expect(store.peek(ID)).toMatchObject({ status: 'synced', image: `${DST}/${REPO}@${image.digest}` });
  });

  it('has one deadline per request: time spent before the sync counts against it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const api = service({ budgetMs: 200, now: Date.now });
    const lookup = registry.hang({ method: 'HEAD', host: 'src.example' });
    const copy = registry.hang(SOURCE_BLOB);
    const answer = api.create(spec(), api.begin(true));
    const state = track(answer);
    // The source lookup takes 120 ms of the budget, then the copy stalls: 80 ms are left for it.
    await lookup.reached;
    await vi.advanceTimersByTimeAsync(120);
    lookup.release();
    await copy.reached;
    await vi.advanceTimersByTimeAsync(79);
    expect(state.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(state.settled).toBe(true);
    expect(await answer).toMatchObject({ status: 202, record: { status: 'syncing' } });

    copy.release();
    expect(await continuation.drain()).toBe(true);
    expect(store.peek(ID)).toMatchObject({ status: 'synced' });
  });
});

describe('replace', () => {
  it('with a new source raises the generation, moves the tag and removes the previous image', async () => {
    const api = service();
    await api.create(spec(), api.begin(true));
    const next = registry.push('src.example', 'team/app', makeImage(), 'v2');
    const answer = await api.replace(ID, spec('src.example/team/app:v2'), api.begin(true));

    expect(answer).toMatchObject({ status: 200, record: { status: 'synced', generation: 2, source: 'src.example/team/app:v2', image: `${DST}/${REPO}@${next.digest}` } });
    expect(store.peek(ID)).not.toHaveProperty('cleanup');
    const held = registry.read(DST, REPO);
    expect(held.tags).toEqual({ v1: next.digest });
    expect(Object.keys(held.manifests)).toEqual([next.digest]);
    expect(Object.keys(held.blobs).sort()).toEqual(blobsOf(next).map((b) => b.digest).sort());
  });

  it('with the same source answers 200 after one HEAD, without a write', async () => {
    const api = service();
    const created = await api.create(spec(), api.begin(true));
    store.resetCalls();
    registry.log.length = 0;
    expect(await api.replace(ID, spec(), api.begin(true))).toEqual({ status: 200, record: created.record });
    expect(store.count()).toBe(0);
    expect(registry.log.map(line)).toEqual([`HEAD ${DST}/v2/${REPO}/manifests/v1`]);
  });

  it('refuses another destination: that is another record', async () => {
    const api = service();
    await api.create(spec(), api.begin(true));
    await expect(api.replace(ID, spec(SOURCE, 'dst.example/mirror/app:v2'), api.begin(true))).rejects.toMatchObject({ code: 'destination-changed' });
  });
});

describe('remove', () => {
  it('answers removed, having deleted the destination image and the record', async () => {
    const api = service();
    await api.create(spec(), api.begin(true));
    expect(await api.remove(ID, api.begin(true))).toEqual({ outcome: 'removed', left: [] });
    expect(store.size).toBe(0);
    expect(registry.read(DST, REPO)).toEqual({ tags: {}, manifests: {}, blobs: {} });
  });

  it('answers absent for a record that does not exist', async () => {
    const api = service();
    expect(await api.remove(ID, api.begin(true))).toEqual({ outcome: 'absent' });
    expect(store.count()).toBe(0);
  });

  it('answers pending while a job for the old intent holds the record, and finishes in the background', async () => {
    const api = service({ budgetMs: 50 });
    await api.create(spec(), api.begin(true));
    // A sync elsewhere still holds the lease for generation 1.
    await store.acquireLease(ID, 'elsewhere:job', LEASE_MS);
    const answer = await api.remove(ID, api.begin(true));
    expect(answer).toMatchObject({ outcome: 'pending', record: { status: 'deleting', generation: 2, lease_owner: 'elsewhere:job' } });
    expect(registry.count({ method: 'DELETE' })).toBe(0);

    // That job stops at its next renewal and lets go; the deletion goes on.
    await store.dropLease(ID, 'elsewhere:job');
    expect(await continuation.drain(5_000)).toBe(true);
    expect(store.size).toBe(0);
    expect(registry.read(DST, REPO).tags).toEqual({});
  });
});

describe('checkNow', () => {
  it('costs two HEADs and one write when nothing moved', async () => {
    const api = service();
    await api.create(spec(), api.begin(true));
    clock.advance(60_000);
    store.resetCalls();
    registry.log.length = 0;
    const answer = await api.checkNow(ID, api.begin(true));
    expect(answer).toMatchObject({ status: 200, record: { status: 'synced', checked_at: isoSeconds(clock.now()) } });
    expect(registry.log.map((r) => r.method).sort()).toEqual(['HEAD', 'HEAD']);
    expect(store.calls.update).toBe(1);
    expect(store.count()).toBe(1);
  });

  it('syncs when the source moved', async () => {
    const api = service();
    await api.create(spec(), api.begin(true));
    const moved = registry.push('src.example', 'team/app', makeImage(), 'v1');
    const answer = await api.checkNow(ID, api.begin(true));
    expect(answer).toMatchObject({ status: 200, record: { source_digest: moved.digest, image: `${DST}/${REPO}@${moved.digest}` } });
    expect(registry.read(DST, REPO).tags).toEqual({ v1: moved.digest });
  });
});

describe('read', () => {
  it('finishes the sync a dead worker left', async () => {
    const api = service();
    await store.create({ id: ID, source: SOURCE, destination: DESTINATION, status: 'syncing', generation: 1 });
    await store.acquireLease(ID, 'dead:job', LEASE_MS);
    clock.advance(LEASE_MS + 1);
    expect(await api.read(ID, api.begin(true))).toMatchObject({ status: 'synced', image: `${DST}/${REPO}@${image.digest}` });
    expect(registry.read(DST, REPO).tags).toEqual({ v1: image.digest });
  });

  it('leaves a sync whose worker is alive to it', async () => {
    const api = service();
    await store.create({ id: ID, source: SOURCE, destination: DESTINATION, status: 'syncing', generation: 1 });
    await store.acquireLease(ID, 'live:job', LEASE_MS);
    expect(await api.read(ID, api.begin(true))).toMatchObject({ status: 'syncing', lease_owner: 'live:job' });
    expect(registry.log).toEqual([]);
  });
});
