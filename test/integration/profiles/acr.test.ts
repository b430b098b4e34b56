// Azure Container Registry (the `acr` profile, chosen by host name) as destination and as source,
// with its documented behaviours emulated in front of the real registry (test/harness/quirks/acr.ts):
// MANIFEST_UNKNOWN for a manifest whose type the Accept header lacks, and a token realm that
// refuses a request carrying more scopes than its header limits take. Signed in as `az acr login`
// does: an identity (refresh) token exchanged at /oauth2/token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordId } from '../../../lib/api/ids.ts';
import { parseReference } from '../../../lib/reference/reference.ts';
import { acr } from '../../../lib/registry/profiles/acr.ts';
import { undiciTransport, type LookupFunction } from '../../../functions/node/undici-transport.ts';
import { MEDIA_TYPES, pushImage, pushIndex, type PushedIndex } from '../../harness/images.ts';
import { startQuirkProxy, type QuirkProxy } from '../../harness/quirk-proxy.ts';
import { acceptedTypes, acrQuirks, type AcrEmulation } from '../../harness/quirks/acr.ts';
import { rawFetch } from '../../harness/raw-client.ts';
import { startRegistry, type RunningRegistry } from '../../harness/registry.ts';
import { startApi, type RunningApi } from '../api-support.ts';
import { expectCopied } from '../support.ts';
import { runScenario } from './scenario.ts';

const ACR = 'imagesync.azurecr.io';
const lookup: LookupFunction = (hostname, _options, callback) => {
  if (hostname === ACR) return callback(null, [{ address: '127.0.0.1', family: 4 }]);
  callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
};
const transport = undiciTransport({ lookup });
const admin = { username: 'imagesync', password: crypto.randomUUID() };
const refreshToken = `acr-refresh-${crypto.randomUUID()}`;

let plain: RunningRegistry;
let backend: RunningRegistry;
let emulation: AcrEmulation;
let front: QuirkProxy;
let api: RunningApi;

const host = () => `${ACR}:${front.port}`;
const id = (reference: string) => recordId(parseReference(reference));
const ALL_TYPES = [MEDIA_TYPES.oci.index, MEDIA_TYPES.oci.manifest, MEDIA_TYPES.docker.index, MEDIA_TYPES.docker.manifest];

beforeAll(async () => {
  plain = await startRegistry();
  backend = await startRegistry({ auth: 'token', users: { [admin.username]: admin.password }, token: { refreshTokens: { [refreshToken]: admin.username } } });
  emulation = acrQuirks(backend, backend.tokenServer!, acr.maxScopesPerToken);
  front = await startQuirkProxy(backend.url, emulation.quirks);
  api = await startApi({ env: { IMAGESYNC_INSECURE_REGISTRIES: ACR }, transport, credentials: { [host()]: { kind: 'identity', token: refreshToken } } });
});
afterAll(async () => {
  await api?.stop();
  await front?.stop();
  await transport.close();
  await Promise.all([plain?.stop(), backend?.stop()]);
});

/** Every manifest GET and HEAD that reached the registry listed all four types. */
function expectFullAccept(): void {
  const manifestReads = front.requests.filter((r) => (r.method === 'GET' || r.method === 'HEAD') && /\/manifests\//.test(r.path));
  expect(manifestReads.length).toBeGreaterThan(0);
  for (const read of manifestReads) expect(acceptedTypes(read.headers.accept), `${read.method} ${read.path}`).toEqual(expect.arrayContaining(ALL_TYPES));
  expect(emulation.acceptRefusals).toEqual([]);
}

describe('ACR', () => {
  it('is the acr profile', () => {
    expect(api.server.clients.get(host()).profile.name).toBe('acr');
  });

  it('as destination: the scenario, every manifest request with the full Accept', async () => {
    front.clear();
    await runScenario({
      api,
      repository: 'profile/acr-dest',
      source: { push: (repo, tag) => pushImage(plain, repo, tag, { format: 'oci', layers: 2 }), reference: (repo, tag) => `${plain.host}/${repo}:${tag}` },
      destination: { reference: (repo, tag) => `${host()}/${repo}:${tag}`, registry: backend, uploads: () => front.count('PUT', /\/blobs\/uploads\//) },
      deletion: 'removes',
    });
    expectFullAccept();
  });

  it('as source: the scenario, every manifest request with the full Accept', async () => {
    front.clear();
    await runScenario({
      api,
      repository: 'profile/acr-src',
      source: { push: (repo, tag) => pushImage(backend, repo, tag, { format: 'docker', layers: 2 }), reference: (repo, tag) => `${host()}/${repo}:${tag}` },
      destination: { reference: (repo, tag) => `${plain.host}/${repo}:${tag}`, registry: plain, uploads: () => 0 },
      deletion: 'removes',
    });
    expectFullAccept();
  });

  describe('MANIFEST_UNKNOWN when Accept lacks the type (google/go-containerregistry#1697)', () => {
    let oci: PushedIndex;
    let docker: PushedIndex;
    beforeAll(async () => {
      oci = await pushIndex(backend, 'acr/types', 'oci', { format: 'oci' });
      docker = await pushIndex(backend, 'acr/types', 'docker', { format: 'docker' });
    });

    it('emulation: each of the four types is refused without its own type in Accept, served with it', async () => {
      const target = { url: front.url, auth: admin };
      const manifests: [string, string][] = [
        [MEDIA_TYPES.oci.index, oci.digest],
        [MEDIA_TYPES.oci.manifest, oci.children[0]!.digest],
        [MEDIA_TYPES.docker.index, docker.digest],
        [MEDIA_TYPES.docker.manifest, docker.children[0]!.digest],
      ];
      for (const [type, digest] of manifests) {
        const others = ALL_TYPES.filter((t) => t !== type).join(', ');
        const refused = await rawFetch(target, `/v2/acr/types/manifests/${digest}`, { headers: { accept: others } }, 'repository:acr/types:pull');
        expect(refused.status, type).toBe(404);
        const body = (await refused.json()) as { errors: { code: string; message: string }[] };
        expect(body.errors[0]!.code).toBe('MANIFEST_UNKNOWN');
        expect(body.errors[0]!.message).toMatch(/found, but accept header does not support/);
        const head = await rawFetch(target, `/v2/acr/types/manifests/${digest}`, { method: 'HEAD', headers: { accept: others } }, 'repository:acr/types:pull');
        expect(head.status, type).toBe(404);
        const served = await rawFetch(target, `/v2/acr/types/manifests/${digest}`, { headers: { accept: type } }, 'repository:acr/types:pull');
        expect(served.status, type).toBe(200);
        expect(served.headers.get('content-type')).toBe(type);
        await served.body?.cancel();
      }
      emulation.acceptRefusals.length = 0;
    });

    it('copies and checks every type, from and to ACR', async () => {
      front.clear();
      for (const [tag, pushed] of [['oci', oci], ['docker', docker]] as const) {
        // From ACR, then back into another ACR repository.
        const out = `${plain.host}/acr/types:${tag}`;
        const back = `${host()}/acr/types-back:${tag}`;
        const first = await api.call('POST', '/v1/images', { source: `${host()}/acr/types:${tag}`, destination: out });
        expect(first.status, first.text).toBe(201);
        await expectCopied(pushed, backend, 'acr/types', plain, 'acr/types', tag);
        const second = await api.call('POST', '/v1/images', { source: out, destination: back });
        expect(second.status, second.text).toBe(201);
        await expectCopied(pushed, plain, 'acr/types', backend, 'acr/types-back', tag);
      }
      expect(await api.server.check()).toMatchObject({ checked: 4, unchanged: 4, failed: 0 });
      expectFullAccept();
      for (const tag of ['oci', 'docker']) {
        await api.call('DELETE', `/v1/images/${id(`${plain.host}/acr/types:${tag}`)}`);
        await api.call('DELETE', `/v1/images/${id(`${host()}/acr/types-back:${tag}`)}`);
      }
    });
  });

  describe('scopes per token request', () => {
    it(`emulation: a token request with more than ${acr.maxScopesPerToken} scopes is refused`, async () => {
      const scopes = Array.from({ length: acr.maxScopesPerToken + 1 }, (_, i) => `scope=repository:acr/r${i}:pull`).join('&');
      const refused = await fetch(`${front.url}/oauth2/token?service=${backend.tokenServer!.service}&${scopes}`, { headers: { authorization: `Basic ${btoa(`${admin.username}:${admin.password}`)}` } });
      expect(refused.status).toBe(400);
      expect(await refused.text()).toContain('Request Header Or Cookie Too Large');
      const fewer = scopes.split('&').slice(1).join('&');
      expect((await fetch(`${front.url}/oauth2/token?service=${backend.tokenServer!.service}&${fewer}`, { headers: { authorization: `Basic ${btoa(`${admin.username}:${admin.password}`)}` } })).status).toBe(200);
    });

    it(`a copy within the registry mounts, and no token request carries more than ${acr.maxScopesPerToken} scopes`, async () => {
      const pushed = await pushImage(backend, 'acr/mount-from', 'v1', { format: 'oci', layers: 2 });
      front.clear();
      emulation.token.requests.length = 0;
      const answer = await api.call('POST', '/v1/images', { source: `${host()}/acr/mount-from:v1`, destination: `${host()}/acr/mount-to:v1` });
      expect(answer.status, answer.text).toBe(201);
      await expectCopied(pushed, backend, 'acr/mount-from', backend, 'acr/mount-to', 'v1');
      expect(front.requests.filter((r) => r.url.includes('mount=')).length).toBe(3);
      // The identity token was exchanged (POST) for every token, two repositories at most in one.
      expect(emulation.token.requests.length).toBeGreaterThan(0);
      for (const request of emulation.token.requests) {
        expect(request.method).toBe('POST');
        expect(request.status).toBe(200);
        expect(request.scopes.length).toBeLessThanOrEqual(acr.maxScopesPerToken);
      }
      expect(Math.max(...emulation.token.requests.map((r) => r.scopes.length))).toBe(2);
      await api.call('DELETE', `/v1/images/${id(`${host()}/acr/mount-to:v1`)}`);
    });
  });
});
