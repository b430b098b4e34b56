// Copies from hostile registries (test/harness/hostile-registry.ts, on loopback) into a real one
// (docker-registry behind a counting proxy), through copyImage with the real undici transport and
// through the HTTP API: what a registry sends never builds a URL outside the expected paths,
// never yields a 500, and never makes the reader buffer more than its cap.
import type { ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taggedContents } from '../../lib/cleanup/contents.ts';
import { SourceNotFoundError } from '../../lib/copy/errors.ts';
import { insecureHosts } from '../../lib/config/insecure.ts';
import { parseReference } from '../../lib/reference/reference.ts';
import { RegistryClients } from '../../lib/registry/client.ts';
import { NotFoundError, RegistryProtocolError } from '../../lib/registry/errors.ts';
import { listTags, TAG_LIST_LIMITS } from '../../lib/registry/tag.ts';
import { lookupSource } from '../../lib/sync/inspect.ts';
import { undiciTransport } from '../../functions/node/undici-transport.ts';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.ts';
import { sha256, startHostileRegistry, type Content, type HostileRegistry, type HostileRequest } from '../harness/hostile-registry.ts';
import { getManifest as readManifest } from '../harness/registry-api.ts';
import { startRegistry, type RunningRegistry } from '../harness/registry.ts';
import { startApi, type RunningApi } from './api-support.ts';
import { copy } from './support.ts';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const ZEROS = `sha256:${'0'.repeat(64)}`;
/** The review's digest: URL normalisation turns it into a HEAD on the destination's victim/app:v1. */
const TRAVERSAL = `${ZEROS}/../../../../../v2/victim/app/manifests/v1`;

// A small genuine image, served from any repository under the tag 'good'.
const configBytes = encode({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });
const layerBytes = new Uint8Array(randomBytes(4096));
const goodImage: Content = {
  mediaType: OCI_MANIFEST,
  bytes: encode({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(configBytes), size: configBytes.byteLength },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layerBytes), size: layerBytes.byteLength }],
  }),
};
const goodDigest = sha256(goodImage.bytes);

const config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(configBytes), size: configBytes.byteLength };
const traversalLayer: Content = {
  mediaType: OCI_MANIFEST,
  bytes: encode({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: TRAVERSAL, size: 1 }] }),
};
const traversalConfig: Content = { mediaType: OCI_MANIFEST, bytes: encode({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { ...config, digest: TRAVERSAL }, layers: [] }) };
const traversalIndex: Content = {
  mediaType: OCI_INDEX,
  bytes: encode({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: goodDigest, size: goodImage.bytes.byteLength }, { mediaType: OCI_MANIFEST, digest: TRAVERSAL, size: 10 }] }),
};
const notJson: Content = { mediaType: OCI_MANIFEST, bytes: new TextEncoder().encode('<html><body>Sign in to the hotel wifi</body></html>') };

const HUGE = 50 * 1024 * 1024;
const CHUNK = 64 * 1024;
/** Bytes the 50 MB manifest handlers got the socket to accept, per repository. */
const hugeSent = new Map<string, { sent: number; finished: boolean }>();
/** Repository → how to answer; anything not handled falls through to the harness's own routes. */
type Handler = (req: HostileRequest, res: ServerResponse) => boolean | Promise<boolean>;

function send(res: ServerResponse, status: number, headers: Record<string, string | number>, body?: Uint8Array | string): true {
  res.writeHead(status, headers);
  res.end(body);
  return true;
}

/** Serves `content` for `reference`; the HEAD and GET headers as given (a digest header or not). */
function manifestRoute(reference: string, content: Content, headers: { head?: Record<string, string>; get?: Record<string, string> } = {}): Handler {
  return (req, res) => {
    const path = req.url.split('?')[0]!;
    if (!path.endsWith(`/manifests/${reference}`) && !path.endsWith(`/manifests/${sha256(content.bytes)}`)) return false;
    const base = { 'content-type': content.mediaType!, 'content-length': content.bytes.byteLength };
    if (req.method === 'HEAD') return send(res, 200, { ...base, 'docker-content-digest': sha256(content.bytes), ...headers.head });
    if (req.method === 'GET') return send(res, 200, { ...base, 'docker-content-digest': sha256(content.bytes), ...headers.get }, content.bytes);
    return false;
  };
}

/** A manifest of 50 MB: HEAD announces it; GET streams it, with backpressure, until the reader hangs up. */
function hugeRoute(repository: string, declareLength: boolean): Handler {
  return async (req, res) => {
    if (!req.url.split('?')[0]!.endsWith('/manifests/v1')) return false;
    const digest = `sha256:${'1'.repeat(64)}`;
    if (req.method === 'HEAD') return send(res, 200, { 'content-type': OCI_MANIFEST, 'content-length': HUGE, 'docker-content-digest': digest });
    const record = { sent: 0, finished: false };
    hugeSent.set(repository, record);
    res.writeHead(200, { 'content-type': OCI_MANIFEST, ...(declareLength ? { 'content-length': HUGE } : {}) });
    const chunk = Buffer.alloc(CHUNK, 0x20);
    let closed = false;
    res.on('close', () => (closed = true));
    while (record.sent < HUGE && !closed) {
      record.sent += CHUNK;
      if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve).once('close', resolve));
    }
    if (!closed) {
      res.end();
      record.finished = true;
    }
    return true;
  };
}

/** A tags list: `pages(n)` gives page n's tags and whether a Link to page n+1 follows. */
function tagsRoute(page: (n: number, req: HostileRequest) => { tags: unknown[]; link?: string }): Handler {
  let n = 0;
  return (req, res) => {
    if (!req.url.split('?')[0]!.endsWith('/tags/list')) return false;
    const { tags, link } = page(n++, req);
    return send(res, 200, { 'content-type': 'application/json', ...(link ? { link: `<${link}>; rel="next"` } : {}) }, JSON.stringify({ name: 'x', tags }));
  };
}

let hostile: HostileRegistry;
let destination: RunningRegistry;
let proxy: FaultProxy;
let api: RunningApi;
const routes = new Map<string, Handler>();

beforeAll(async () => {
  [hostile, destination, api] = await Promise.all([
    startHostileRegistry({
      manifest: (reference) => (reference === 'good' || reference === goodDigest ? goodImage : undefined),
      blob: (digest) => (digest === sha256(configBytes) ? { bytes: configBytes } : digest === sha256(layerBytes) ? { bytes: layerBytes } : undefined),
      intercept: (req, res) => {
        const repository = /^\/v2\/([a-z0-9-]+\/[a-z0-9-]+)\//.exec(req.url)?.[1];
        const route = repository === undefined ? undefined : routes.get(repository);
        return route ? route(req, res) : false;
      },
    }),
    startRegistry(),
    startApi(),
  ]);
  proxy = await startFaultProxy(destination.url);
});

afterAll(async () => {
  await api?.stop();
  await proxy?.stop();
  await Promise.all([hostile?.stop(), destination?.stop()]);
});

/** Requests the hostile registry saw for one repository, as 'METHOD path'. */
function sourceRequests(repository: string): string[] {
  return hostile.requests.filter((r) => r.url.startsWith(`/v2/${repository}/`)).map((r) => `${r.method} ${r.url.split('?')[0]}`);
}

/** Requests the destination saw outside the one repository it was asked to write (and the /v2/ ping). */
function strayDestinationRequests(repository: string): string[] {
  return proxy.requests.filter((r) => r.url !== '/v2/' && !r.url.startsWith(`/v2/${repository}/`)).map((r) => `${r.method} ${r.url}`);
}

const clients = () => new RegistryClients({ transport: undiciTransport(), isInsecure: insecureHosts(undefined), retry: { retries: 0, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterMs: 0 } });

async function copyError(source: string, target: string): Promise<Error> {
  const error = await copy(source, target).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'the copy should fail').toBeInstanceOf(Error);
  return error as Error;
}

describe('descriptor digests that climb out of their path', () => {
  it.each<[label: string, repository: string, content: Content, field: string]>([
    ['a layer', 'trav/layer', traversalLayer, 'layers[0].digest'],
    ['the config', 'trav/config', traversalConfig, 'config.digest'],
    ['an index entry', 'trav/index', traversalIndex, 'manifests[1].digest'],
  ])('%s: the copy fails naming the registry and the field, and the destination sees no request outside its repository', async (_label, repository, content, field) => {
    routes.set(repository, manifestRoute('v1', content));
    proxy.clear();
    const error = await copyError(`${hostile.host}/${repository}:v1`, `${proxy.host}/mirror/${repository.replace('/', '-')}:v1`);
    expect(error).toBeInstanceOf(RegistryProtocolError);
    expect((error as RegistryProtocolError).registry).toBe(hostile.host);
    expect((error as RegistryProtocolError).field).toBe(field);
    expect(error.message).toContain(`${hostile.host}: get manifest ${repository}:v1: ${field}: invalid digest`);
    expect(strayDestinationRequests(`mirror/${repository.replace('/', '-')}`)).toEqual([]);
    expect(proxy.requests.some((r) => r.url.includes('victim'))).toBe(false);
    // The source was asked for its manifest and nothing else: no blob under a normalised path.
    expect(sourceRequests(repository).every((r) => /^GET \/v2\/trav\/[a-z]+\/manifests\/v1$/.test(r))).toBe(true);
    expect(hostile.requests.some((r) => r.url.includes('victim'))).toBe(false);
  });

  it('through the API: 502 naming the registry and layers[0].digest, no record, no stray request', async () => {
    routes.set('trav/api', manifestRoute('v1', traversalLayer));
    proxy.clear();
    const answer = await api.call('POST', '/v1/images', { source: `${hostile.host}/trav/api:v1`, destination: `${proxy.host}/mirror/trav-api:v1` });
    expect(answer.status).toBe(502);
    expect(answer.json.type).toBe('urn:imagesync:problem:registry-failed');
    expect(answer.json.detail).toContain(hostile.host);
    expect(answer.json.detail).toContain('layers[0].digest');
    expect(strayDestinationRequests('mirror/trav-api')).toEqual([]);
    expect(proxy.requests.some((r) => r.url.includes('victim'))).toBe(false);
    const list = await api.call('GET', '/v1/images?limit=1000');
    expect(list.json.items.some((r: { destination: string }) => r.destination.includes('trav-api'))).toBe(false);
  });
});

describe('manifests that are not manifests', () => {
  it('not JSON: copy and API fail with a protocol error (502), not a 500', async () => {
    routes.set('bad/notjson', manifestRoute('v1', notJson));
    const error = await copyError(`${hostile.host}/bad/notjson:v1`, `${proxy.host}/mirror/notjson:v1`);
    expect(error).toBeInstanceOf(RegistryProtocolError);
    expect(error.message).toBe(`${hostile.host}: get manifest bad/notjson:v1: the manifest is not JSON`);
    const answer = await api.call('POST', '/v1/images', { source: `${hostile.host}/bad/notjson:v1`, destination: `${proxy.host}/mirror/notjson:v1` });
    expect(answer.status).toBe(502);
    expect(answer.json.detail).toBe(`${hostile.host}: get manifest bad/notjson:v1: the manifest is not JSON`);
  });

  it('50 MB announced in Content-Length: refused before reading, 502', async () => {
    routes.set('huge/declared', hugeRoute('huge/declared', true));
    const answer = await api.call('POST', '/v1/images', { source: `${hostile.host}/huge/declared:v1`, destination: `${proxy.host}/mirror/huge-declared:v1` });
    expect(answer.status).toBe(502);
    expect(answer.json.detail).toContain(`${hostile.host}: get manifest huge/declared:v1: Content-Length: the manifest is 52428800 bytes`);
    const sent = hugeSent.get('huge/declared')!;
    expect(sent.finished).toBe(false);
    expect(sent.sent).toBeLessThan(HUGE / 2);
  });

  it('50 MB streamed without a length: the read stops near the 4 MiB cap, 502', async () => {
    routes.set('huge/chunked', hugeRoute('huge/chunked', false));
    const error = await copyError(`${hostile.host}/huge/chunked:v1`, `${proxy.host}/mirror/huge-chunked:v1`);
    expect(error).toBeInstanceOf(RegistryProtocolError);
    expect(error.message).toBe(`${hostile.host}: get manifest huge/chunked:v1: the manifest is larger than the 4194304 bytes registries accept`);
    const copied = hugeSent.get('huge/chunked')!;
    expect(copied.finished).toBe(false);
    // 4 MiB read plus what socket buffers held when the reader hung up: far from 50 MB.
    expect(copied.sent).toBeLessThan(HUGE / 2);

    const answer = await api.call('POST', '/v1/images', { source: `${hostile.host}/huge/chunked:v1`, destination: `${proxy.host}/mirror/huge-chunked:v1` });
    expect(answer.status).toBe(502);
    expect(answer.json.detail).toContain('larger than the 4194304 bytes');
    expect(hugeSent.get('huge/chunked')!.sent).toBeLessThan(HUGE / 2);
  });
});

describe('Docker-Content-Digest', () => {
  it('missing on HEAD: the API falls back to a GET and answers 201, as the CLI copy does', async () => {
    routes.set('hdr/nodigest', (req, res) => {
      if (req.method !== 'HEAD' || !req.url.includes('/manifests/')) return false;
      return send(res, 200, { 'content-type': OCI_MANIFEST, 'content-length': goodImage.bytes.byteLength });
    });
    const created = await api.call('POST', '/v1/images', { source: `${hostile.host}/hdr/nodigest:good`, destination: `${proxy.host}/mirror/nodigest:v1` });
    expect(created.status, created.text).toBe(201);
    expect(created.json.source_digest).toBe(goodDigest);
    expect(created.json.image).toBe(`${proxy.host}/mirror/nodigest@${goodDigest}`);
    const landed = await readManifest(destination, 'mirror/nodigest', 'v1');
    expect(landed.digestHeader).toBe(goodDigest);
    // The fallback: a GET of the tag right after the HEAD that did not say.
    const seen = sourceRequests('hdr/nodigest');
    expect(seen.slice(0, 2)).toEqual(['HEAD /v2/hdr/nodigest/manifests/good', 'GET /v2/hdr/nodigest/manifests/good']);

    const cli = await copy(`${hostile.host}/hdr/nodigest:good`, `${proxy.host}/mirror/nodigest-cli:v1`);
    expect(cli.result.digest).toBe(created.json.source_digest);
  });

  it.each([
    ['a traversal', 'hdr/climb', `${ZEROS}/../../../victim/app/manifests/v1`],
    ['upper-case hex', 'hdr/upper', `sha256:${'A'.repeat(64)}`],
    ['a truncated value', 'hdr/short', 'sha256:abc'],
  ])('malformed (%s): 502 naming the registry and the header, never used in a URL', async (_label, repository, header) => {
    routes.set(repository, manifestRoute('good', goodImage, { head: { 'docker-content-digest': header }, get: { 'docker-content-digest': header } }));
    proxy.clear();
    const answer = await api.call('POST', '/v1/images', { source: `${hostile.host}/${repository}:good`, destination: `${proxy.host}/mirror/${repository.replace('/', '-')}:v1` });
    expect(answer.status).toBe(502);
    expect(answer.json.detail).toContain(`${hostile.host}: HEAD manifest ${repository}:good: Docker-Content-Digest: invalid digest`);
    expect(hostile.requests.some((r) => r.url.includes('victim'))).toBe(false);
    expect(proxy.requests).toEqual([]);
    // The CLI copy (GET) refuses the same header.
    const error = await copyError(`${hostile.host}/${repository}:good`, `${proxy.host}/mirror/${repository.replace('/', '-')}:v1`);
    expect(error).toBeInstanceOf(RegistryProtocolError);
    expect((error as RegistryProtocolError).field).toBe('Docker-Content-Digest');
  });
});

describe('a missing source', () => {
  it("carries the registry's own code (MANIFEST_UNKNOWN), in the API's lookup as in the CLI copy", async () => {
    const ref = parseReference(`${hostile.host}/gone/app:nope`);
    const lookup = await lookupSource(clients(), ref);
    expect('missing' in lookup).toBe(true);
    const missing = (lookup as { missing: NotFoundError }).missing;
    expect(missing.code).toBe('MANIFEST_UNKNOWN');
    const cli = await copyError(`${hostile.host}/gone/app:nope`, `${proxy.host}/mirror/gone:v1`);
    expect(cli).toBeInstanceOf(SourceNotFoundError);
    expect(cli.message).toContain('404 MANIFEST_UNKNOWN');
    expect(new SourceNotFoundError(ref, missing).message).toBe(cli.message);
  });

  it('the API answers 422', async () => {
    const answer = await api.call('POST', '/v1/images', { source: `${hostile.host}/gone/api:nope`, destination: `${proxy.host}/mirror/gone-api:v1` });
    expect(answer.status).toBe(422);
    expect(answer.json.detail).toContain(`${hostile.host}/gone/api:nope`);
  });
});

describe('tag lists', () => {
  it('a "../" tag: the listing is refused whole and nothing is HEADed', async () => {
    routes.set('tags/climb', tagsRoute(() => ({ tags: ['v1', '../../../victim/app/manifests/v1'] })));
    const client = clients().get(hostile.host);
    const error = await taggedContents(client, 'tags/climb').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RegistryProtocolError);
    expect((error as Error).message).toContain(`${hostile.host}: list tags of tags/climb: tags[1]: invalid tag`);
    expect(sourceRequests('tags/climb')).toEqual(['GET /v2/tags/climb/tags/list']);
    expect(hostile.requests.some((r) => r.url.includes('victim'))).toBe(false);
  });

  it('an endless Link chain stops at the page bound', async () => {
    routes.set('tags/endless', tagsRoute((n) => ({ tags: [`t${n}`], link: `/v2/tags/endless/tags/list?n=1000&last=t${n}` })));
    const started = Date.now();
    const error = await listTags(clients().get(hostile.host), 'tags/endless').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RegistryProtocolError);
    expect((error as Error).message).toBe(`${hostile.host}: list tags of tags/endless (page ${TAG_LIST_LIMITS.pages + 1}): Link: more than ${TAG_LIST_LIMITS.pages} pages of tags`);
    expect(sourceRequests('tags/endless')).toHaveLength(TAG_LIST_LIMITS.pages);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('a Link to another origin is not followed (the destination proxy sees nothing)', async () => {
    routes.set('tags/away', tagsRoute(() => ({ tags: ['v1'], link: `http://${proxy.host}/v2/tags/away/tags/list?last=v1` })));
    proxy.clear();
    const error = await listTags(clients().get(hostile.host), 'tags/away').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RegistryProtocolError);
    expect((error as Error).message).toContain(`Link: the next page is on another origin (${proxy.host})`);
    expect(proxy.requests).toEqual([]);
  });

  it('a Link outside /v2/ on the same origin is not followed', async () => {
    routes.set('tags/admin', tagsRoute(() => ({ tags: ['v1'], link: '/admin/purge?all=1' })));
    const error = await listTags(clients().get(hostile.host), 'tags/admin').catch((e: unknown) => e);
    expect((error as Error).message).toContain('Link: the next page is not /v2/tags/admin/tags/list');
    expect(hostile.requests.some((r) => r.url.startsWith('/admin'))).toBe(false);
  });

  it('a page that is not JSON is a protocol error', async () => {
    routes.set('tags/html', (req, res) => (req.url.includes('/tags/list') ? send(res, 200, { 'content-type': 'text/html' }, '<html>') : false));
    const error = await listTags(clients().get(hostile.host), 'tags/html').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryProtocolError);
    expect((error as Error).message).toBe(`${hostile.host}: list tags of tags/html: the tag list is not JSON`);
  });
});
