// GHCR, emulated from the documented behaviour: the real registry behind a proxy with GHCR's quirks
// (test/harness/quirks/ghcr.ts), reached as ghcr.io:PORT through a name-resolution hook, and a
// stand-in GitHub Packages API over that registry (test/harness/github-api.ts). The scenario as
// destination (deleting through the API, and without a token) and as source; then what the
// profile does about tokens that cannot delete, user-owned packages, a package's last version,
// multi-platform images, and GHCR's 4 MiB PATCH limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordId } from '../../../lib/api/ids.ts';
import type { Credential } from '../../../lib/auth/credentials.ts';
import { insecureHosts } from '../../../lib/config/insecure.ts';
import { copyImage } from '../../../lib/copy/image.ts';
import { parseReference } from '../../../lib/reference/reference.ts';
import { RegistryClients } from '../../../lib/registry/client.ts';
import { isGhcr } from '../../../lib/registry/profiles/ghcr.ts';
import { profileSelector } from '../../../lib/registry/profiles/index.ts';
import { distribution } from '../../../lib/registry/profiles/profile.ts';
import { undiciTransport, type LookupFunction } from '../../../functions/node/undici-transport.ts';
import { startGitHubApi, type GitHubApi } from '../../harness/github-api.ts';
import { MEDIA_TYPES, pushImage, pushIndex, pushManifest, randomLayer } from '../../harness/images.ts';
import { startQuirkProxy, type QuirkProxy } from '../../harness/quirk-proxy.ts';
import { GHCR_MAX_PATCH, ghcrQuirks, refuseWholeUploadsOver } from '../../harness/quirks/ghcr.ts';
import { rawFetch } from '../../harness/raw-client.ts';
import { getManifest } from '../../harness/registry-api.ts';
import { tagDigest, tagsOf } from '../../harness/registry-ops.ts';
import { startRegistry, type RunningRegistry } from '../../harness/registry.ts';
import { startApi, type RunningApi } from '../api-support.ts';
import { expectCopied } from '../support.ts';
import { runScenario } from './scenario.ts';

const MiB = 1024 * 1024;
const DELETES = `ghp_delete_${crypto.randomUUID()}`;
const CLASSIC_NO_DELETE = `ghp_rw_${crypto.randomUUID()}`;
const APP_NO_DELETE = `ghs_app_${crypto.randomUUID()}`;

/** ghcr.io (any port) resolves to loopback, where the quirk proxies listen. */
const lookup: LookupFunction = (hostname, _options, callback) => {
  if (hostname === 'ghcr.io' || hostname === '127.0.0.1') return callback(null, [{ address: '127.0.0.1', family: 4 }]);
  callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
};
const transport = undiciTransport({ lookup });

let plain: RunningRegistry;
let behind: RunningRegistry;
let front: QuirkProxy;
let github: GitHubApi;
let api: RunningApi;
/** The credential configured for ghcr.io; tests change it. */
let credential: Credential | undefined;

const ghcr = () => `ghcr.io:${front.port}`;
const token = (password: string): Credential => ({ kind: 'basic', username: 'mirror-bot', password });

beforeAll(async () => {
  [plain, behind] = await Promise.all([startRegistry(), startRegistry()]);
  front = await startQuirkProxy(behind.url, ghcrQuirks());
  github = await startGitHubApi(behind, { 'octo-org': 'orgs', octocat: 'users' });
  github.tokens.set(DELETES, { delete: true, scopes: ['delete:packages', 'read:packages', 'write:packages'] });
  github.tokens.set(CLASSIC_NO_DELETE, { delete: false, scopes: ['read:packages', 'write:packages'] });
  // An installation or Actions token says no scopes.
  github.tokens.set(APP_NO_DELETE, { delete: false });
  api = await startApi({
    transport,
    env: { IMAGESYNC_INSECURE_REGISTRIES: 'ghcr.io,127.0.0.1', IMAGESYNC_GITHUB_API_URL: github.url },
    credentialStore: (registry) => (isGhcr(registry) ? credential : undefined),
  });
});
afterAll(async () => {
  await api?.stop();
  await github?.stop();
  await front?.stop();
  await transport.close();
  await Promise.all([plain?.stop(), behind?.stop()]);
});

const uploads = () => front.count('PUT', /\/blobs\/uploads\//);
const idOf = (repository: string, tag: string) => recordId(parseReference(`${ghcr()}/${repository}:${tag}`));

/** A record mirroring a fresh image from the plain registry to ghcr.io; returns the image's digest. */
async function mirror(repository: string, tag: string): Promise<string> {
  const pushed = await pushImage(plain, repository, 'v1', { format: 'oci', layers: 1 });
  const created = await api.call('POST', '/v1/images', { source: `${plain.host}/${repository}:v1`, destination: `${ghcr()}/${repository}:${tag}` });
  expect(created.status, created.text).toBe(201);
  return pushed.digest;
}

async function remove(repository: string, tag: string): Promise<string[]> {
  const deleted = await api.call('DELETE', `/v1/images/${idOf(repository, tag)}`);
  expect(deleted.status, deleted.text).toBe(204);
  expect((await api.call('GET', `/v1/images/${idOf(repository, tag)}`)).status).toBe(404);
  return deleted.headers.get('x-imagesync-left')?.split('; ') ?? [];
}

const callsSince = (mark: number) => github.calls.slice(mark);

describe('GHCR scenario', () => {
  it('as destination, deleting through the GitHub Packages API (org-owned, package name with a slash)', async () => {
    credential = token(DELETES);
    const repository = 'octo-org/mirror/scenario';
    // Another version in the package: GitHub never deletes a package's last one (tested below).
    const keep = await pushImage(behind, repository, 'keep', { format: 'oci', layers: 1 });
    const mark = github.calls.length;
    const v2Deletes = front.count('DELETE', /\/manifests\//);
    await runScenario({
      api,
      repository,
      source: { push: (repo, tag) => pushImage(plain, repo, tag, { format: 'oci', layers: 2 }), reference: (repo, tag) => `${plain.host}/${repo}:${tag}` },
      destination: { reference: (repo, tag) => `${ghcr()}/${repo}:${tag}`, registry: behind, uploads },
      deletion: 'removes',
    });
    const deletes = callsSince(mark).filter((call) => call.method === 'DELETE');
    // The throwaways moving tags a and b, the image, and the image the moved source replaced.
    expect(deletes.length).toBeGreaterThanOrEqual(3);
    for (const call of deletes) {
      expect(call.status).toBe(204);
      expect(call.url).toMatch(/^\/orgs\/octo-org\/packages\/container\/mirror%2Fscenario\/versions\/\d+$/);
    }
    // GHCR's registry API refuses deletion (405): it was never asked.
    expect(front.count('DELETE', /\/manifests\//)).toBe(v2Deletes);
    expect(await tagsOf(behind, repository)).toEqual(new Map([['keep', keep.digest]]));
  });

  it('as destination without a token: each record goes, the images stay, and the answer says why', async () => {
    credential = undefined;
    const repository = 'octo-org/no-token';
    const mark = github.calls.length;
    await runScenario({
      api,
      repository,
      source: { push: (repo, tag) => pushImage(plain, repo, tag, { format: 'docker', layers: 1 }), reference: (repo, tag) => `${plain.host}/${repo}:${tag}` },
      destination: { reference: (repo, tag) => `${ghcr()}/${repo}:${tag}`, registry: behind, uploads },
      deletion: { leaves: /ghcr\.io:\d+\/octo-org\/no-token:a stays: deleting on ghcr\.io:\d+ needs a GitHub token with delete:packages \(no credentials configured for ghcr\.io:\d+\)/ },
    });
    expect(callsSince(mark)).toEqual([]);
    expect([...(await tagsOf(behind, repository)).keys()].sort()).toEqual(['a', 'b']);
  });

  it('as source: the same, reading through the profile', async () => {
    credential = token(DELETES);
    await runScenario({
      api,
      repository: 'octo-org/scenario-src',
      source: { push: (repo, tag) => pushImage(behind, repo, tag, { format: 'docker', layers: 2 }), reference: (repo, tag) => `${ghcr()}/${repo}:${tag}` },
      destination: { reference: (repo, tag) => `${plain.host}/${repo}:${tag}`, registry: plain, uploads: () => 0 },
      deletion: 'removes',
    });
  });
});

describe('GHCR deletion', () => {
  it('a classic token without delete:packages changes nothing, not even the tag', async () => {
    credential = token(CLASSIC_NO_DELETE);
    const repository = 'octo-org/classic';
    const image = await mirror(repository, 'a');
    const mark = github.calls.length;
    const manifestPuts = front.count('PUT', /\/manifests\//);
    const left = await remove(repository, 'a');
    expect(left).toEqual([
      `${ghcr()}/${repository}:a stays: deleting on ${ghcr()} needs a GitHub token with delete:packages (the token's scopes are read:packages, write:packages)`,
      `${ghcr()}/${repository}@${image} stays: deleting on ${ghcr()} needs a GitHub token with delete:packages (the token's scopes are read:packages, write:packages)`,
    ]);
    expect(front.count('PUT', /\/manifests\//)).toBe(manifestPuts);
    expect(callsSince(mark).map((call) => call.method)).toEqual(['GET']);
    expect(await tagDigest(behind, repository, 'a')).toBe(image);
  });

  it('a token GitHub does not know (401): nothing changes', async () => {
    credential = token(DELETES);
    const repository = 'octo-org/unknown-token';
    const image = await mirror(repository, 'a');
    credential = token('ghp_revoked');
    expect(await remove(repository, 'a')).toEqual([
      `${ghcr()}/${repository}:a stays: deleting on ${ghcr()} needs a GitHub token with delete:packages (the API answered 401)`,
      `${ghcr()}/${repository}@${image} stays: deleting on ${ghcr()} needs a GitHub token with delete:packages (the API answered 401)`,
    ]);
    expect(await tagDigest(behind, repository, 'a')).toBe(image);
  });

  it('a token the API refuses at the DELETE (no scopes said): the tag is put back on its image', async () => {
    credential = token(APP_NO_DELETE);
    const repository = 'octo-org/app-token';
    const image = await mirror(repository, 'a');
    const mark = github.calls.length;
    const left = await remove(repository, 'a');
    expect(left[0]).toBe(`${ghcr()}/${repository}:a stays: deleting on ${ghcr()} needs a GitHub token with delete:packages (the API answered 403)`);
    expect(left[1]).toMatch(new RegExp(`^${ghcr()}/${repository}@sha256:[0-9a-f]{64} \\(an untagged throwaway manifest pushed to move the tag\\) stays: deleting on `));
    expect(left[2]).toBe(`${ghcr()}/${repository}@${image} stays: deleting on ${ghcr()} needs a GitHub token with delete:packages (the API answered 403)`);
    expect(callsSince(mark).filter((call) => call.method === 'DELETE').map((call) => call.status)).toEqual([403]);
    expect(await tagDigest(behind, repository, 'a')).toBe(image);
  });

  it('a user-owned package: the organization endpoint answers 404, the user one is used', async () => {
    credential = token(DELETES);
    const repository = 'octocat/tool';
    await pushImage(behind, repository, 'keep', { format: 'oci', layers: 1 });
    const image = await mirror(repository, 'a');
    const mark = github.calls.length;
    expect(await remove(repository, 'a')).toEqual([]);
    const calls = callsSince(mark);
    expect(calls[0]).toMatchObject({ method: 'GET', status: 404 });
    expect(calls[0]!.url).toMatch(/^\/orgs\/octocat\//);
    expect(calls.slice(1).every((call) => call.url.startsWith('/users/octocat/packages/container/tool/versions'))).toBe(true);
    expect(calls.filter((call) => call.method === 'DELETE').map((call) => call.status)).toEqual([204, 204]);
    expect(await tagDigest(behind, repository, 'a')).toBeUndefined();
    expect((await getManifest(behind, repository, image)).status).toBe(404);
  });

  it("a package's last version stays (GitHub refuses it), untagged, and the answer says how to remove it", async () => {
    credential = token(DELETES);
    const repository = 'octo-org/only';
    const image = await mirror(repository, 'a');
    const mark = github.calls.length;
    expect(await remove(repository, 'a')).toEqual([
      `${ghcr()}/${repository}@${image} stays: GitHub does not delete the last version of a package (delete the package ${repository} to remove it)`,
    ]);
    // The throwaway's version went; the image's was not tried.
    expect(callsSince(mark).filter((call) => call.method === 'DELETE').map((call) => call.status)).toEqual([204]);
    expect(await tagDigest(behind, repository, 'a')).toBeUndefined();
    expect((await getManifest(behind, repository, image)).status).toBe(200);
    // What the profile stays clear of: GitHub answers 400 to deleting a package's last version.
    const headers = { authorization: `Bearer ${DELETES}` };
    const versions = (await (await fetch(`${github.url}/orgs/octo-org/packages/container/only/versions`, { headers })).json()) as { id: number; name: string }[];
    expect(versions.map((version) => version.name)).toEqual([image]);
    const refused = await fetch(`${github.url}/orgs/octo-org/packages/container/only/versions/${versions[0]!.id}`, { method: 'DELETE', headers });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { message: string }).message).toMatch(/cannot delete the last version of a package/);
  });

  it('a deletion stopped after the tag moved to its throwaway is finished by the next DELETE', async () => {
    credential = token(DELETES);
    const repository = 'octo-org/resumed';
    await pushImage(behind, repository, 'keep', { format: 'oci', layers: 1 });
    const image = await mirror(repository, 'a');
    github.lag();
    const failed = await api.call('DELETE', `/v1/images/${idOf(repository, 'a')}`);
    github.catchUp();
    expect(failed.status, failed.text).toBe(502);
    expect(failed.text).toContain('does not list the version yet');
    const throwaway = (await tagDigest(behind, repository, 'a'))!;
    expect(throwaway).not.toBe(image);
    // The next attempt finds the throwaway in the plan and deletes it: no second one is pushed.
    const manifestPuts = front.count('PUT', /\/manifests\//);
    expect(await remove(repository, 'a')).toEqual([]);
    expect(front.count('PUT', /\/manifests\//)).toBe(manifestPuts);
    expect(await tagDigest(behind, repository, 'a')).toBeUndefined();
    expect((await getManifest(behind, repository, throwaway)).status).toBe(404);
    expect((await getManifest(behind, repository, image)).status).toBe(404);
  });

  it('a tag moved by someone else stays; the record\'s image, tagged no more, goes', async () => {
    credential = token(DELETES);
    const repository = 'octo-org/moved';
    await pushImage(behind, repository, 'keep', { format: 'oci', layers: 1 });
    const image = await mirror(repository, 'a');
    const other = await pushImage(behind, repository, 'a', { format: 'oci', layers: 1 });
    expect(await remove(repository, 'a')).toEqual([`${ghcr()}/${repository}:a: points at another image now, left as it is`]);
    expect(await tagDigest(behind, repository, 'a')).toBe(other.digest);
    expect((await getManifest(behind, repository, image)).status).toBe(404);
  });

  it("a multi-platform image: the index's and its children's versions go, but a child another tagged index uses", async () => {
    credential = token(DELETES);
    const repository = 'octo-org/multi';
    await pushImage(behind, repository, 'keep', { format: 'oci', layers: 1 });
    const pushed = await pushIndex(plain, repository, 'v1', { format: 'oci' });
    const created = await api.call('POST', '/v1/images', { source: `${plain.host}/${repository}:v1`, destination: `${ghcr()}/${repository}:a` });
    expect(created.status, created.text).toBe(201);
    // Someone else's index, tagged, listing the first child.
    const [shared, own] = pushed.children;
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.oci.index, manifests: [{ mediaType: shared!.mediaType, digest: shared!.digest, size: shared!.manifest.byteLength, platform: { os: 'linux', architecture: 'amd64' } }] }));
    await pushManifest(behind, repository, 'theirs', index, MEDIA_TYPES.oci.index);
    expect(await remove(repository, 'a')).toEqual([]);
    expect((await getManifest(behind, repository, pushed.digest)).status).toBe(404);
    expect((await getManifest(behind, repository, own!.digest)).status).toBe(404);
    expect((await getManifest(behind, repository, shared!.digest)).status).toBe(200);
  });

  it("GHCR's registry API: manifest DELETE answers 405, the referrers API 404 (neither is used)", async () => {
    const image = await pushImage(behind, 'octo-org/quirks', 'v1', { format: 'oci', layers: 1 });
    const target = { url: front.url };
    const deleted = await rawFetch(target, `/v2/octo-org/quirks/manifests/${image.digest}`, { method: 'DELETE' }, 'repository:octo-org/quirks:delete');
    expect(deleted.status).toBe(405);
    const referrers = await rawFetch(target, `/v2/octo-org/quirks/referrers/${image.digest}`, {}, 'repository:octo-org/quirks:pull');
    expect(referrers.status).toBe(404);
    // Only the request above ever asked for referrers.
    expect(front.requests.filter((req) => req.path.includes('/referrers/'))).toHaveLength(1);
  });
});

describe('GHCR uploads', () => {
  let capped: QuirkProxy;
  beforeAll(async () => {
    // Whole-blob PUTs over 1 MiB refused (413), so uploads go in chunks, which GHCR caps at 4 MiB (416).
    capped = await startQuirkProxy(behind.url, [refuseWholeUploadsOver(MiB), ...ghcrQuirks()]);
  });
  afterAll(async () => {
    await capped?.stop();
  });

  const patches = (repository: string) => capped.requests.filter((req) => req.method === 'PATCH' && req.path.startsWith(`/v2/${repository}/`)).map((req) => Number(req.headers['content-length']));

  it('chunks of 4 MiB at most: no PATCH is refused, and the copy is whole', async () => {
    const pushed = await pushImage(plain, 'octo-org/chunks', 'v1', { format: 'oci', layerBlobs: [randomLayer(10 * MiB)] });
    // Profiles by host name, as the service and `copy` choose them.
    const clients = new RegistryClients({ transport, isInsecure: insecureHosts('ghcr.io'), profiles: profileSelector() });
    await copyImage(parseReference(`${plain.host}/octo-org/chunks:v1`), parseReference(`ghcr.io:${capped.port}/octo-org/chunks:v1`), { clients });
    await expectCopied(pushed, plain, 'octo-org/chunks', behind, 'octo-org/chunks', 'v1');
    const sizes = patches('octo-org/chunks');
    const layer = pushed.layers[0]!.size;
    // One PATCH per 4 MiB of the layer: none was refused and sent again.
    expect(sizes).toHaveLength(Math.ceil(layer / GHCR_MAX_PATCH));
    expect(Math.max(...sizes)).toBe(GHCR_MAX_PATCH);
  });

  it('layers refused whole at the same time all go in 4 MiB chunks: only a refused chunk halves them', async () => {
    const layers = [1, 2, 3, 4].map(() => randomLayer(2 * MiB));
    const pushed = await pushImage(plain, 'octo-org/concurrent', 'v1', { format: 'oci', layerBlobs: layers });
    const clients = new RegistryClients({ transport, isInsecure: insecureHosts('ghcr.io'), profiles: profileSelector() });
    capped.clear();
    await copyImage(parseReference(`${plain.host}/octo-org/concurrent:v1`), parseReference(`ghcr.io:${capped.port}/octo-org/concurrent:v1`), { clients, concurrency: 4 });
    await expectCopied(pushed, plain, 'octo-org/concurrent', behind, 'octo-org/concurrent', 'v1');
    // Layers in flight together were refused whole (413), each once; then every layer went in one
    // chunk: 4 MiB takes a 2 MiB layer whole. Had each refusal of a whole body halved the size,
    // the second would have gone in 2 MiB chunks, the third in 1 MiB ones.
    const refusedWhole = capped.requests.filter((req) => req.method === 'PUT' && Number(req.headers['content-length']) > MiB).length;
    expect(refusedWhole).toBeGreaterThanOrEqual(2);
    expect(refusedWhole).toBeLessThanOrEqual(4);
    expect(patches('octo-org/concurrent').sort()).toEqual(pushed.layers.map((layer) => layer.size).sort());
  });

  it('a profile with larger chunks meets the 416, and halves its chunks to get through', async () => {
    const pushed = await pushImage(plain, 'octo-org/chunks-416', 'v1', { format: 'oci', layerBlobs: [randomLayer(10 * MiB)] });
    const clients = new RegistryClients({ transport, isInsecure: insecureHosts('ghcr.io'), profiles: () => distribution });
    await copyImage(parseReference(`${plain.host}/octo-org/chunks-416:v1`), parseReference(`ghcr.io:${capped.port}/octo-org/chunks-416:v1`), { clients });
    await expectCopied(pushed, plain, 'octo-org/chunks-416', behind, 'octo-org/chunks-416', 'v1');
    const sizes = patches('octo-org/chunks-416');
    // distribution's 8 MiB chunk, refused with 416 (taken, it would have been followed by the rest
    // of the layer); then the whole layer again in 4 MiB chunks.
    const layer = pushed.layers[0]!.size;
    expect(sizes).toEqual([8 * MiB, GHCR_MAX_PATCH, GHCR_MAX_PATCH, layer - 2 * GHCR_MAX_PATCH]);
  });
});
