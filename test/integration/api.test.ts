// The HTTP API end to end: real registries, the real store (dynalite), through HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.ts';
import { pushImage, pushIndex } from '../harness/images.ts';
import { deleteManifest, getManifest, headManifest, listTags } from '../harness/registry-api.ts';
import { startRegistry, type RunningRegistry } from '../harness/registry.ts';
import { startApi, type RunningApi } from './api-support.ts';
import { expectCopied } from './support.ts';

let source: RunningRegistry;
let destination: RunningRegistry;
let api: RunningApi;

beforeAll(async () => {
  [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
  api = await startApi();
});
afterAll(async () => {
  await api?.stop();
  await Promise.all([source?.stop(), destination?.stop()]);
});

const SERVER_KEYS = ['id', 'image', 'source_digest', 'status', 'synced_at', 'checked_at', 'error'];
const isoSecond = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

describe('POST /v1/images', () => {
  it('syncs, then answers 201 with the record: exactly the documented keys, source and destination as sent', async () => {
    const pushed = await pushIndex(source, 'api/create', 'v1', { format: 'oci', layers: 1 });
    const body = { source: `${source.host}/api/create:v1`, destination: `${destination.host}/mirror/create:v1` };
    const created = await api.call('POST', '/v1/images', body);
    expect(created.status).toBe(201);
    expect(created.headers.get('content-type')).toMatch(/^application\/json/);
    expect(created.json).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      source: body.source,
      destination: body.destination,
      image: `${destination.host}/mirror/create@${pushed.digest}`,
      source_digest: pushed.digest,
      status: 'synced',
      synced_at: expect.stringMatching(isoSecond),
      checked_at: expect.stringMatching(isoSecond),
    });
    await expectCopied(pushed, source, 'api/create', destination, 'mirror/create', 'v1');
  });

  it('is idempotent: the same source and destination again answers 200 with the same record and copies nothing', async () => {
    await pushImage(source, 'api/idem', 'v1', { format: 'docker', layers: 1 });
    const body = { source: `${source.host}/api/idem:v1`, destination: `${destination.host}/mirror/idem:v1` };
    const first = await api.call('POST', '/v1/images', body);
    const second = await api.call('POST', '/v1/images', body);
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.json).toEqual(first.json);
  });

  it('gives every spelling of one destination the same id', async () => {
    await pushImage(source, 'library/spell', 'latest', { format: 'oci', layers: 1 });
    const a = await api.call('POST', '/v1/images', { source: `${source.host}/library/spell:latest`, destination: `${destination.host}/spell` });
    const b = await api.call('POST', '/v1/images', { source: `${source.host}/library/spell`, destination: `${destination.host}/spell:latest` });
    expect(a.status).toBe(201);
    expect(b.status).toBe(200);
    expect(b.json.id).toBe(a.json.id);
  });

  it('answers 409 when the destination is already mirrored from another source', async () => {
    await pushImage(source, 'api/owner-a', 'v1', { format: 'oci', layers: 1 });
    await pushImage(source, 'api/owner-b', 'v1', { format: 'oci', layers: 1 });
    const destinationRef = `${destination.host}/mirror/owned:v1`;
    expect((await api.call('POST', '/v1/images', { source: `${source.host}/api/owner-a:v1`, destination: destinationRef })).status).toBe(201);
    const taken = await api.call('POST', '/v1/images', { source: `${source.host}/api/owner-b:v1`, destination: destinationRef });
    expect(taken.status).toBe(409);
    expect(taken.headers.get('content-type')).toBe('application/problem+json');
    expect(taken.json).toMatchObject({ type: 'urn:imagesync:problem:destination-taken', status: 409 });
    expect(taken.json.detail).toContain(`already mirrored from ${source.host}/api/owner-a:v1`);
  });

  it('answers 422 for a source that does not exist, and writes nothing', async () => {
    const before = await api.call('GET', '/v1/images?limit=1000');
    const missing = await api.call('POST', '/v1/images', { source: `${source.host}/api/nothing:here`, destination: `${destination.host}/mirror/nothing:v1` });
    expect(missing.status).toBe(422);
    expect(missing.json).toMatchObject({ type: 'urn:imagesync:problem:source-not-found', title: 'Source image not found', status: 422 });
    expect(missing.json.detail).toContain(`${source.host}/api/nothing:here`);
    const after = await api.call('GET', '/v1/images?limit=1000');
    expect(after.json.items).toHaveLength(before.json.items.length);
    expect(await listTags(destination, 'mirror/nothing')).toEqual([]);
  });

  it('answers 502 naming the registry when the destination fails after retries, and keeps no record', async () => {
    await pushImage(source, 'api/broken', 'v1', { format: 'oci', layers: 1 });
    const proxy = await startFaultProxy(destination.url);
    try {
      proxy.fail({ match: (r) => r.method === 'PUT' && r.url.includes('/manifests/'), times: 1000, action: { status: 503 } });
      const failed = await api.call('POST', '/v1/images', { source: `${source.host}/api/broken:v1`, destination: `${proxy.host}/mirror/broken:v1` });
      expect(failed.status).toBe(502);
      expect(failed.json.type).toBe('urn:imagesync:problem:registry-failed');
      expect(failed.json.detail).toBe(`${proxy.host}: put manifest mirror/broken:v1 failed: 503 UNAVAILABLE: injected fault`);
      const id = (await api.call('GET', '/v1/images?limit=1000')).json.items.find((r: { destination: string }) => r.destination.includes('mirror/broken'));
      expect(id).toBeUndefined();
    } finally {
      await proxy.stop();
    }
  });

  it('answers 202 syncing with ?wait=false and finishes the copy in the background', async () => {
    const pushed = await pushImage(source, 'api/later', 'v1', { format: 'oci', layers: 2, layerSize: 200_000 });
    const accepted = await api.call('POST', '/v1/images?wait=false', { source: `${source.host}/api/later:v1`, destination: `${destination.host}/mirror/later:v1` });
    expect(accepted.status).toBe(202);
    expect(accepted.json).toMatchObject({ status: 'syncing' });
    expect(accepted.json.image).toBeUndefined();
    await api.continuation.drain();
    const done = await api.call('GET', `/v1/images/${accepted.json.id}`);
    expect(done.json).toMatchObject({ status: 'synced', image: `${destination.host}/mirror/later@${pushed.digest}` });
  });
});

describe('a copy that outlasts the request', () => {
  it('answers 202 within the budget and the copy still finishes in-process', async () => {
    const slow = await startApi({ env: { IMAGESYNC_REQUEST_BUDGET: '1ms' } });
    try {
      const pushed = await pushImage(source, 'api/slow', 'v1', { format: 'oci', layers: 2, layerSize: 500_000 });
      const accepted = await slow.call('POST', '/v1/images', { source: `${source.host}/api/slow:v1`, destination: `${destination.host}/mirror/slow:v1` });
      expect(accepted.status).toBe(202);
      expect(accepted.json.status).toBe('syncing');
      await slow.continuation.drain();
      expect((await headManifest(destination, 'mirror/slow', 'v1')).digestHeader).toBe(pushed.digest);
      const record = await slow.store.get(accepted.json.id);
      expect(record).toMatchObject({ status: 'synced', source_digest: pushed.digest });
      expect(record?.lease_owner).toBeUndefined();
    } finally {
      await slow.stop();
    }
  });
});

describe('GET /v1/images/{id}', () => {
  it('answers the record, and 404 for an id that does not exist', async () => {
    await pushImage(source, 'api/get', 'v1', { format: 'oci', layers: 1 });
    const created = await api.call('POST', '/v1/images', { source: `${source.host}/api/get:v1`, destination: `${destination.host}/mirror/get:v1` });
    const read = await api.call('GET', `/v1/images/${created.json.id}`);
    expect(read.status).toBe(200);
    expect(read.json).toEqual(created.json);
    const missing = await api.call('GET', `/v1/images/${'0'.repeat(32)}`);
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ type: 'urn:imagesync:problem:not-found', status: 404 });
    expect((await api.call('GET', '/v1/images/not-an-id')).status).toBe(404);
  });

  it('syncs again before answering when the destination copy was deleted out of band', async () => {
    const pushed = await pushImage(source, 'api/heal', 'v1', { format: 'docker', layers: 1 });
    const created = await api.call('POST', '/v1/images', { source: `${source.host}/api/heal:v1`, destination: `${destination.host}/mirror/heal:v1` });
    expect(await deleteManifest(destination, 'mirror/heal', pushed.digest)).toBe(202);
    expect((await getManifest(destination, 'mirror/heal', 'v1')).status).toBe(404);
    const read = await api.call('GET', `/v1/images/${created.json.id}`);
    expect(read.status).toBe(200);
    expect(read.json).toMatchObject({ status: 'synced', image: created.json.image });
    await expectCopied(pushed, source, 'api/heal', destination, 'mirror/heal', 'v1');
  });

  it('syncs again when the destination tag was overwritten with another image', async () => {
    const pushed = await pushImage(source, 'api/overwritten', 'v1', { format: 'oci', layers: 1 });
    const created = await api.call('POST', '/v1/images', { source: `${source.host}/api/overwritten:v1`, destination: `${destination.host}/mirror/overwritten:v1` });
    const other = await pushImage(destination, 'mirror/overwritten', 'v1', { format: 'oci', layers: 1 });
    expect((await headManifest(destination, 'mirror/overwritten', 'v1')).digestHeader).toBe(other.digest);
    await api.call('GET', `/v1/images/${created.json.id}`);
    expect((await headManifest(destination, 'mirror/overwritten', 'v1')).digestHeader).toBe(pushed.digest);
  });
});

describe('GET /v1/images (list)', () => {
  it('pages with a cursor through every record once', async () => {
    const all = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await api.call('GET', `/v1/images?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.json.items.length).toBeLessThanOrEqual(2);
      for (const item of page.json.items) {
        expect(all.has(item.id)).toBe(false);
        expect(Object.keys(item).every((k) => ['source', 'destination', ...SERVER_KEYS].includes(k))).toBe(true);
        all.add(item.id);
      }
      cursor = page.json.next_cursor;
      pages++;
    } while (cursor);
    const whole = await api.call('GET', '/v1/images?limit=1000');
    expect(new Set(whole.json.items.map((i: { id: string }) => i.id))).toEqual(all);
    expect(pages).toBeGreaterThan(1);
  });

  it('refuses a bad limit or cursor with 400', async () => {
    expect((await api.call('GET', '/v1/images?limit=0')).status).toBe(400);
    expect((await api.call('GET', '/v1/images?limit=abc')).json.type).toBe('urn:imagesync:problem:invalid-limit');
    expect((await api.call('GET', '/v1/images?cursor=garbage!')).json.type).toBe('urn:imagesync:problem:invalid-cursor');
  });
});

describe('PUT /v1/images/{id}', () => {
  it('moves the destination tag to a new source', async () => {
    const first = await pushImage(source, 'api/put-a', 'v1', { format: 'oci', layers: 1 });
    const second = await pushImage(source, 'api/put-b', 'v2', { format: 'oci', layers: 1 });
    const destinationRef = `${destination.host}/mirror/put:v1`;
    const created = await api.call('POST', '/v1/images', { source: `${source.host}/api/put-a:v1`, destination: destinationRef });
    expect(created.json.source_digest).toBe(first.digest);
    const updated = await api.call('PUT', `/v1/images/${created.json.id}`, { source: `${source.host}/api/put-b:v2`, destination: destinationRef });
    expect(updated.status).toBe(200);
    expect(updated.json).toMatchObject({ id: created.json.id, source: `${source.host}/api/put-b:v2`, status: 'synced', source_digest: second.digest, image: `${destination.host}/mirror/put@${second.digest}` });
    expect((await headManifest(destination, 'mirror/put', 'v1')).digestHeader).toBe(second.digest);
  });

  it('answers 409 for a changed destination, and 404 for a missing record', async () => {
    await pushImage(source, 'api/put-dest', 'v1', { format: 'oci', layers: 1 });
    const body = { source: `${source.host}/api/put-dest:v1`, destination: `${destination.host}/mirror/put-dest:v1` };
    const created = await api.call('POST', '/v1/images', body);
    const moved = await api.call('PUT', `/v1/images/${created.json.id}`, { ...body, destination: `${destination.host}/mirror/elsewhere:v1` });
    expect(moved.status).toBe(409);
    expect(moved.json.type).toBe('urn:imagesync:problem:destination-changed');
    expect((await api.call('GET', `/v1/images/${created.json.id}`)).json.destination).toBe(body.destination);
    expect((await api.call('PUT', `/v1/images/${'f'.repeat(32)}`, body)).status).toBe(404);
  });

  it('answers 422 for a new source that does not exist, and changes nothing', async () => {
    await pushImage(source, 'api/put-keep', 'v1', { format: 'oci', layers: 1 });
    const body = { source: `${source.host}/api/put-keep:v1`, destination: `${destination.host}/mirror/put-keep:v1` };
    const created = await api.call('POST', '/v1/images', body);
    const refused = await api.call('PUT', `/v1/images/${created.json.id}`, { ...body, source: `${source.host}/api/put-keep:missing` });
    expect(refused.status).toBe(422);
    expect((await api.call('GET', `/v1/images/${created.json.id}`)).json).toEqual(created.json);
  });
});

describe('DELETE /v1/images/{id}', () => {
  it('removes the destination tag and the record; 404 afterwards; the id can be used again', async () => {
    const pushed = await pushImage(source, 'api/delete', 'v1', { format: 'oci', layers: 1 });
    const body = { source: `${source.host}/api/delete:v1`, destination: `${destination.host}/mirror/delete:v1` };
    const created = await api.call('POST', '/v1/images', body);
    const deleted = await api.call('DELETE', `/v1/images/${created.json.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect((await getManifest(destination, 'mirror/delete', 'v1')).status).toBe(404);
    expect((await api.call('GET', `/v1/images/${created.json.id}`)).status).toBe(404);
    expect((await api.call('DELETE', `/v1/images/${created.json.id}`)).status).toBe(404);
    const again = await api.call('POST', '/v1/images', body);
    expect(again.status).toBe(201);
    expect(again.json.id).toBe(created.json.id);
    expect((await headManifest(destination, 'mirror/delete', 'v1')).digestHeader).toBe(pushed.digest);
  });
});

describe('POST /v1/images/{id}/sync', () => {
  it('follows a moved source tag, and only checks when nothing moved', async () => {
    await pushImage(source, 'api/moving', 'v1', { format: 'oci', layers: 1 });
    const created = await api.call('POST', '/v1/images', { source: `${source.host}/api/moving:v1`, destination: `${destination.host}/mirror/moving:v1` });
    const unchanged = await api.call('POST', `/v1/images/${created.json.id}/sync`);
    expect(unchanged.status).toBe(200);
    expect(unchanged.json).toMatchObject({ source_digest: created.json.source_digest, synced_at: created.json.synced_at });
    const moved = await pushImage(source, 'api/moving', 'v1', { format: 'oci', layers: 1 });
    const synced = await api.call('POST', `/v1/images/${created.json.id}/sync`);
    expect(synced.json).toMatchObject({ status: 'synced', source_digest: moved.digest, image: `${destination.host}/mirror/moving@${moved.digest}` });
    expect((await headManifest(destination, 'mirror/moving', 'v1')).digestHeader).toBe(moved.digest);
  });
});

describe('GET /healthz', () => {
  it('answers without a token', async () => {
    const health = await fetch(`${api.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
  });
});

describe('logs', () => {
  it('writes one JSON line per request with its id, and echoes the id', async () => {
    const answer = await api.call('GET', '/v1/images?limit=1', undefined, { 'x-request-id': 'req-1234' });
    expect(answer.headers.get('x-request-id')).toBe('req-1234');
    const lines = api.logs.filter((l) => l.msg === 'request' && l.request_id === 'req-1234');
    expect(lines).toEqual([expect.objectContaining({ method: 'GET', path: '/v1/images', status: 200, ms: expect.any(Number) })]);
  });
});
