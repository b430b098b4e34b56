// However an image's publisher builds it, one copy does bounded work: every manifest and blob is
// fetched once however often it is listed, manifest requests in flight are capped, and an image
// with too many manifests or indexes nested too deep fails early with a 502 naming the bound.
// Hostile sources on loopback; the destination is the real registry behind a counting proxy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageLimitError } from '../../lib/copy/errors.ts';
import { sha256, nestedIndex, startHostileRegistry, type Content, type HostileRegistry } from '../harness/hostile-registry.ts';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.ts';
import { startRegistry, type RunningRegistry } from '../harness/registry.ts';
import { headManifest } from '../harness/registry-api.ts';
import { copy } from './support.ts';
import { startApi, type RunningApi } from './api-support.ts';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const descriptor = (content: Content) => ({ mediaType: content.mediaType, digest: sha256(content.bytes), size: content.bytes.byteLength });

let destination: RunningRegistry;
let proxy: FaultProxy;
const sources: HostileRegistry[] = [];
let api: RunningApi;

beforeAll(async () => {
  destination = await startRegistry();
  proxy = await startFaultProxy(destination.url);
  api = await startApi({ env: { IMAGESYNC_MAX_MANIFESTS: '100' } });
});
afterAll(async () => {
  await api?.stop();
  await Promise.all(sources.map((s) => s.stop()));
  await proxy?.stop();
  await destination?.stop();
});

async function serve(manifests: Map<string, Content>, blobs: Map<string, Content>): Promise<HostileRegistry> {
  const source = await startHostileRegistry({ manifest: (r) => manifests.get(r), blob: (d) => blobs.get(d) });
  sources.push(source);
  return source;
}

/** An image manifest with one config blob (unique per `seed`), no layers. */
function image(seed: string): { manifest: Content; config: Content } {
  const config: Content = { bytes: encode({ architecture: 'amd64', os: 'linux', seed, rootfs: { type: 'layers', diff_ids: [] } }) };
  const manifest: Content = {
    mediaType: OCI_MANIFEST,
    bytes: encode({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { ...descriptor(config), mediaType: 'application/vnd.oci.image.config.v1+json' }, layers: [] }),
  };
  return { manifest, config };
}

describe('one copy', () => {
  it('fetches a child listed 2,000 times once and pushes it once', async () => {
    const child = image('repeated');
    const index: Content = { mediaType: OCI_INDEX, bytes: encode({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: Array(2000).fill(descriptor(child.manifest)) }) };
    const source = await serve(
      new Map([
        ['v1', index],
        [sha256(child.manifest.bytes), child.manifest],
      ]),
      new Map([[sha256(child.config.bytes), child.config]]),
    );
    proxy.clear();
    const { result } = await copy(`${source.host}/bomb/repeat:v1`, `${proxy.host}/bounded/repeat:v1`);
    expect(result.digest).toBe(sha256(index.bytes));
    expect(source.count('GET', new RegExp(`/manifests/${sha256(child.manifest.bytes)}$`))).toBe(1);
    expect(source.count('GET', /\/blobs\//)).toBe(1);
    const pushed = proxy.requests.filter((r) => r.method === 'PUT' && r.url.includes('/manifests/'));
    expect(pushed.map((r) => r.url.split('/manifests/')[1])).toEqual([sha256(child.manifest.bytes), 'v1']);
    expect((await headManifest(destination, 'bounded/repeat', 'v1')).digestHeader).toBe(sha256(index.bytes));
  });

  it('fails a 200 x 200 index early, having fetched a handful of its 40,201 manifests', async () => {
    const tree = nestedIndex(200);
    const source = await startHostileRegistry({ manifest: tree.manifest, blob: tree.blob });
    sources.push(source);
    const failure = await copy(`${source.host}/bomb/app:bomb`, `${destination.host}/bounded/bomb:v1`).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ImageLimitError);
    expect((failure as Error).message).toBe(`${source.host}: bomb/app lists more than 1000 manifests in one image (IMAGESYNC_MAX_MANIFESTS)`);
    // The top index, then at most the manifests in flight when the count passed the bound.
    expect(source.count('GET', /\/manifests\//)).toBeLessThanOrEqual(1 + 8 + 8);
    expect((await headManifest(destination, 'bounded/bomb', 'v1')).status).toBe(404);
  });

  it('fails indexes nested deeper than the bound, naming it', async () => {
    const leaf = image('deep');
    const manifests = new Map<string, Content>([[sha256(leaf.manifest.bytes), leaf.manifest]]);
    let inner = leaf.manifest;
    for (let level = 0; level < 6; level++) {
      const index: Content = { mediaType: OCI_INDEX, bytes: encode({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [descriptor(inner)], annotations: { level: String(level) } }) };
      manifests.set(sha256(index.bytes), index);
      inner = index;
    }
    manifests.set('v1', inner);
    const source = await serve(manifests, new Map([[sha256(leaf.config.bytes), leaf.config]]));
    const failure = await copy(`${source.host}/bomb/deep:v1`, `${destination.host}/bounded/deep:v1`).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ImageLimitError);
    expect((failure as Error).message).toMatch(/^127\.0\.0\.1:\d+: bomb\/deep@sha256:[0-9a-f]{64} nests indexes deeper than 4 \(IMAGESYNC_MAX_INDEX_DEPTH\)$/);
  });
});

describe('through the API', () => {
  it('answers 502 image-limit naming the bound and its setting; a smaller image under the bound syncs', async () => {
    const big = nestedIndex(10); // 111 manifests
    const source = await startHostileRegistry({ manifest: big.manifest, blob: big.blob });
    sources.push(source);
    const refused = await api.call('POST', '/v1/images', { source: `${source.host}/bomb/app:bomb`, destination: `${destination.host}/bounded/api:v1` });
    expect(refused.status).toBe(502);
    expect(refused.json).toMatchObject({ type: 'urn:imagesync:problem:image-limit', title: 'Image exceeds a limit' });
    expect(refused.json.detail).toContain('more than 100 manifests in one image (IMAGESYNC_MAX_MANIFESTS)');
    // Nothing is kept of a first sync that failed.
    expect((await api.call('GET', '/v1/images?limit=1000')).json.items.filter((r: { destination: string }) => r.destination.endsWith('bounded/api:v1'))).toEqual([]);

    const small = nestedIndex(9); // 91 manifests
    const fits = await startHostileRegistry({ manifest: small.manifest, blob: small.blob });
    sources.push(fits);
    const created = await api.call('POST', '/v1/images', { source: `${fits.host}/bomb/app:bomb`, destination: `${destination.host}/bounded/api:v1` });
    expect(created.status).toBe(201);
    expect(created.json.source_digest).toBe(sha256(small.top.bytes));
  });
});
