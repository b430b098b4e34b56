// The scheduled check against real registries and dynalite: it notices a moved source tag and a
// destination deleted or overwritten, at the cost of two HEADs per unchanged record; failing
// records do not stop the run; overlapping runs sync each record once; a run stopped by its
// budget or killed half way leaves nothing half made.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSettings } from '../../lib/config/settings.ts';
import { createCore } from '../../lib/server.ts';
import { staticCredentials } from '../../lib/auth/credentials.ts';
import { undiciTransport } from '../../functions/node/undici-transport.ts';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.ts';
import { pushImage } from '../harness/images.ts';
import { deleteManifest, headManifest } from '../harness/registry-api.ts';
import { startRegistry, type RunningRegistry } from '../harness/registry.ts';
import { startApi, type RunningApi } from './api-support.ts';
import { expectCopied } from './support.ts';

let source: RunningRegistry;
let destination: RunningRegistry;
let sourceProxy: FaultProxy;
let destinationProxy: FaultProxy;
let api: RunningApi;

beforeAll(async () => {
  [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
  [sourceProxy, destinationProxy] = await Promise.all([startFaultProxy(source.url), startFaultProxy(destination.url)]);
  api = await startApi();
});
afterAll(async () => {
  await api?.stop();
  await Promise.all([sourceProxy?.stop(), destinationProxy?.stop()]);
  await Promise.all([source?.stop(), destination?.stop()]);
});

/** Records in a repository of their own, through the proxies so requests can be counted. */
async function records(prefix: string, count: number, options: { pinned?: boolean } = {}) {
  const out: { id: string; repo: string; digest: string }[] = [];
  for (let i = 0; i < count; i++) {
    const repo = `${prefix}/app-${i}`;
    const pushed = await pushImage(source, repo, 'v1', { format: 'oci', layers: 1 });
    const from = options.pinned ? `${sourceProxy.host}/${repo}@${pushed.digest}` : `${sourceProxy.host}/${repo}:v1`;
    const created = await api.call('POST', '/v1/images', { source: from, destination: `${destinationProxy.host}/${repo}:v1` });
    expect(created.status).toBe(201);
    out.push({ id: created.json.id, repo, digest: pushed.digest });
  }
  return out;
}

/** Removes the records a test made, so each test's check sees only its own. */
async function cleanUp(list: { id: string }[]): Promise<void> {
  for (const r of list) await api.store.delete(r.id);
}

describe('runCheck', () => {
  it('costs two HEADs per unchanged record (one for a pinned source) and keeps checked_at current', async () => {
    const tagged = await records('chk/unchanged', 3);
    const pinned = await records('chk/pinned', 2, { pinned: true });
    try {
      const before = await Promise.all([...tagged, ...pinned].map((r) => api.store.get(r.id)));
      sourceProxy.clear();
      destinationProxy.clear();
      // checked_at has second precision: a clock two seconds ahead makes the new value visible.
      const summary = await api.server.check({ now: () => Date.now() + 2_000 });
      expect(summary).toMatchObject({ checked: 5, unchanged: 5, synced: 0, failed: 0, skipped: 0, not_reached: 0 });
      expect(sourceProxy.requests.map((r) => `${r.method} ${r.url}`).sort()).toEqual(tagged.map((r) => `HEAD /v2/${r.repo}/manifests/v1`).sort());
      expect(destinationProxy.requests.map((r) => `${r.method} ${r.url}`).sort()).toEqual([...tagged, ...pinned].map((r) => `HEAD /v2/${r.repo}/manifests/v1`).sort());
      for (const [i, r] of [...tagged, ...pinned].entries()) {
        const after = await api.store.get(r.id);
        expect(after!.checked_at! > before[i]!.checked_at!).toBe(true);
        expect(after!.synced_at).toBe(before[i]!.synced_at);
      }
    } finally {
      await cleanUp([...tagged, ...pinned]);
    }
  });

  it('follows a moved source tag', async () => {
    const [record] = await records('chk/moved', 1);
    try {
      const moved = await pushImage(source, record!.repo, 'v1', { format: 'oci', layers: 1 });
      const summary = await api.server.check();
      expect(summary).toMatchObject({ checked: 1, synced: 1 });
      expect((await headManifest(destination, record!.repo, 'v1')).digestHeader).toBe(moved.digest);
      expect(await api.store.get(record!.id)).toMatchObject({ status: 'synced', source_digest: moved.digest, image: `${destinationProxy.host}/${record!.repo}@${moved.digest}` });
    } finally {
      await cleanUp([record!]);
    }
  });

  it('restores a destination deleted or overwritten out of band', async () => {
    const [gone, overwritten] = await records('chk/heal', 2);
    try {
      await deleteManifest(destination, gone!.repo, gone!.digest);
      await pushImage(destination, overwritten!.repo, 'v1', { format: 'oci', layers: 1 });
      const summary = await api.server.check();
      expect(summary).toMatchObject({ checked: 2, synced: 2 });
      expect((await headManifest(destination, gone!.repo, 'v1')).digestHeader).toBe(gone!.digest);
      expect((await headManifest(destination, overwritten!.repo, 'v1')).digestHeader).toBe(overwritten!.digest);
    } finally {
      await cleanUp([gone!, overwritten!]);
    }
  });

  it('marks a failing record failed with its error and goes on with the others', async () => {
    const [broken, fine] = await records('chk/fail', 2);
    try {
      const sourceDigest = (await headManifest(source, broken!.repo, 'v1')).digestHeader!;
      await deleteManifest(source, broken!.repo, sourceDigest);
      const moved = await pushImage(source, fine!.repo, 'v1', { format: 'oci', layers: 1 });
      const summary = await api.server.check();
      expect(summary).toMatchObject({ checked: 2, failed: 1, synced: 1 });
      expect(await api.store.get(broken!.id)).toMatchObject({ status: 'failed', error: `source image ${sourceProxy.host}/${broken!.repo}:v1 not found` });
      expect((await api.call('GET', `/v1/images/${broken!.id}`)).json.error).toContain('not found');
      expect((await headManifest(destination, fine!.repo, 'v1')).digestHeader).toBe(moved.digest);
    } finally {
      await cleanUp([broken!, fine!]);
    }
  });

  it('two overlapping runs sync each record once', async () => {
    const list = await records('chk/overlap', 4);
    try {
      for (const r of list) await pushImage(source, r.repo, 'v1', { format: 'oci', layers: 2, layerSize: 200_000 });
      destinationProxy.clear();
      const other = createCore({
        settings: readSettings({}),
        transport: undiciTransport(),
        credentials: staticCredentials(new Map()),
        store: api.store,
        log: () => {},
        worker: 'second-checker',
      });
      const [a, b] = await Promise.all([api.server.check(), other.check()]);
      expect(a.synced + b.synced).toBe(4);
      expect(a.skipped + b.skipped + a.unchanged + b.unchanged).toBe(4);
      const manifestPuts = destinationProxy.requests.filter((r) => r.method === 'PUT' && r.url.includes('/manifests/'));
      expect(manifestPuts).toHaveLength(4);
    } finally {
      await cleanUp(list);
    }
  });

  it('stops at its deadline; the next run checks what it did not reach', async () => {
    const list = await records('chk/budget', 3);
    try {
      const stopped = await api.server.check({ deadline: Date.now() - 1 });
      expect(stopped).toMatchObject({ checked: 0, not_reached: 3 });
      const next = await api.server.check();
      expect(next).toMatchObject({ checked: 3, unchanged: 3, not_reached: 0 });
    } finally {
      await cleanUp(list);
    }
  });

  it('defers syncs from a registry whose pull rate limit is nearly spent', async () => {
    const [record] = await records('chk/ratelimit', 1);
    try {
      await pushImage(source, record!.repo, 'v1', { format: 'oci', layers: 1 });
      sourceProxy.fail({ match: () => true, times: 1000, action: { headers: { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '3;w=21600' } } });
      const deferred = await api.server.check();
      expect(deferred).toMatchObject({ checked: 1, skipped: 1, synced: 0 });
      expect(api.logs.some((l) => l.msg === 'check: sync deferred by the rate limit' && l.remaining === 3)).toBe(true);
      sourceProxy.clear();
      sourceProxy.fail({ match: () => true, times: 1000, action: { headers: { 'ratelimit-remaining': '90;w=21600' } } });
      expect(await api.server.check()).toMatchObject({ checked: 1, synced: 1 });
    } finally {
      sourceProxy.clear();
      await cleanUp([record!]);
    }
  });

  it('finishes a deletion that a dead worker left half done', async () => {
    const [record] = await records('chk/delete', 1);
    const leased = await api.store.acquireLease(record!.id, 'dead-worker', 1);
    await api.store.update(record!.id, leased!.version, { status: 'deleting' });
    await new Promise((resolve) => setTimeout(resolve, 10));
    const summary = await api.server.check();
    expect(summary).toMatchObject({ checked: 1, deleted: 1 });
    expect(await api.store.get(record!.id)).toBeUndefined();
    expect((await headManifest(destination, record!.repo, 'v1')).status).toBe(404);
  });
});
