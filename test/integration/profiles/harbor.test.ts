// Harbor (the `harbor` profile, chosen by configuration: IMAGESYNC_REGISTRY_PROFILES=host=harbor) as
// source and destination, signed in with a robot account (`robot$name`) from a Docker config.json,
// with Harbor's deletion emulated in front of the real registry (test/harness/quirks/harbor.ts):
// a tag DELETE is refused (400 UNSUPPORTED), a digest DELETE takes the artifact and its tags.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordId } from '../../../lib/api/ids.ts';
import { loadRegistryAuth } from '../../../lib/config/registry-auth.ts';
import { parseReference } from '../../../lib/reference/reference.ts';
import { readTextFile } from '../../../functions/node/read-file.ts';
import { undiciTransport, type LookupFunction } from '../../../functions/node/undici-transport.ts';
import { pushImage, pushManifest } from '../../harness/images.ts';
import { startQuirkProxy, type QuirkProxy } from '../../harness/quirk-proxy.ts';
import { harborQuirks, type HarborEmulation } from '../../harness/quirks/harbor.ts';
import { rawFetch } from '../../harness/raw-client.ts';
import { getManifest, headManifest } from '../../harness/registry-api.ts';
import { tagsOf } from '../../harness/registry-ops.ts';
import { startRegistry, type RunningRegistry } from '../../harness/registry.ts';
import { startApi, type RunningApi } from '../api-support.ts';
import { expectCopied } from '../support.ts';
import { runScenario } from './scenario.ts';

const HARBOR = 'harbor.corp.test';
const lookup: LookupFunction = (hostname, _options, callback) => {
  if (hostname === HARBOR) return callback(null, [{ address: '127.0.0.1', family: 4 }]);
  callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
};
const transport = undiciTransport({ lookup });
const robot = { username: 'robot$imagesync', password: `Hb${crypto.randomUUID()}` };

let plain: RunningRegistry;
let backend: RunningRegistry;
let harbor: HarborEmulation;
let front: QuirkProxy;
let api: RunningApi;

const host = () => `${HARBOR}:${front.port}`;
const id = (reference: string) => recordId(parseReference(reference));

beforeAll(async () => {
  plain = await startRegistry();
  backend = await startRegistry({ auth: 'htpasswd', users: { [robot.username]: robot.password } });
  harbor = harborQuirks(backend);
  front = await startQuirkProxy(backend.url, harbor.quirks);
  // As `docker login` stores it: base64 of `robot$imagesync:password`.
  const dir = await mkdtemp(join(tmpdir(), 'imagesync-harbor-'));
  const config = join(dir, 'config.json');
  await writeFile(config, JSON.stringify({ auths: { [host()]: { auth: Buffer.from(`${robot.username}:${robot.password}`).toString('base64') } } }));
  api = await startApi({
    env: { IMAGESYNC_INSECURE_REGISTRIES: HARBOR, IMAGESYNC_REGISTRY_PROFILES: `${HARBOR}=harbor` },
    transport,
    credentialStore: await loadRegistryAuth({ HOME: '/nonexistent', IMAGESYNC_REGISTRY_AUTH: config }, readTextFile),
  });
});
afterAll(async () => {
  await api?.stop();
  await front?.stop();
  await transport.close();
  await Promise.all([plain?.stop(), backend?.stop()]);
});

/** The user names of the Basic credentials the registry was sent. */
const basicUsers = () => new Set(front.requests.map((r) => r.headers.authorization).filter((a) => a?.startsWith('Basic ')).map((a) => Buffer.from(a!.slice(6), 'base64').toString().split(':')[0]));

describe('Harbor', () => {
  it('is the harbor profile by configuration', () => {
    expect(api.server.clients.get(host()).profile.name).toBe('harbor');
  });

  it('a robot account pulls: the scenario with Harbor as source', async () => {
    front.clear();
    await runScenario({
      api,
      repository: 'profile/harbor-src',
      source: { push: (repo, tag) => pushImage(backend, repo, tag, { format: 'docker', layers: 2 }), reference: (repo, tag) => `${host()}/${repo}:${tag}` },
      destination: { reference: (repo, tag) => `${plain.host}/${repo}:${tag}`, registry: plain, uploads: () => 0 },
      deletion: 'removes',
    });
    expect(basicUsers()).toEqual(new Set([robot.username]));
  });

  it('a robot account pushes: create, re-copy, check after the source moved', async () => {
    front.clear();
    const destination = `${host()}/harbor/push:v1`;
    let pushed = await pushImage(plain, 'harbor/push', 'v1', { format: 'oci', layers: 2 });
    const created = await api.call('POST', '/v1/images', { source: `${plain.host}/harbor/push:v1`, destination });
    expect(created.status, created.text).toBe(201);
    await expectCopied(pushed, plain, 'harbor/push', backend, 'harbor/push', 'v1');
    const uploads = front.count('PUT', /\/blobs\/uploads\//);
    expect(uploads).toBe(3);
    expect((await api.call('POST', '/v1/images', { source: `${plain.host}/harbor/push:v1`, destination })).status).toBe(200);
    expect(front.count('PUT', /\/blobs\/uploads\//)).toBe(uploads);
    pushed = await pushImage(plain, 'harbor/push', 'v1', { format: 'oci', layers: 2 });
    expect(await api.server.check()).toMatchObject({ synced: 1, failed: 0 });
    await expectCopied(pushed, plain, 'harbor/push', backend, 'harbor/push', 'v1');
    expect(basicUsers()).toEqual(new Set([robot.username]));
  });

  it('emulation: a tag DELETE is refused (400 UNSUPPORTED) once signed in, a digest DELETE takes the artifact and its tags', async () => {
    const pushed = await pushImage(backend, 'harbor/emulation', 'one', { format: 'oci', layers: 1 });
    await pushManifest(backend, 'harbor/emulation', 'two', pushed.manifest, pushed.mediaType);
    expect((await fetch(`${front.url}/v2/harbor/emulation/manifests/one`, { method: 'DELETE' })).status).toBe(401);
    const target = { url: front.url, auth: robot };
    const byTag = await rawFetch(target, '/v2/harbor/emulation/manifests/one', { method: 'DELETE' });
    expect(byTag.status).toBe(400);
    expect(await byTag.json()).toEqual({ errors: [{ code: 'UNSUPPORTED', message: 'unsupported digest one: invalid checksum digest format' }] });
    expect(harbor.tagRefusals).toContain('harbor/emulation:one');
    expect((await tagsOf(backend, 'harbor/emulation')).size).toBe(2);
    const byDigest = await rawFetch(target, `/v2/harbor/emulation/manifests/${pushed.digest}`, { method: 'DELETE' });
    expect(byDigest.status).toBe(202);
    expect((await tagsOf(backend, 'harbor/emulation')).size).toBe(0);
  });

  // Harbor refuses a tag DELETE with 400 UNSUPPORTED (the OCI spec allows 400 or 405 when tag
  // deletion is disabled): deleteTag reads any 400 as "delete by digest only".
  it('as destination: the scenario (deletion moves the tag to a throwaway first)', async () => {
    await runScenario({
      api,
      repository: 'profile/harbor-dest',
      source: { push: (repo, tag) => pushImage(plain, repo, tag, { format: 'oci', layers: 2 }), reference: (repo, tag) => `${plain.host}/${repo}:${tag}` },
      destination: { reference: (repo, tag) => `${host()}/${repo}:${tag}`, registry: backend, uploads: () => front.count('PUT', /\/blobs\/uploads\//) },
      deletion: 'removes',
    });
  });

  it('deleting a record: the refused tag is moved to a throwaway, another tag on the image stays, the image goes with its last tag', async () => {
    const pushed = await pushImage(plain, 'harbor/delete', 'v1', { format: 'oci', layers: 1 });
    const kept = `${host()}/harbor/delete:kept`;
    const gone = `${host()}/harbor/delete:gone`;
    for (const destination of [kept, gone]) expect((await api.call('POST', '/v1/images', { source: `${plain.host}/harbor/delete:v1`, destination })).status).toBe(201);
    harbor.tagRefusals.length = 0;
    front.clear();
    const deleted = await api.call('DELETE', `/v1/images/${id(gone)}`);
    expect(deleted.status, deleted.text).toBe(204);
    expect(harbor.tagRefusals).toEqual(['harbor/delete:gone']);
    expect(front.count('PUT', /\/manifests\/gone$/)).toBe(1);
    expect((await headManifest(backend, 'harbor/delete', 'gone')).status).toBe(404);
    expect((await headManifest(backend, 'harbor/delete', 'kept')).digestHeader).toBe(pushed.digest);
    const last = await api.call('DELETE', `/v1/images/${id(kept)}`);
    expect(last.status, last.text).toBe(204);
    expect((await getManifest(backend, 'harbor/delete', pushed.digest)).status).toBe(404);
  });
});
