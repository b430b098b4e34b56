// Artifact Registry and GCR (the `gar` profile, chosen by host name) as destination and as source,
// with their documented behaviours emulated in front of the real registry (test/harness/quirks/gar.ts):
// no chunked uploads, a token per repository, a read-only token refused at the upload, and a
// tagged digest that cannot be deleted while tag deletion works.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordId } from '../../../lib/api/ids.ts';
import { parseReference } from '../../../lib/reference/reference.ts';
import { undiciTransport, type LookupFunction } from '../../../functions/node/undici-transport.ts';
import { pushImage } from '../../harness/images.ts';
import { startQuirkProxy, type QuirkProxy } from '../../harness/quirk-proxy.ts';
import { rawFetch } from '../../harness/raw-client.ts';
import { getManifest, headManifest } from '../../harness/registry-api.ts';
import { tagsOf } from '../../harness/registry-ops.ts';
import { startRegistry, type RunningRegistry } from '../../harness/registry.ts';
import { garQuirks, repositoriesOf, type GarEmulation } from '../../harness/quirks/gar.ts';
import { startApi, type RunningApi } from '../api-support.ts';
import { expectCopied } from '../support.ts';
import { runScenario } from './scenario.ts';

// Three names for the one emulated registry: two Artifact Registry hosts (one signed in with a
// read-only key) and GCR. The resolution hook maps them to 127.0.0.1; nothing goes to DNS.
const AR = 'europe-docker.pkg.dev';
const AR_READ_ONLY = 'us-docker.pkg.dev';
const GCR = 'gcr.io';
const lookup: LookupFunction = (hostname, _options, callback) => {
  if ([AR, AR_READ_ONLY, GCR].includes(hostname)) return callback(null, [{ address: '127.0.0.1', family: 4 }]);
  callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
};
const transport = undiciTransport({ lookup });
const writer = { username: 'oauth2accesstoken', password: `ya29.${crypto.randomUUID()}` };
const reader = { username: '_json_key', password: JSON.stringify({ type: 'service_account', private_key_id: crypto.randomUUID() }) };

let plain: RunningRegistry;
let backend: RunningRegistry;
let gar: GarEmulation;
let front: QuirkProxy;
let api: RunningApi;
/** The same registries with the distribution profile for these hosts: what the quirks do to a client that ignores them. */
let unaware: RunningApi;

const at = (name: string) => `${name}:${front.port}`;

beforeAll(async () => {
  plain = await startRegistry();
  backend = await startRegistry({
    auth: 'token',
    users: { [writer.username]: writer.password, [reader.username]: reader.password },
    // The read-only key gets pull whatever it asks for.
    token: { authorize: (user, requested) => (user === undefined ? [] : user === reader.username ? requested.actions.filter((a) => a === 'pull') : requested.actions) },
  });
  gar = garQuirks(backend, backend.tokenServer!);
  front = await startQuirkProxy(backend.url, gar.quirks);
  const credentials = {
    [at(AR)]: { kind: 'basic' as const, ...writer },
    [at(GCR)]: { kind: 'basic' as const, ...writer },
    [at(AR_READ_ONLY)]: { kind: 'basic' as const, ...reader },
  };
  const insecure = [AR, AR_READ_ONLY, GCR].join(',');
  api = await startApi({ env: { IMAGESYNC_INSECURE_REGISTRIES: insecure }, transport, credentials });
  unaware = await startApi({ env: { IMAGESYNC_INSECURE_REGISTRIES: insecure, IMAGESYNC_REGISTRY_PROFILES: `${AR}=distribution` }, transport, credentials });
});
afterAll(async () => {
  await api?.stop();
  await unaware?.stop();
  await front?.stop();
  await transport.close();
  await Promise.all([plain?.stop(), backend?.stop()]);
});

const patches = () => front.count('PATCH', /\/blobs\/uploads\//);
const id = (reference: string) => recordId(parseReference(reference));

describe('Artifact Registry / GCR', () => {
  it('is the gar profile under both names', () => {
    expect(api.server.clients.get(at(AR)).profile.name).toBe('gar');
    expect(api.server.clients.get(at(GCR)).profile.name).toBe('gar');
  });

  it('as destination: the scenario, whole uploads only, tags deleted before the image', async () => {
    front.clear();
    await runScenario({
      api,
      repository: 'profile/gar-dest',
      source: { push: (repo, tag) => pushImage(plain, repo, tag, { format: 'oci', layers: 2 }), reference: (repo, tag) => `${plain.host}/${repo}:${tag}` },
      destination: { reference: (repo, tag) => `${at(AR)}/${repo}:${tag}`, registry: backend, uploads: () => front.count('PUT', /\/blobs\/uploads\//) },
      deletion: 'removes',
    });
    expect(patches()).toBe(0);
    // Both records' tags went by tag deletion, and no digest was deleted while still tagged.
    expect(gar.tags.deleted).toEqual(expect.arrayContaining(['profile/gar-dest:a', 'profile/gar-dest:b']));
    expect(gar.danglingRefusals).toEqual([]);
  });

  it('as source: the scenario, reading through gcr.io', async () => {
    await runScenario({
      api,
      repository: 'profile/gar-src',
      source: { push: (repo, tag) => pushImage(backend, repo, tag, { format: 'docker', layers: 2 }), reference: (repo, tag) => `${at(GCR)}/${repo}:${tag}` },
      destination: { reference: (repo, tag) => `${plain.host}/${repo}:${tag}`, registry: plain, uploads: () => 0 },
      deletion: 'removes',
    });
  });

  describe('no chunked uploads', () => {
    it('a body too large (413) fails saying the registry takes no chunks, and no PATCH is sent', async () => {
      await pushImage(plain, 'gar/big', 'v1', { format: 'oci', layers: 1, layerSize: 96 * 1024 });
      gar.maxBodyBytes = 32 * 1024;
      try {
        front.clear();
        const answer = await api.call('POST', '/v1/images', { source: `${plain.host}/gar/big:v1`, destination: `${at(AR)}/gar/big:v1` });
        expect(answer.status, answer.text).toBe(502);
        expect(answer.json.detail).toMatch(new RegExp(`^${at(AR)}: upload sha256:[0-9a-f]{64} to gar/big \\(this registry takes no chunked uploads\\) failed: 413`));
        expect(patches()).toBe(0);
        expect(front.count('PUT', /\/blobs\/uploads\//)).toBeGreaterThan(0);

        // A client unaware of it falls back to PATCH chunks, which the registry refuses.
        front.clear();
        const chunked = await unaware.call('POST', '/v1/images', { source: `${plain.host}/gar/big:v1`, destination: `${at(AR)}/gar/big:v1` });
        expect(chunked.status, chunked.text).toBe(502);
        expect(chunked.json.detail).toMatch(/405 UNSUPPORTED: chunked uploads are not supported/);
        expect(patches()).toBeGreaterThan(0);
      } finally {
        gar.maxBodyBytes = Number.POSITIVE_INFINITY;
      }
      await api.call('DELETE', `/v1/images/${id(`${at(AR)}/gar/big:v1`)}`);
      await unaware.call('DELETE', `/v1/images/${id(`${at(AR)}/gar/big:v1`)}`);
    });
  });

  describe('a token per repository', () => {
    it('a copy between two repositories of the registry mounts nothing and asks one repository per token', async () => {
      const pushed = await pushImage(backend, 'gar/one', 'v1', { format: 'oci', layers: 2 });
      front.clear();
      gar.token.requests.length = 0;
      const answer = await api.call('POST', '/v1/images', { source: `${at(AR)}/gar/one:v1`, destination: `${at(AR)}/gar/two:v1` });
      expect(answer.status, answer.text).toBe(201);
      await expectCopied(pushed, backend, 'gar/one', backend, 'gar/two', 'v1');
      expect(front.requests.filter((r) => r.url.includes('mount='))).toEqual([]);
      expect(gar.token.requests.length).toBeGreaterThan(0);
      expect(gar.token.requests.filter((r) => r.status !== 200)).toEqual([]);
      for (const request of gar.token.requests) expect(repositoriesOf(request.scopes).length, request.scopes.join(' ')).toBeLessThanOrEqual(1);
    });

    it('a client that mounts asks for two repositories in one token, and is refused', async () => {
      await pushImage(backend, 'gar/three', 'v1', { format: 'oci', layers: 1 });
      gar.token.requests.length = 0;
      const answer = await unaware.call('POST', '/v1/images', { source: `${at(AR)}/gar/three:v1`, destination: `${at(AR)}/gar/four:v1` });
      expect(answer.status, answer.text).toBe(502);
      expect(answer.json.detail).toMatch(/403 DENIED: a token covers one repository; asked for gar\/four, gar\/three/);
      expect(gar.token.requests.some((r) => r.status === 403 && repositoriesOf(r.scopes).length === 2)).toBe(true);
      await unaware.call('DELETE', `/v1/images/${id(`${at(AR)}/gar/four:v1`)}`);
    });
  });

  describe('a read-only token', () => {
    it('reads (a copy from the registry works)', async () => {
      const pushed = await pushImage(backend, 'gar/ro-src', 'v1', { format: 'docker', layers: 1 });
      const answer = await api.call('POST', '/v1/images', { source: `${at(AR_READ_ONLY)}/gar/ro-src:v1`, destination: `${plain.host}/gar/ro-copy:v1` });
      expect(answer.status, answer.text).toBe(201);
      await expectCopied(pushed, backend, 'gar/ro-src', plain, 'gar/ro-copy', 'v1');
      await api.call('DELETE', `/v1/images/${id(`${plain.host}/gar/ro-copy:v1`)}`);
    });

    it('gets 401 when an upload starts: the 502 names the upload and the refusal', async () => {
      await pushImage(plain, 'gar/ro', 'v1', { format: 'oci', layers: 1 });
      front.clear();
      const destination = `${at(AR_READ_ONLY)}/gar/ro:v1`;
      const answer = await api.call('POST', '/v1/images', { source: `${plain.host}/gar/ro:v1`, destination });
      expect(answer.status, answer.text).toBe(502);
      expect(answer.json.detail).toBe(`${at(AR_READ_ONLY)}: start upload to gar/ro failed: 401 UNAUTHORIZED: authentication required (the credentials for ${at(AR_READ_ONLY)} may not push to gar/ro: read-only credentials?)`);
      // It read first (the destination tag and the blobs), and was refused at the upload.
      expect(front.count('HEAD', /^\/v2\/gar\/ro\/manifests\/v1$/)).toBeGreaterThan(0);
      expect(front.count('HEAD', /^\/v2\/gar\/ro\/blobs\//)).toBeGreaterThan(0);
      expect(front.count('POST', /^\/v2\/gar\/ro\/blobs\/uploads\/$/)).toBeGreaterThan(0);
      expect(front.count('PUT', /./)).toBe(0);
      await api.call('DELETE', `/v1/images/${id(destination)}`);
    });
  });

  describe('deletion', () => {
    it('emulation: a digest still tagged is refused, a tag is deleted alone', async () => {
      const pushed = await pushImage(backend, 'gar/emulation', 'one', { format: 'oci', layers: 1 });
      const target = { url: front.url, auth: writer };
      const byDigest = await rawFetch(target, `/v2/gar/emulation/manifests/${pushed.digest}`, { method: 'DELETE' }, 'repository:gar/emulation:delete');
      expect(byDigest.status).toBe(400);
      expect(await byDigest.json()).toEqual({ errors: [{ code: 'GOOGLE_MANIFEST_DANGLING_TAG', message: 'Manifest is still referenced by tag: one' }] });
      await rawFetch(backend, `/v2/gar/emulation/manifests/two`, { method: 'PUT', headers: { 'content-type': pushed.mediaType }, body: pushed.manifest }, 'repository:gar/emulation:pull,push');
      const byTag = await rawFetch(target, '/v2/gar/emulation/manifests/one', { method: 'DELETE' }, 'repository:gar/emulation:delete');
      expect(byTag.status).toBe(202);
      expect(Object.fromEntries(await tagsOf(backend, 'gar/emulation'))).toEqual({ two: pushed.digest });
    });

    it('untags first, and deletes the image only once no tag holds it', async () => {
      const pushed = await pushImage(plain, 'gar/delete', 'v1', { format: 'oci', layers: 2 });
      const destination = `${at(AR)}/gar/delete:v1`;
      expect((await api.call('POST', '/v1/images', { source: `${plain.host}/gar/delete:v1`, destination })).status).toBe(201);
      front.clear();
      gar.danglingRefusals.length = 0;
      const deleted = await api.call('DELETE', `/v1/images/${id(destination)}`);
      expect(deleted.status, deleted.text).toBe(204);
      expect(deleted.headers.get('x-imagesync-left')).toBeNull();
      const deletes = front.requests.filter((r) => r.method === 'DELETE').map((r) => r.path);
      const tag = deletes.indexOf('/v2/gar/delete/manifests/v1');
      const image = deletes.indexOf(`/v2/gar/delete/manifests/${pushed.digest}`);
      expect(tag).toBeGreaterThanOrEqual(0);
      expect(image).toBeGreaterThan(tag);
      expect(gar.danglingRefusals).toEqual([]);
      // No throwaway was needed: nothing was pushed to delete the tag.
      expect(front.count('PUT', /\/manifests\//)).toBe(0);
      expect((await headManifest(backend, 'gar/delete', 'v1')).status).toBe(404);
      expect((await getManifest(backend, 'gar/delete', pushed.digest)).status).toBe(404);
    });
  });
});
