// Copies between real registries (Debian's docker-registry 2.8) and checks what arrived,
// through the registry API and with skopeo as a second opinion.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.ts';
import { pushImage, pushIndex } from '../harness/images.ts';
import { getBlob, getManifest, listTags, skopeoInspectRaw } from '../harness/registry-api.ts';
import { startRegistry, type RunningRegistry } from '../harness/registry.ts';
import { blobOutcomes, copy, expectCopied } from './support.ts';

let source: RunningRegistry;
let destination: RunningRegistry;
let relative: RunningRegistry;

beforeAll(async () => {
  [source, destination, relative] = await Promise.all([startRegistry(), startRegistry(), startRegistry({ relativeUrls: true })]);
});
afterAll(async () => {
  await Promise.all([source?.stop(), destination?.stop(), relative?.stop()]);
});

describe('copy', () => {
  it.each(['oci', 'docker'] as const)('copies a %s image byte for byte and pins the destination by digest', async (format) => {
    const pushed = await pushImage(source, `single/${format}`, 'v1', { format, layers: 3, layerSize: 300_000 });
    const { result } = await copy(`${source.host}/single/${format}:v1`, `${destination.host}/mirror/${format}:v1`);
    expect(result.digest).toBe(pushed.digest);
    expect(result.image).toBe(`${destination.host}/mirror/${format}@${pushed.digest}`);
    expect(result.blobs).toEqual({ copied: 4, present: 0, mounted: 0 });
    await expectCopied(pushed, source, `single/${format}`, destination, `mirror/${format}`, 'v1');
    // skopeo reads the same bytes back.
    const raw = await skopeoInspectRaw(`${destination.host}/mirror/${format}:v1`);
    expect(Buffer.from(raw).equals(Buffer.from(pushed.manifest))).toBe(true);
  });

  it.each(['oci', 'docker'] as const)('copies a two-platform %s index with every child, a shared layer once', async (format) => {
    const pushed = await pushIndex(source, `multi/${format}`, 'v1', { format, layers: 2, layerSize: 100_000, sharedLayer: true });
    const { result, events } = await copy(`${source.host}/multi/${format}:v1`, `${destination.host}/multi/${format}:v1`);
    expect(result.digest).toBe(pushed.digest);
    // 2 configs + 1 shared layer + 1 own layer per child; the shared one is sent once.
    expect(blobOutcomes(events)).toEqual({ copied: 5 });
    expect(result.manifestsPushed).toBe(3);
    await expectCopied(pushed, source, `multi/${format}`, destination, `multi/${format}`, 'v1');
    // Children were pushed by digest, before the index (which alone carries the tag).
    const pushes = events.filter((e) => e.type === 'manifest' && e.outcome === 'pushed').map((e) => (e as { reference: string }).reference);
    expect(pushes.slice(0, 2).sort()).toEqual(pushed.children.map((c) => c.digest).sort());
    expect(pushes[2]).toBe('v1');
    expect(await listTags(destination, `multi/${format}`)).toEqual(['v1']);
  });

  it('copies a source pinned by digest', async () => {
    const pushed = await pushImage(source, 'pinned/app', 'moving', { format: 'oci', layers: 1 });
    // Move the tag away: the copy must follow the digest, not the tag.
    await pushImage(source, 'pinned/app', 'moving', { format: 'oci', layers: 1 });
    const { result } = await copy(`${source.host}/pinned/app@${pushed.digest}`, `${destination.host}/pinned/app:stable`);
    expect(result.digest).toBe(pushed.digest);
    await expectCopied(pushed, source, 'pinned/app', destination, 'pinned/app', 'stable');
  });

  it('copies a source given with both tag and digest by the digest', async () => {
    const pushed = await pushImage(source, 'both/app', 'old', { format: 'docker', layers: 1 });
    await pushImage(source, 'both/app', 'old', { format: 'docker', layers: 1 });
    const { result } = await copy(`${source.host}/both/app:old@${pushed.digest}`, `${destination.host}/both/app:v1`);
    expect(result.digest).toBe(pushed.digest);
  });

  it('moves no blob bytes when the destination already has the image', async () => {
    const pushed = await pushIndex(source, 'again/app', 'v1', { format: 'oci', layers: 2, layerSize: 50_000 });
    const proxy = await startFaultProxy(destination.url);
    try {
      await copy(`${source.host}/again/app:v1`, `${proxy.host}/again/app:v1`);
      proxy.clear();
      const same = await copy(`${source.host}/again/app:v1`, `${proxy.host}/again/app:v1`);
      expect(same.result.unchanged).toBe(true);
      expect(same.result.bytesCopied).toBe(0);
      // One HEAD on the destination tag, nothing else.
      expect(proxy.requests).toEqual([{ method: 'HEAD', url: '/v2/again/app/manifests/v1' }]);

      proxy.clear();
      // A new tag for the same image: children already there by digest, only the index is pushed.
      const retag = await copy(`${source.host}/again/app:v1`, `${proxy.host}/again/app:v2`);
      expect(retag.result.bytesCopied).toBe(0);
      expect(retag.result.manifestsPushed).toBe(1);
      expect(uploads(proxy)).toEqual([]);
      await expectCopied(pushed, source, 'again/app', destination, 'again/app', 'v2');
    } finally {
      await proxy.stop();
    }
  });

  it('skips blobs the destination repository has and uploads only the rest', async () => {
    const first = await pushImage(source, 'partial/app', 'v1', { format: 'oci', layers: 2, layerSize: 10_000 });
    await copy(`${source.host}/partial/app:v1`, `${destination.host}/partial/app:v1`);
    // Same layers plus a new one under a new tag.
    const layerBlobs = await Promise.all(first.layers.map((l) => getBlob(source, 'partial/app', l.digest)));
    const second = await pushImage(source, 'partial/app', 'v2', { format: 'oci', layerBlobs: [...(layerBlobs as Uint8Array[]), new Uint8Array([1, 2, 3])] });
    const { events } = await copy(`${source.host}/partial/app:v2`, `${destination.host}/partial/app:v2`);
    expect(blobOutcomes(events)).toEqual({ present: 2, copied: 2 });
    await expectCopied(second, source, 'partial/app', destination, 'partial/app', 'v2');
  });

  it('mounts blobs from the source repository when both are in one registry', async () => {
    const pushed = await pushImage(source, 'mount/from', 'v1', { format: 'docker', layers: 3, layerSize: 20_000 });
    const proxy = await startFaultProxy(source.url);
    try {
      const { result } = await copy(`${proxy.host}/mount/from:v1`, `${proxy.host}/mount/to:v1`);
      expect(result.blobs).toEqual({ mounted: 4, copied: 0, present: 0 });
      // No blob was read from the source: mounts are server-side.
      expect(proxy.requests.filter((r) => r.method === 'GET' && r.url.includes('/blobs/'))).toEqual([]);
      expect(proxy.requests.filter((r) => r.method === 'POST' && r.url.includes('mount=')).length).toBe(4);
      await expectCopied(pushed, source, 'mount/from', source, 'mount/to', 'v1');
    } finally {
      await proxy.stop();
    }
  });

  it('works with a registry that answers relative upload locations', async () => {
    const pushed = await pushIndex(source, 'rel/app', 'v1', { format: 'docker', layers: 1, layerSize: 30_000 });
    await copy(`${source.host}/rel/app:v1`, `${relative.host}/rel/app:v1`);
    await expectCopied(pushed, source, 'rel/app', relative, 'rel/app', 'v1');
    // And back out of it, so reads through relative URLs work too.
    await copy(`${relative.host}/rel/app:v1`, `${destination.host}/rel-back/app:v1`);
    await expectCopied(pushed, source, 'rel/app', destination, 'rel-back/app', 'v1');
  });

  it('replaces what a destination tag pointed at before', async () => {
    const old = await pushImage(source, 'overwrite/app', 'v1', { format: 'oci', layers: 1 });
    await copy(`${source.host}/overwrite/app:v1`, `${destination.host}/overwrite/app:v1`);
    const fresh = await pushImage(source, 'overwrite/app', 'v1', { format: 'oci', layers: 1 });
    const { result } = await copy(`${source.host}/overwrite/app:v1`, `${destination.host}/overwrite/app:v1`);
    expect(result.unchanged).toBe(false);
    expect(result.digest).toBe(fresh.digest);
    expect(result.digest).not.toBe(old.digest);
    expect((await getManifest(destination, 'overwrite/app', 'v1')).digestHeader).toBe(fresh.digest);
  });
});

function uploads(proxy: FaultProxy): { method: string; url: string }[] {
  return proxy.requests.filter((r) => r.url.includes('/blobs/uploads/'));
}
