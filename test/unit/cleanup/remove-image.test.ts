// removeImage over the in-memory registry (distribution 2.8 unless said otherwise): the tag goes
// only while it points at one of the plan's images, what other tags reach stays, and every
// destructive step runs under the fence, so a job that lost its record stops before the next one.
import { beforeEach, describe, expect, it } from 'vitest';
import type { DestinationChange, Fence } from '../../../lib/copy/fence.ts';
import { removeImage } from '../../../lib/cleanup/remove-image.ts';
import { pushThrowaway, throwawayManifest } from '../../../lib/cleanup/throwaway.ts';
import type { RegistryClient } from '../../../lib/registry/client.ts';
import type { Cleanup } from '../../../lib/store/types.ts';
import { LeaseLostError } from '../../../lib/sync/errors.ts';
import { blobsOf, makeBlob, makeImage, makeIndex, manifestsOf, MemoryRegistry, sha256, type Fixture, type LoggedRequest } from '../fakes/memory-registry.ts';

const HOST = 'dst.example';
const REPO = 'mirror/app';

let registry: MemoryRegistry;
let client: RegistryClient;

beforeEach(() => {
  registry = new MemoryRegistry([HOST]);
  client = registry.clients().get(HOST);
});

/** A plan resolved as the engine resolves it: each image's manifests and blobs listed. */
function plan(images: Fixture[], untag?: string): Cleanup {
  return { repository: REPO, images: images.map((f) => ({ digest: f.digest, manifests: manifestsOf(f), blobs: blobsOf(f).map((b) => b.digest) })), untag };
}

/** A fence that records each change and can refuse the n-th one, as a job that lost its record does. */
function recordingFence(refuseAt?: number): { fence: Fence; changes: DestinationChange[]; unfenced: string[] } {
  const changes: DestinationChange[] = [];
  const unfenced: string[] = [];
  let inside = false;
  // Every request that changes the destination must arrive while a fenced step runs.
  registry.before((r) => r.method !== 'GET' && r.method !== 'HEAD', (r) => void (inside || unfenced.push(line(r))), { times: Number.POSITIVE_INFINITY });
  const fence: Fence = async (change, act) => {
    changes.push(change);
    if (changes.length === refuseAt) throw new LeaseLostError('record moved on');
    inside = true;
    try {
      return await act(new AbortController().signal);
    } finally {
      inside = false;
    }
  };
  return { fence, changes, unfenced };
}

const line = (r: LoggedRequest) => `${r.method} ${r.path}`;
const destructive = () => registry.requests((r) => r.method === 'DELETE' || r.method === 'PUT').map(line);

describe('removeImage', () => {
  it('removes the tag, manifests and blobs, moving the tag to a throwaway where tag deletion is refused', async () => {
    const image = registry.push(HOST, REPO, makeImage({ layers: 2 }), 'v1');
    const { fence, changes, unfenced } = recordingFence();
    expect(await removeImage(client, plan([image], 'v1'), { fence })).toEqual([]);
    expect(registry.read(HOST, REPO)).toEqual({ tags: {}, manifests: {}, blobs: {} });

    const throwaway = changes.find((c) => c.throwaway)!.throwaway!;
    expect(registry.requests({ method: 'DELETE', path: '/manifests/v1' }).map((r) => r.status)).toEqual([400]);
    expect(registry.count({ method: 'PUT', path: '/manifests/v1' })).toBe(1);
    expect(registry.count({ method: 'DELETE', path: `/manifests/${throwaway}` })).toBe(1);
    expect(unfenced).toEqual([]);
  });

  it('deletes the tag alone where the registry allows it (distribution 3.x)', async () => {
    registry.addHost(HOST, { deleteTags: true });
    const image = registry.push(HOST, REPO, makeImage(), 'v1');
    const { fence, changes } = recordingFence();
    expect(await removeImage(client, plan([image], 'v1'), { fence })).toEqual([]);
    expect(changes.some((c) => c.throwaway)).toBe(false);
    expect(registry.requests({ method: 'DELETE', path: '/manifests/v1' }).map((r) => r.status)).toEqual([202]);
    expect(registry.read(HOST, REPO)).toEqual({ tags: {}, manifests: {}, blobs: {} });
  });

  it('leaves a tag that points at another image, saying so, and still removes the plan image', async () => {
    const ours = registry.push(HOST, REPO, makeImage());
    const theirs = registry.push(HOST, REPO, makeImage(), 'v1');
    const { fence } = recordingFence();
    const left = await removeImage(client, plan([ours], 'v1'), { fence });
    expect(left).toEqual([`${HOST}/${REPO}:v1: points at another image now, left as it is`]);
    const held = registry.read(HOST, REPO);
    expect(held.tags).toEqual({ v1: theirs.digest });
    expect(Object.keys(held.manifests)).toEqual([theirs.digest]);
    expect(Object.keys(held.blobs).sort()).toEqual(blobsOf(theirs).map((b) => b.digest).sort());
    expect(destructive().some((r) => r.includes('/manifests/v1'))).toBe(false);
  });

  it('keeps the manifests and blobs other tags still reach', async () => {
    const layer = makeBlob();
    const [common, ownChild, otherChild] = [makeImage(), makeImage({ shared: [layer] }), makeImage({ shared: [layer] })];
    const ours = registry.push(HOST, REPO, makeIndex([common, ownChild]), 'v1');
    const other = registry.push(HOST, REPO, makeIndex([common, otherChild]), 'other');
    const { fence } = recordingFence();
    expect(await removeImage(client, plan([ours], 'v1'), { fence })).toEqual([]);

    const held = registry.read(HOST, REPO);
    expect(held.tags).toEqual({ other: other.digest });
    expect(Object.keys(held.manifests).sort()).toEqual(manifestsOf(other).sort());
    expect(Object.keys(held.blobs).sort()).toEqual(blobsOf(other).map((b) => b.digest).sort());
    // Nothing still reached was even asked to go.
    for (const digest of [...manifestsOf(other), ...blobsOf(other).map((b) => b.digest)]) {
      expect(destructive().filter((r) => r.startsWith('DELETE') && r.endsWith(digest))).toEqual([]);
    }
  });

  it('keeps an image whose digest another tag shares, removing only the tag', async () => {
    const image = registry.push(HOST, REPO, makeImage(), 'v1');
    registry.setTag(HOST, REPO, 'stable', image.digest);
    const { fence } = recordingFence();
    expect(await removeImage(client, plan([image], 'v1'), { fence })).toEqual([]);
    const held = registry.read(HOST, REPO);
    expect(held.tags).toEqual({ stable: image.digest });
    expect(held.manifests[image.digest]).toBeDefined();
    expect(Object.keys(held.blobs)).toHaveLength(blobsOf(image).length);
  });

  it('finishes a throwaway an earlier attempt left on the tag, its config blob with it', async () => {
    const image = registry.push(HOST, REPO, makeImage(), 'v1');
    const made = throwawayManifest();
    await pushThrowaway(client, REPO, 'v1', made);
    const { fence } = recordingFence();
    expect(await removeImage(client, { ...plan([image], 'v1'), throwaway: made.manifest.digest }, { fence })).toEqual([]);
    const held = registry.read(HOST, REPO);
    expect(held.tags).toEqual({});
    expect(held.manifests).toEqual({});
    // Regression: the throwaway's config blob, which the plan does not name, stayed behind.
    expect(held.blobs).not.toHaveProperty(made.configDigest);
    expect(Object.keys(held.blobs)).toEqual([]);
  });

  it('keeps every layer while another tag holds an image of a type it does not read (it may use them)', async () => {
    const shared = makeBlob();
    const image = registry.push(HOST, REPO, makeImage({ shared: [shared] }), 'v1');
    // Docker schema 1 under another tag: its layers are not descriptors imagesync reads.
    const bytes = new TextEncoder().encode(JSON.stringify({ schemaVersion: 1, name: REPO, tag: 'legacy', fsLayers: [{ blobSum: shared.digest }] }));
    const legacy = { ...makeImage(), kind: 'image' as const, bytes, digest: sha256(bytes), mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws', layers: [shared] };
    registry.push(HOST, REPO, legacy, 'legacy');
    const { fence } = recordingFence();
    const left = await removeImage(client, plan([image], 'v1'), { fence });
    expect(left).toEqual([`${blobsOf(image).length} layer(s) in ${HOST}/${REPO}: an image under another tag is of a type imagesync does not read, and may use them`]);
    const held = registry.read(HOST, REPO);
    expect(held.tags).toEqual({ legacy: legacy.digest });
    expect(held.manifests).not.toHaveProperty(image.digest);
    for (const blob of blobsOf(image)) expect(held.blobs).toHaveProperty(blob.digest);
  });

  it('says what stays where the registry refuses deletion, trying nothing more', async () => {
    registry.addHost(HOST, { deletes: false });
    const image = registry.push(HOST, REPO, makeImage(), 'v1');
    const { fence } = recordingFence();
    const left = await removeImage(client, plan([image], 'v1'), { fence });
    expect(left).toEqual([`${HOST}/${REPO}:v1 and ${HOST}/${REPO}@${image.digest}: ${HOST} refuses deletion (405)`]);
    expect(destructive()).toEqual(['DELETE /v2/mirror/app/manifests/v1']);
    expect(registry.read(HOST, REPO).tags).toEqual({ v1: image.digest });
  });

  it('passes every step through the fence, and stops before the next step once it refuses', async () => {
    const image = registry.push(HOST, REPO, makeImage({ layers: 2 }), 'v1');
    const counting = recordingFence();
    await removeImage(client, plan([image], 'v1'), { fence: counting.fence });
    // Tag (refused), throwaway push, throwaway delete, its config, the manifest, three blobs.
    expect(counting.changes.map((c) => c.what.split(' ')[0] + ' ' + c.what.split(' ')[1])).toEqual([
      'delete tag',
      'push throwaway',
      'delete throwaway',
      'delete throwaway',
      'delete manifest',
      'delete blob',
      'delete blob',
      'delete blob',
    ]);
    expect(counting.unfenced).toEqual([]);

    // Again, with a fence that refuses its fifth step (the manifest): nothing after it is sent.
    registry = new MemoryRegistry([HOST]);
    client = registry.clients().get(HOST);
    const again = registry.push(HOST, REPO, image, 'v1');
    const refusing = recordingFence(5);
    await expect(removeImage(client, plan([again], 'v1'), { fence: refusing.fence })).rejects.toThrow(LeaseLostError);
    expect(refusing.changes).toHaveLength(5);
    const own = [image.digest, ...blobsOf(image).map((b) => b.digest)];
    expect(destructive().filter((r) => own.some((digest) => r.endsWith(digest)))).toEqual([]);
    const held = registry.read(HOST, REPO);
    expect(held.manifests[image.digest]).toBeDefined();
    expect(Object.keys(held.blobs)).toHaveLength(3);
  });
});
