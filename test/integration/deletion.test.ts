// Deleting records removes what they created and nothing else, on a registry that refuses
// tag deletion (distribution 2.8), and is safe to retry after a failure at any step.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.ts';
import { pushImage, pushIndex, randomLayer } from '../harness/images.ts';
import { getBlob, getManifest, headBlob, headManifest, listTags, skopeoInspectRaw } from '../harness/registry-api.ts';
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

async function mirror(from: string, to: string): Promise<{ id: string; image: string }> {
  const created = await api.call('POST', '/v1/images', { source: from, destination: to });
  expect(created.status).toBe(201);
  return created.json;
}

describe('DELETE', () => {
  it('one image under two tags of one repository: deleting one record leaves the other tag whole', async () => {
    const pushed = await pushImage(source, 'del/same', 'v1', { format: 'oci', layers: 2 });
    const a = await mirror(`${source.host}/del/same:v1`, `${destination.host}/del/same:a`);
    await mirror(`${source.host}/del/same:v1`, `${destination.host}/del/same:b`);
    expect((await api.call('DELETE', `/v1/images/${a.id}`)).status).toBe(204);
    expect(await listTags(destination, 'del/same')).toEqual(['b']);
    const b = await getManifest(destination, 'del/same', 'b');
    expect(b.digestHeader).toBe(pushed.digest);
    for (const blob of [pushed.config, ...pushed.layers]) expect(await headBlob(destination, 'del/same', blob.digest)).toBe(200);
    expect(Buffer.from(await skopeoInspectRaw(`${destination.host}/del/same:b`)).equals(Buffer.from(pushed.manifest))).toBe(true);
  });

  it('two images sharing a layer: the deleted image and its own layers go, shared layers and the other image stay', async () => {
    const shared = randomLayer(20_000);
    const first = await pushImage(source, 'del/share-a', 'v1', { format: 'docker', layerBlobs: [shared, randomLayer(20_000)] });
    const second = await pushImage(source, 'del/share-b', 'v1', { format: 'docker', layerBlobs: [shared, randomLayer(20_000)] });
    const a = await mirror(`${source.host}/del/share-a:v1`, `${destination.host}/del/shared:a`);
    await mirror(`${source.host}/del/share-b:v1`, `${destination.host}/del/shared:b`);
    expect((await api.call('DELETE', `/v1/images/${a.id}`)).status).toBe(204);
    expect(await listTags(destination, 'del/shared')).toEqual(['b']);
    expect((await headManifest(destination, 'del/shared', first.digest)).status).toBe(404);
    expect(await headBlob(destination, 'del/shared', first.layers[1]!.digest)).toBe(404);
    expect(await headBlob(destination, 'del/shared', first.config.digest)).toBe(404);
    expect(await headBlob(destination, 'del/shared', first.layers[0]!.digest)).toBe(200);
    for (const blob of [second.config, ...second.layers]) {
      expect(Buffer.from((await getBlob(destination, 'del/shared', blob.digest))!).equals(Buffer.from((await getBlob(source, 'del/share-b', blob.digest))!))).toBe(true);
    }
    expect((await getManifest(destination, 'del/shared', 'b')).digestHeader).toBe(second.digest);
  });

  it('a multi-platform image: the index, its children and their layers go', async () => {
    const pushed = await pushIndex(source, 'del/multi', 'v1', { format: 'oci', layers: 1, sharedLayer: true });
    const record = await mirror(`${source.host}/del/multi:v1`, `${destination.host}/del/multi:v1`);
    expect((await api.call('DELETE', `/v1/images/${record.id}`)).status).toBe(204);
    expect((await headManifest(destination, 'del/multi', pushed.digest)).status).toBe(404);
    for (const child of pushed.children) {
      expect((await headManifest(destination, 'del/multi', child.digest)).status).toBe(404);
      for (const blob of [child.config, ...child.layers]) expect(await headBlob(destination, 'del/multi', blob.digest)).toBe(404);
    }
    expect(await listTags(destination, 'del/multi')).toEqual([]);
  });

  it('an index child still used by another tag stays with its layers', async () => {
    const pushed = await pushIndex(source, 'del/child', 'v1', { format: 'oci', layers: 1 });
    const child = pushed.children[0]!;
    const index = await mirror(`${source.host}/del/child:v1`, `${destination.host}/del/child:index`);
    // Another record mirrors one platform's image (by digest) under another tag.
    await mirror(`${source.host}/del/child@${child.digest}`, `${destination.host}/del/child:amd64`);
    expect((await api.call('DELETE', `/v1/images/${index.id}`)).status).toBe(204);
    expect((await headManifest(destination, 'del/child', pushed.digest)).status).toBe(404);
    expect((await headManifest(destination, 'del/child', 'amd64')).digestHeader).toBe(child.digest);
    for (const blob of [child.config, ...child.layers]) expect(await headBlob(destination, 'del/child', blob.digest)).toBe(200);
    const other = pushed.children[1]!;
    expect((await headManifest(destination, 'del/child', other.digest)).status).toBe(404);
  });

  it('leaves a tag that someone moved to another image', async () => {
    await pushImage(source, 'del/moved', 'v1', { format: 'oci', layers: 1 });
    const record = await mirror(`${source.host}/del/moved:v1`, `${destination.host}/del/moved:v1`);
    const other = await pushImage(destination, 'del/moved', 'v1', { format: 'oci', layers: 1 });
    const deleted = await api.call('DELETE', `/v1/images/${record.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.headers.get('x-imagesync-left')).toContain('points at another image now');
    expect((await headManifest(destination, 'del/moved', 'v1')).digestHeader).toBe(other.digest);
  });

  it('a registry that refuses deletion (405): the record goes, the image stays, the answer says so', async () => {
    const pushed = await pushImage(source, 'del/refused', 'v1', { format: 'oci', layers: 1 });
    const record = await mirror(`${source.host}/del/refused:v1`, `${proxy.host}/del/refused:v1`);
    const rule = proxy.fail({ match: (r) => r.method === 'DELETE', times: 1000, action: { status: 405 } });
    try {
      const deleted = await api.call('DELETE', `/v1/images/${record.id}`);
      expect(deleted.status).toBe(204);
      expect(deleted.headers.get('x-imagesync-left')).toBe(`${proxy.host}/del/refused:v1 and ${proxy.host}/del/refused@${pushed.digest}: ${proxy.host} refuses deletion (405)`);
      expect((await api.call('GET', `/v1/images/${record.id}`)).status).toBe(404);
      expect((await headManifest(destination, 'del/refused', 'v1')).digestHeader).toBe(pushed.digest);
      expect(rule.hits).toBe(1);
    } finally {
      proxy.clear();
    }
  });

  it('is safe to retry after a failure half way: the record stays `deleting` until a retry finishes', async () => {
    const pushed = await pushImage(source, 'del/retry', 'v1', { format: 'oci', layers: 2 });
    const record = await mirror(`${source.host}/del/retry:v1`, `${proxy.host}/del/retry:v1`);
    // The registry fails the throwaway's deletion (the second DELETE): the tag is left on the throwaway.
    let deletes = 0;
    proxy.fail({ match: (r) => r.method === 'DELETE' && r.url.includes('/manifests/sha256:') && ++deletes === 1, times: 1, action: { status: 400 } });
    const failed = await api.call('DELETE', `/v1/images/${record.id}`);
    expect(failed.status).toBe(502);
    const stuck = await api.call('GET', `/v1/images/${record.id}`);
    expect(stuck.json.status).toBe('deleting');
    // The tag is on the throwaway now; the record's image is untouched.
    expect((await headManifest(destination, 'del/retry', 'v1')).digestHeader).not.toBe(pushed.digest);
    expect((await headManifest(destination, 'del/retry', pushed.digest)).status).toBe(200);
    proxy.clear();
    // A POST for the destination meanwhile is refused, not mixed into the deletion.
    expect((await api.call('POST', '/v1/images', { source: `${source.host}/del/retry:v1`, destination: `${proxy.host}/del/retry:v1` })).status).toBe(409);
    const retried = await api.call('DELETE', `/v1/images/${record.id}`);
    expect(retried.status).toBe(204);
    expect(await listTags(destination, 'del/retry')).toEqual([]);
    expect((await headManifest(destination, 'del/retry', pushed.digest)).status).toBe(404);
    for (const blob of [pushed.config, ...pushed.layers]) expect(await headBlob(destination, 'del/retry', blob.digest)).toBe(404);
    expect((await api.call('GET', `/v1/images/${record.id}`)).status).toBe(404);
  });
});

describe('PUT with a new source', () => {
  it('moves the tag to the new image and removes the old one where nothing else uses it', async () => {
    const shared = randomLayer(10_000);
    const old = await pushImage(source, 'del/put-old', 'v1', { format: 'oci', layerBlobs: [shared, randomLayer(10_000)] });
    const fresh = await pushImage(source, 'del/put-new', 'v1', { format: 'oci', layerBlobs: [shared, randomLayer(10_000)] });
    const destinationRef = `${destination.host}/del/put:stable`;
    const record = await mirror(`${source.host}/del/put-old:v1`, destinationRef);
    const updated = await api.call('PUT', `/v1/images/${record.id}`, { source: `${source.host}/del/put-new:v1`, destination: destinationRef });
    expect(updated.status).toBe(200);
    expect(updated.json.image).toBe(`${destination.host}/del/put@${fresh.digest}`);
    expect((await headManifest(destination, 'del/put', 'stable')).digestHeader).toBe(fresh.digest);
    expect((await headManifest(destination, 'del/put', old.digest)).status).toBe(404);
    expect(await headBlob(destination, 'del/put', old.layers[1]!.digest)).toBe(404);
    expect(await headBlob(destination, 'del/put', old.config.digest)).toBe(404);
    // The layer both images share stays, with everything the new image needs.
    for (const blob of [fresh.config, ...fresh.layers]) expect(await headBlob(destination, 'del/put', blob.digest)).toBe(200);
    expect((await api.store.get(record.id))?.cleanup).toBeUndefined();
  });

  it('keeps the old image when another tag still uses it', async () => {
    const old = await pushImage(source, 'del/keep-old', 'v1', { format: 'oci', layers: 1 });
    const fresh = await pushImage(source, 'del/keep-new', 'v1', { format: 'oci', layers: 1 });
    const record = await mirror(`${source.host}/del/keep-old:v1`, `${destination.host}/del/keep:stable`);
    await mirror(`${source.host}/del/keep-old:v1`, `${destination.host}/del/keep:pinned`);
    await api.call('PUT', `/v1/images/${record.id}`, { source: `${source.host}/del/keep-new:v1`, destination: `${destination.host}/del/keep:stable` });
    expect((await headManifest(destination, 'del/keep', 'stable')).digestHeader).toBe(fresh.digest);
    expect((await headManifest(destination, 'del/keep', 'pinned')).digestHeader).toBe(old.digest);
    for (const blob of [old.config, ...old.layers]) expect(await headBlob(destination, 'del/keep', blob.digest)).toBe(200);
  });
});
