// runCheck (the scheduled check) over the memory store and the in-memory registry: what each kind
// of record costs and becomes, leases respected, the time budget, and the stalest-first order.
import { beforeEach, describe, expect, it } from 'vitest';
import { runCheck, type CheckOptions, type CheckSummary } from '../../../lib/check/run.ts';
import type { RegistryClients } from '../../../lib/registry/client.ts';
import type { RecordChanges } from '../../../lib/store/types.ts';
import { SyncEngine } from '../../../lib/sync/engine.ts';
import { isoSeconds } from '../../../lib/util/time.ts';
import { makeImage, MemoryRegistry, type Fixture } from '../fakes/memory-registry.ts';
import { fakeClock, MemoryRecordStore, type FakeClock } from '../fakes/memory-store.ts';

const DST = 'dst.example';
const LEASE_MS = 60_000;

let clock: FakeClock;
let store: MemoryRecordStore;
let registry: MemoryRegistry;
let clients: RegistryClients;
let engine: SyncEngine;

beforeEach(() => {
  clock = fakeClock();
  store = new MemoryRecordStore({ now: clock.now });
  registry = new MemoryRegistry();
  clients = registry.clients();
  engine = new SyncEngine({ store, clients, log: () => {}, worker: 'check', pollMs: 5, leaseMs: LEASE_MS, now: clock.now });
});

function check(options: Partial<CheckOptions> = {}): Promise<CheckSummary> {
  return runCheck({ store, engine, clients, log: () => {}, now: clock.now, ...options });
}

/** A record synced earlier: its image at the source tag and at the destination tag. */
async function synced(name: string, fields: RecordChanges = {}): Promise<Fixture> {
  const image = registry.push('src.example', `team/${name}`, makeImage(), 'v1');
  registry.push(DST, `mirror/${name}`, image, 'v1');
  await store.create({
    id: name,
    source: `src.example/team/${name}:v1`,
    destination: `${DST}/mirror/${name}:v1`,
    status: 'synced',
    generation: 1,
    image: `${DST}/mirror/${name}@${image.digest}`,
    source_digest: image.digest,
    checked_at: '2026-11-27T09:00:00Z',
    ...fields,
  });
  return image;
}

async function update(id: string, changes: RecordChanges): Promise<void> {
  const current = store.peek(id)!;
  expect(await store.update(id, current.version, changes)).toBeDefined();
}

const summary = (counts: Partial<CheckSummary>): CheckSummary => ({ checked: 0, unchanged: 0, synced: 0, failed: 0, skipped: 0, deleted: 0, not_reached: 0, ms: 0, ...counts });

describe('runCheck', () => {
  it('costs two HEADs and one store update for an unchanged record', async () => {
    await synced('app');
    clock.advance(60_000);
    store.resetCalls();
    expect(await check()).toEqual(summary({ checked: 1, unchanged: 1 }));
    expect(registry.log.map((r) => `${r.method} ${r.host}`).sort()).toEqual(['HEAD dst.example', 'HEAD src.example']);
    expect(store.count()).toBe(1);
    expect(store.calls.update).toBe(1);
    expect(store.peek('app')!.checked_at).toBe(isoSeconds(clock.now()));
  });

  it('syncs a record whose source moved', async () => {
    await synced('app');
    const moved = registry.push('src.example', 'team/app', makeImage(), 'v1');
    expect(await check()).toEqual(summary({ checked: 1, synced: 1 }));
    expect(store.peek('app')).toMatchObject({ status: 'synced', source_digest: moved.digest, image: `${DST}/mirror/app@${moved.digest}` });
    expect(registry.read(DST, 'mirror/app').tags).toEqual({ v1: moved.digest });
  });

  it('marks a record failed when its source is gone, without syncing', async () => {
    await synced('app');
    registry.setTag('src.example', 'team/app', 'v1', undefined);
    expect(await check()).toEqual(summary({ checked: 1, failed: 1 }));
    expect(store.peek('app')).toMatchObject({ status: 'failed', error: 'source image src.example/team/app:v1 not found', checked_at: isoSeconds(clock.now()) });
    expect(store.calls.acquireLease).toBe(0);
  });

  it('finishes a deletion whose worker died', async () => {
    await synced('app');
    await update('app', { status: 'deleting', generation: 2 });
    await store.acquireLease('app', 'dead:job', LEASE_MS);
    clock.advance(LEASE_MS + 1);
    expect(await check()).toEqual(summary({ checked: 1, deleted: 1 }));
    expect(store.size).toBe(0);
    expect(registry.read(DST, 'mirror/app')).toEqual({ tags: {}, manifests: {}, blobs: {} });
  });

  it('skips records whose lease is live, touching neither registry nor record', async () => {
    await synced('syncing', { status: 'syncing' });
    await synced('deleting', { status: 'deleting' });
    await store.acquireLease('syncing', 'busy:job', LEASE_MS);
    await store.acquireLease('deleting', 'busy:job', LEASE_MS);
    store.resetCalls();
    expect(await check()).toEqual(summary({ checked: 2, skipped: 2 }));
    expect(registry.log).toEqual([]);
    expect(store.count()).toBe(0);
  });

  it('starts no record once the deadline passed, counting the rest not_reached', async () => {
    for (const name of ['a', 'b', 'c']) await synced(name);
    // The first record's check takes the whole budget.
    registry.before({ method: 'HEAD' }, () => clock.advance(2_000));
    const result = await check({ concurrency: 1, deadline: clock.now() + 1_000 });
    expect(result).toEqual({ ...summary({ checked: 1, unchanged: 1, not_reached: 2 }), ms: 2_000 });
    expect(registry.log).toHaveLength(2);
  });

  it('checks the stalest records first: never checked, then the longest unchecked', async () => {
    await synced('recent', { checked_at: '2026-11-27T09:30:00Z' });
    await synced('never', { checked_at: undefined });
    await synced('oldest', { checked_at: '2026-11-26T09:00:00Z' });
    await check({ concurrency: 1 });
    const order = registry.requests({ method: 'HEAD', host: DST }).map((r) => r.path.split('/')[3]);
    expect(order).toEqual(['never', 'oldest', 'recent']);
  });
});
