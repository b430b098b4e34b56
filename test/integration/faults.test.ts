// Faults injected by a loopback proxy in front of real registries: the copy retries what is
// transient, restarts blobs whose stream broke, falls back to chunks on 413, and refuses bytes
// that do not match their digest without ever moving the destination tag.
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RegistryError } from '../../lib/registry/errors.ts';
import { DigestMismatchError } from '../../lib/util/digest.ts';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.ts';
import { pushImage, pushIndex, randomLayer } from '../harness/images.ts';
import { getManifest, headBlob } from '../harness/registry-api.ts';
import { startRegistry, type RunningRegistry } from '../harness/registry.ts';
import { copy, expectCopied } from './support.ts';

let source: RunningRegistry;
let destination: RunningRegistry;
let sourceProxy: FaultProxy;
let destinationProxy: FaultProxy;

beforeAll(async () => {
  [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
  [sourceProxy, destinationProxy] = await Promise.all([startFaultProxy(source.url), startFaultProxy(destination.url)]);
});
afterEach(() => {
  sourceProxy.clear();
  destinationProxy.clear();
});
afterAll(async () => {
  await Promise.all([sourceProxy?.stop(), destinationProxy?.stop()]);
  await Promise.all([source?.stop(), destination?.stop()]);
});

const isBlobGet = (r: { method: string; url: string }) => r.method === 'GET' && /\/blobs\/sha256:/.test(r.url);
const isBlobPut = (r: { method: string; url: string }) => r.method === 'PUT' && r.url.includes('/blobs/uploads/');

describe('transient faults', () => {
  it('waits out 429 with Retry-After in seconds', async () => {
    const pushed = await pushImage(source, 'f/429', 'v1', { format: 'oci', layers: 2 });
    const rule = sourceProxy.fail({ match: (r) => r.url.includes('/manifests/'), times: 2, action: { status: 429, retryAfter: '1' } });
    const { retries } = await copy(`${sourceProxy.host}/f/429:v1`, `${destination.host}/f/429:v1`);
    expect(rule.hits).toBe(2);
    expect(retries.map((r) => r.reason)).toEqual(['status 429', 'status 429']);
    expect(retries.every((r) => r.delayMs >= 1000)).toBe(true);
    await expectCopied(pushed, source, 'f/429', destination, 'f/429', 'v1');
  });

  it('waits out 429 with Retry-After as an HTTP date', async () => {
    const pushed = await pushImage(source, 'f/429date', 'v1', { format: 'oci', layers: 1 });
    const at = new Date(Date.now() + 2500).toUTCString();
    sourceProxy.fail({ match: isBlobGet, times: 1, action: { status: 429, retryAfter: at } });
    const { retries } = await copy(`${sourceProxy.host}/f/429date:v1`, `${destination.host}/f/429date:v1`);
    expect(retries).toHaveLength(1);
    // HTTP dates have one-second resolution: at least 1.5 s of the 2.5 s remain.
    expect(retries[0]!.delayMs).toBeGreaterThanOrEqual(1000);
    await expectCopied(pushed, source, 'f/429date', destination, 'f/429date', 'v1');
  });

  it('gives up on a Retry-After longer than it is willing to wait, naming the registry', async () => {
    await pushImage(source, 'f/429long', 'v1', { format: 'oci' });
    sourceProxy.fail({ match: (r) => r.url.includes('/manifests/'), times: 1, action: { status: 429, retryAfter: '3600' } });
    const error = await copy(`${sourceProxy.host}/f/429long:v1`, `${destination.host}/f/429long:v1`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as Error).message).toBe(`${sourceProxy.host}: get manifest f/429long:v1 failed: 429 TOOMANYREQUESTS: injected fault`);
  });

  it('retries 503 on blob reads and on streamed uploads (restarting the blob)', async () => {
    const pushed = await pushImage(source, 'f/503', 'v1', { format: 'docker', layers: 3, layerSize: 200_000 });
    const getRule = sourceProxy.fail({ match: isBlobGet, times: 2, action: { status: 503 } });
    const putRule = destinationProxy.fail({ match: isBlobPut, times: 2, action: { status: 503 } });
    const { events } = await copy(`${sourceProxy.host}/f/503:v1`, `${destinationProxy.host}/f/503:v1`);
    expect(getRule.hits).toBe(2);
    expect(putRule.hits).toBe(2);
    expect(events.filter((e) => e.type === 'blob-retry')).toHaveLength(2);
    await expectCopied(pushed, source, 'f/503', destination, 'f/503', 'v1');
  });

  it('survives connections cut in the middle of a blob', async () => {
    const pushed = await pushImage(source, 'f/cut', 'v1', { format: 'oci', layers: 2, layerSize: 2_000_000 });
    const rule = sourceProxy.fail({ match: isBlobGet, times: 3, action: { cut: 500_000 } });
    const { events } = await copy(`${sourceProxy.host}/f/cut:v1`, `${destination.host}/f/cut:v1`);
    expect(rule.hits).toBe(3);
    expect(events.filter((e) => e.type === 'blob-retry').length).toBeGreaterThanOrEqual(1);
    await expectCopied(pushed, source, 'f/cut', destination, 'f/cut', 'v1');
  });

  it('retries dropped connections on replayable requests', async () => {
    const pushed = await pushImage(source, 'f/drop', 'v1', { format: 'oci', layers: 1 });
    const rule = destinationProxy.fail({ match: (r) => r.method === 'POST', times: 2, action: { drop: true } });
    const { retries } = await copy(`${source.host}/f/drop:v1`, `${destinationProxy.host}/f/drop:v1`);
    expect(rule.hits).toBe(2);
    expect(retries.length).toBeGreaterThanOrEqual(2);
    await expectCopied(pushed, source, 'f/drop', destination, 'f/drop', 'v1');
  });

  it('falls back to chunked PATCH uploads when a registry refuses a large body', async () => {
    const pushed = await pushImage(source, 'f/413', 'v1', { format: 'oci', layers: 1, layerSize: 9_000_000 });
    const layer = pushed.layers[0]!;
    // Refuse any request body over 8 MiB, as hosted registries with a body cap do.
    const cap = destinationProxy.fail({ match: (r) => Number(r.headers['content-length'] ?? 0) > 8 * 1024 * 1024, times: 100, action: { status: 413 } });
    const { result } = await copy(`${source.host}/f/413:v1`, `${destinationProxy.host}/f/413:v1`);
    expect(cap.hits).toBeGreaterThanOrEqual(1);
    const patches = destinationProxy.requests.filter((r) => r.method === 'PATCH');
    expect(patches.length).toBe(Math.ceil(layer.size / (8 * 1024 * 1024)));
    expect(result.blobs.copied).toBe(2);
    await expectCopied(pushed, source, 'f/413', destination, 'f/413', 'v1');
  });
});

describe('bytes that do not match their digest', () => {
  it('fails the copy with a clear error and leaves the destination tag where it was', async () => {
    // The destination tag already holds an older image.
    const old = await pushImage(source, 'f/corrupt', 'v1', { format: 'oci', layers: 1 });
    await copy(`${source.host}/f/corrupt:v1`, `${destination.host}/f/corrupt:v1`);
    const fresh = await pushImage(source, 'f/corrupt', 'v1', { format: 'oci', layers: 0, layerBlobs: [randomLayer(400_000)] });
    const bad = fresh.layers[0]!;
    // The source registry's stored file is damaged: it serves other bytes under the digest.
    const file = await blobFile(source, bad.digest);
    await writeFile(file, randomLayer(400_000).subarray(0, bad.size));

    const error = await copy(`${source.host}/f/corrupt:v1`, `${destination.host}/f/corrupt:v1`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DigestMismatchError);
    expect((error as Error).message).toMatch(new RegExp(`^${source.host}: blob f/corrupt@${bad.digest}: content does not match its digest \\(expected ${bad.digest}, got sha256:[0-9a-f]{64}\\)$`));
    // The tag did not move, and the damaged blob never completed at the destination.
    expect((await getManifest(destination, 'f/corrupt', 'v1')).digestHeader).toBe(old.digest);
    expect(await headBlob(destination, 'f/corrupt', bad.digest)).toBe(404);
    expect((await getManifest(destination, 'f/corrupt', fresh.digest)).status).toBe(404);
  });

  it('refuses a manifest whose bytes do not match the digest it was fetched by', async () => {
    const pushed = await pushIndex(source, 'f/manifest', 'v1', { format: 'oci', layers: 1 });
    const child = pushed.children[0]!.digest;
    sourceProxy.fail({ match: (r) => r.method === 'GET' && r.url.endsWith(`/manifests/${child}`), times: 100, action: { corrupt: true } });
    const error = await copy(`${sourceProxy.host}/f/manifest:v1`, `${destination.host}/f/manifest:v1`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DigestMismatchError);
    expect((error as Error).message).toMatch(new RegExp(`^${sourceProxy.host}: get manifest f/manifest@${child}: content does not match its digest`));
    expect((await getManifest(destination, 'f/manifest', 'v1')).status).toBe(404);
  });

  it('refuses bytes corrupted on the way, even when the size is right', async () => {
    await pushImage(source, 'f/flip', 'v1', { format: 'docker', layers: 1, layerSize: 100_000 });
    sourceProxy.fail({ match: isBlobGet, times: 100, action: { corrupt: true } });
    const error = await copy(`${sourceProxy.host}/f/flip:v1`, `${destination.host}/f/flip:v1`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DigestMismatchError);
    expect((await getManifest(destination, 'f/flip', 'v1')).status).toBe(404);
  });
});

/** Where docker-registry 2.8's filesystem driver keeps a blob's bytes. */
async function blobFile(registry: RunningRegistry, digest: string): Promise<string> {
  const hex = digest.slice('sha256:'.length);
  const dir = join(registry.dir, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex);
  expect(await readdir(dir)).toContain('data');
  return join(dir, 'data');
}
