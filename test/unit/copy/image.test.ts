// copyImage over the in-memory registry: exact bytes, each blob and manifest moved once however
// the image lists them, bounded work for hostile images, the tag push under the fence, and the
// cost of a destination that is already current.
import { beforeEach, describe, expect, it } from 'vitest';
import { ImageLimitError, SourceNotFoundError } from '../../../lib/copy/errors.ts';
import type { DestinationChange, Fence } from '../../../lib/copy/fence.ts';
import { copyImage } from '../../../lib/copy/image.ts';
import { DEFAULT_LIMITS } from '../../../lib/copy/limits.ts';
import { parseReference } from '../../../lib/reference/reference.ts';
import type { RegistryClients } from '../../../lib/registry/client.ts';
import { blobsOf, makeBlob, makeImage, makeIndex, manifestsOf, MemoryRegistry, type Fixture, type LoggedRequest } from '../fakes/memory-registry.ts';

const SOURCE = parseReference('src.example/team/app:v1');
const DESTINATION = parseReference('dst.example/mirror/app:v1');

let registry: MemoryRegistry;
let clients: RegistryClients;

beforeEach(() => {
  registry = new MemoryRegistry();
  clients = registry.clients();
});

/** The destination holds the fixture under the tag, every manifest and blob byte for byte. */
function expectCopied(fixture: Fixture): void {
  const held = registry.read('dst.example', 'mirror/app');
  const source = registry.read('src.example', 'team/app');
  expect(held.tags.v1).toBe(fixture.digest);
  for (const digest of manifestsOf(fixture)) expect(held.manifests[digest], digest).toEqual(source.manifests[digest]);
  expect(held.manifests[fixture.digest]!.bytes).toEqual(fixture.bytes);
  for (const blob of blobsOf(fixture)) expect(held.blobs[blob.digest], blob.digest).toEqual(blob.bytes);
}

const line = (r: LoggedRequest) => `${r.method} ${r.host}${r.path}`;

describe('copyImage', () => {
  it('copies an image byte for byte and says what it did', async () => {
    const image = registry.push('src.example', 'team/app', makeImage({ layers: 2 }), 'v1');
    const result = await copyImage(SOURCE, DESTINATION, { clients });
    expect(result).toEqual({
      digest: image.digest,
      mediaType: image.mediaType,
      image: `dst.example/mirror/app@${image.digest}`,
      unchanged: false,
      blobs: { present: 0, mounted: 0, copied: 3 },
      bytesCopied: blobsOf(image).reduce((n, b) => n + b.size, 0),
      manifestsPushed: 1,
    });
    expectCopied(image);
  });

  it('copies an index with its children, byte for byte', async () => {
    const index = registry.push('src.example', 'team/app', makeIndex([makeImage(), makeImage({ layers: 3 })]), 'v1');
    const result = await copyImage(SOURCE, DESTINATION, { clients });
    expect(result).toMatchObject({ digest: index.digest, unchanged: false, manifestsPushed: 3 });
    expectCopied(index);
  });

  it('uploads a layer shared by the children of an index once', async () => {
    const shared = makeBlob(256);
    const index = registry.push('src.example', 'team/app', makeIndex([1, 2, 3].map(() => makeImage({ shared: [shared] }))), 'v1');
    const result = await copyImage(SOURCE, DESTINATION, { clients });
    expect(registry.uploads('dst.example', shared.digest)).toBe(1);
    expect(registry.count({ method: 'GET', host: 'src.example', path: `/blobs/${shared.digest}` })).toBe(1);
    // Three configs, three own layers, one shared.
    expect(result.blobs.copied).toBe(7);
    expect(registry.uploads('dst.example')).toBe(7);
    expectCopied(index);
  });

  it('fetches and pushes a child listed many times once', async () => {
    const child = makeImage();
    const index = registry.push('src.example', 'team/app', makeIndex([child, makeImage()], { repeat: 5 }), 'v1');
    await copyImage(SOURCE, DESTINATION, { clients });
    expect(registry.count({ method: 'GET', host: 'src.example', path: `/manifests/${child.digest}` })).toBe(1);
    expect(registry.count({ method: 'PUT', host: 'dst.example', path: `/manifests/${child.digest}` })).toBe(1);
    expectCopied(index);
  });

  it('refuses an index with more manifests than the cap before fetching any child', async () => {
    registry.push('src.example', 'team/app', makeIndex(Array.from({ length: 50 }, () => makeImage())), 'v1');
    const copying = copyImage(SOURCE, DESTINATION, { clients, limits: { ...DEFAULT_LIMITS, maxManifests: 10 } });
    await expect(copying).rejects.toThrow(ImageLimitError);
    await expect(copying).rejects.toThrow(/more than 10 manifests.*IMAGESYNC_MAX_MANIFESTS/);
    expect(registry.count({ method: 'GET', host: 'src.example' })).toBe(1);
    // Just the look at the destination tag that comes before any copying.
    expect(registry.requests({ host: 'dst.example' }).map(line)).toEqual(['HEAD dst.example/v2/mirror/app/manifests/v1']);
  });

  it('refuses indexes nested deeper than the cap after reading only the levels above it', async () => {
    let nested: Fixture = makeImage();
    for (let level = 0; level < 4; level++) nested = makeIndex([nested]);
    registry.push('src.example', 'team/app', nested, 'v1');
    const copying = copyImage(SOURCE, DESTINATION, { clients, limits: { ...DEFAULT_LIMITS, maxDepth: 1 } });
    await expect(copying).rejects.toThrow(/deeper than 1 \(IMAGESYNC_MAX_INDEX_DEPTH\)/);
    expect(registry.count({ method: 'GET', host: 'src.example' })).toBe(2);
    expect(registry.count({ method: 'PUT' })).toBe(0);
  });

  it('pushes the tag, and only the tag, through the fence', async () => {
    const index = registry.push('src.example', 'team/app', makeIndex([makeImage(), makeImage()]), 'v1');
    const changes: DestinationChange[] = [];
    let fenced = false;
    const fence: Fence = async (change, act) => {
      changes.push(change);
      fenced = true;
      try {
        return await act(new AbortController().signal);
      } finally {
        fenced = false;
      }
    };
    const tagPushedFenced: boolean[] = [];
    registry.before({ method: 'PUT', path: '/manifests/v1' }, () => void tagPushedFenced.push(fenced));
    await copyImage(SOURCE, DESTINATION, { clients, fence });
    expect(changes).toEqual([{ what: 'push mirror/app:v1', tag: index.digest }]);
    expect(tagPushedFenced).toEqual([true]);
    expectCopied(index);
  });

  it('leaves the tag unpushed when the fence refuses', async () => {
    const image = registry.push('src.example', 'team/app', makeImage(), 'v1');
    const refused = new Error('the job lost its record');
    await expect(copyImage(SOURCE, DESTINATION, { clients, fence: async () => Promise.reject(refused) })).rejects.toBe(refused);
    expect(registry.count({ method: 'PUT', path: '/manifests/' })).toBe(0);
    const held = registry.read('dst.example', 'mirror/app');
    expect(held.tags).toEqual({});
    // Content by digest may be there: it changes no tag's meaning.
    expect(Object.keys(held.blobs).sort()).toEqual(blobsOf(image).map((b) => b.digest).sort());
  });

  it('costs one HEAD after the source GET when the destination is current', async () => {
    const image = registry.push('src.example', 'team/app', makeIndex([makeImage()]), 'v1');
    registry.push('dst.example', 'mirror/app', image, 'v1');
    registry.log.length = 0;
    const result = await copyImage(SOURCE, DESTINATION, { clients });
    expect(result).toMatchObject({ unchanged: true, digest: image.digest, manifestsPushed: 0, bytesCopied: 0 });
    expect(registry.log.map(line)).toEqual(['GET src.example/v2/team/app/manifests/v1', 'HEAD dst.example/v2/mirror/app/manifests/v1']);
  });

  it('says which source is missing, and sends nothing', async () => {
    await expect(copyImage(SOURCE, DESTINATION, { clients })).rejects.toThrow(SourceNotFoundError);
    await expect(copyImage(SOURCE, DESTINATION, { clients })).rejects.toThrow(/src\.example\/team\/app:v1 not found .*404 MANIFEST_UNKNOWN/);
    expect(registry.count({ host: 'dst.example' })).toBe(0);
  });
});
