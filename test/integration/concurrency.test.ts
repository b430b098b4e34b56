// Races the contract promises to survive: identical POSTs at once make one record and one copy;
// parallel writers lose no update; a dead worker's lease runs out and someone finishes its job.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.ts';
import { pushImage } from '../harness/images.ts';
import { headManifest } from '../harness/registry-api.ts';
import { startRegistry, type RunningRegistry } from '../harness/registry.ts';
import { startApi, type RunningApi } from './api-support.ts';

let source: RunningRegistry;
let destination: RunningRegistry;
let proxy: FaultProxy;
let api: RunningApi;

beforeAll(async () => {
  [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
  proxy = await startFaultProxy(destination.url);
  api = await startApi();
});
afterAll(async () => {
  await api?.stop();
  await proxy?.stop();
  await Promise.all([source?.stop(), destination?.stop()]);
});

it('twenty identical POSTs at once: one record, one copy, every answer the same record', async () => {
  const pushed = await pushImage(source, 'race/app', 'v1', { format: 'oci', layers: 3, layerSize: 400_000 });
  proxy.clear();
  const body = { source: `${source.host}/race/app:v1`, destination: `${proxy.host}/race/app:v1` };
  const answers = await Promise.all(Array.from({ length: 20 }, () => api.call('POST', '/v1/images', body)));
  expect(answers.map((a) => a.status).sort((a, b) => a - b)).toEqual([...Array(19).fill(200), 201]);
  expect(new Set(answers.map((a) => JSON.stringify(a.json))).size).toBe(1);
  expect(answers[0]!.json).toMatchObject({ status: 'synced', source_digest: pushed.digest });
  // One copy: each blob uploaded once, the manifest pushed once.
  const uploads = proxy.requests.filter((r) => r.method === 'PUT' && r.url.includes('/blobs/uploads/'));
  const manifests = proxy.requests.filter((r) => r.method === 'PUT' && r.url.includes('/manifests/'));
  expect(uploads).toHaveLength(4);
  expect(manifests).toHaveLength(1);
  const list = await api.call('GET', '/v1/images?limit=1000');
  expect(list.json.items.filter((r: { destination: string }) => r.destination === body.destination)).toHaveLength(1);
});

it('a record whose worker died mid-sync (lease run out) is finished by the next request', async () => {
  const pushed = await pushImage(source, 'race/dead', 'v1', { format: 'oci', layers: 1 });
  const body = { source: `${source.host}/race/dead:v1`, destination: `${destination.host}/race/dead:v1` };
  const created = await api.call('POST', '/v1/images', body);
  // Simulate a worker that took the lease, marked the record syncing and died: its lease expired.
  const record = (await api.store.get(created.json.id))!;
  const marked = await api.store.update(record.id, record.version, { status: 'syncing' });
  expect(marked?.status).toBe('syncing');
  expect(await api.store.acquireLease(record.id, 'dead-worker', 1)).toBeDefined();
  await new Promise((resolve) => setTimeout(resolve, 5));
  const again = await api.call('POST', '/v1/images', body);
  expect(again.status).toBe(200);
  expect(again.json).toMatchObject({ status: 'synced', source_digest: pushed.digest });
  expect((await headManifest(destination, 'race/dead', 'v1')).digestHeader).toBe(pushed.digest);
  expect((await api.store.get(created.json.id))?.lease_owner).toBeUndefined();
});

it('a GET on a record whose worker died mid-sync finishes that sync before answering', async () => {
  await pushImage(source, 'race/get', 'v1', { format: 'oci', layers: 1 });
  const body = { source: `${source.host}/race/get:v1`, destination: `${destination.host}/race/get:v1` };
  const created = await api.call('POST', '/v1/images', body);
  // The source moves; a worker took the record to sync it and died (its lease has run out).
  const moved = await pushImage(source, 'race/get', 'v1', { format: 'oci', layers: 2 });
  const record = (await api.store.get(created.json.id))!;
  await api.store.update(record.id, record.version, { status: 'syncing' });
  expect(await api.store.acquireLease(record.id, 'dead-worker', 1)).toBeDefined();
  await new Promise((resolve) => setTimeout(resolve, 5));
  const read = await api.call('GET', `/v1/images/${created.json.id}`);
  expect(read.status).toBe(200);
  expect(read.json).toMatchObject({ status: 'synced', source_digest: moved.digest, image: `${destination.host}/race/get@${moved.digest}` });
  expect((await headManifest(destination, 'race/get', 'v1')).digestHeader).toBe(moved.digest);
  expect((await api.store.get(created.json.id))?.lease_owner).toBeUndefined();
});

it('a live lease held by another worker is respected: the request waits and answers what that worker wrote', async () => {
  await pushImage(source, 'race/held', 'v1', { format: 'oci', layers: 1 });
  const body = { source: `${source.host}/race/held:v1`, destination: `${destination.host}/race/held:v1` };
  const created = await api.call('POST', '/v1/images', body);
  const id = created.json.id as string;
  const current = (await api.store.get(id))!;
  const marked = await api.store.update(id, current.version, { status: 'syncing' });
  const held = await api.store.acquireLease(id, 'other-worker', 60_000);
  expect(held).toBeDefined();
  // The other worker finishes shortly.
  setTimeout(() => void api.store.releaseLease(id, 'other-worker', { status: 'synced' }), 300);
  const started = Date.now();
  const answer = await api.call('POST', '/v1/images', body);
  expect(marked).toBeDefined();
  expect(answer.status).toBe(200);
  expect(answer.json.status).toBe('synced');
  expect(Date.now() - started).toBeGreaterThanOrEqual(250);
});
