// Docker Hub, emulated from the documented behaviour: the real registry (token auth, anonymous
// pulls allowed, as Hub) behind a proxy with Hub's quirks (test/harness/quirks/dockerhub.ts: pull
// allowance, blobs from a CDN that refuses Authorization, the HAP429 anti-abuse limit, v2 DELETE
// refused), chosen as Docker Hub with IMAGESYNC_REGISTRY_PROFILES, and a stand-in for Hub's API
// (test/harness/docker-hub-api.ts). The scenario as destination (a token that may delete tags, and
// one that may not) and as source; then checks that spend no pull, credentials on pulls, the CDN,
// the pull allowance deferring syncs, and the anti-abuse 429's long backoff.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { recordId } from '../../../lib/api/ids.ts';
import type { Credential } from '../../../lib/auth/credentials.ts';
import { insecureHosts } from '../../../lib/config/insecure.ts';
import { copyImage } from '../../../lib/copy/image.ts';
import { parseReference } from '../../../lib/reference/reference.ts';
import { RegistryClients } from '../../../lib/registry/client.ts';
import { ANTI_ABUSE_REASON } from '../../../lib/registry/profiles/dockerhub.ts';
import { DEFAULT_PROFILE_SETTINGS, parseConfiguredProfiles, profileSelector } from '../../../lib/registry/profiles/index.ts';
import type { RetryEvent } from '../../../lib/transport/retry.ts';
import { undiciTransport } from '../../../functions/node/undici-transport.ts';
import { startDockerHubApi, type DockerHubApi } from '../../harness/docker-hub-api.ts';
import { pushImage } from '../../harness/images.ts';
import { startQuirkProxy, type QuirkProxy } from '../../harness/quirk-proxy.ts';
import { startDockerHubQuirks, type DockerHubQuirks } from '../../harness/quirks/dockerhub.ts';
import { rawFetch } from '../../harness/raw-client.ts';
import { getManifest } from '../../harness/registry-api.ts';
import { tagDigest, tagsOf } from '../../harness/registry-ops.ts';
import { startRegistry, type RunningRegistry } from '../../harness/registry.ts';
import { startApi, type RunningApi } from '../api-support.ts';
import { expectCopied } from '../support.ts';
import { runScenario } from './scenario.ts';

const DELETES = `dckr_pat_rwd_${crypto.randomUUID()}`;
const READ_WRITE = `dckr_pat_rw_${crypto.randomUUID()}`;

let plain: RunningRegistry;
let behind: RunningRegistry;
let hub: DockerHubQuirks;
let front: QuirkProxy;
let hubApi: DockerHubApi;
let api: RunningApi;
/** The credential configured for the Hub stand-in; tests change it. */
let credential: Credential | undefined;
const transport = undiciTransport();

const basic = (username: string, password: string): Credential => ({ kind: 'basic', username, password });
const profiles = () => `${front.host}=dockerhub`;

beforeAll(async () => {
  [plain, behind] = await Promise.all([
    startRegistry(),
    startRegistry({ auth: 'token', users: { hubuser: DELETES, hubwriter: READ_WRITE }, token: { anonymousPull: true } }),
  ]);
  hub = await startDockerHubQuirks(behind);
  front = await startQuirkProxy(behind.url, hub.quirks);
  hubApi = await startDockerHubApi(behind);
  hubApi.accounts.set('hubuser', { secret: DELETES, delete: true });
  hubApi.accounts.set('hubwriter', { secret: READ_WRITE, delete: false });
  api = await startApi({
    env: { IMAGESYNC_REGISTRY_PROFILES: profiles(), IMAGESYNC_DOCKER_HUB_API_URL: hubApi.url },
    credentialStore: (registry) => (registry === front.host ? credential : undefined),
  });
});
afterAll(async () => {
  await api?.stop();
  await hubApi?.stop();
  await front?.stop();
  await hub?.stop();
  await transport.close();
  await Promise.all([plain?.stop(), behind?.stop()]);
});
beforeEach(() => {
  hub.pulls.remaining = hub.pulls.limit;
  hub.antiAbuse(0);
});

const uploads = () => front.count('PUT', /\/blobs\/uploads\//);
const hubRef = (repository: string, tag: string) => `${front.host}/${repository}:${tag}`;

async function remove(destination: string): Promise<string[]> {
  const id = recordId(parseReference(destination));
  const deleted = await api.call('DELETE', `/v1/images/${id}`);
  expect(deleted.status, deleted.text).toBe(204);
  expect((await api.call('GET', `/v1/images/${id}`)).status).toBe(404);
  return deleted.headers.get('x-imagesync-left')?.split('; ') ?? [];
}

describe('Docker Hub scenario', () => {
  it('as destination, tags deleted through Hub\'s API; the image stays for Hub to collect', async () => {
    credential = basic('hubuser', DELETES);
    const repository = 'hubuser/scenario';
    const mark = hubApi.calls.length;
    const v2Deletes = front.count('DELETE', /\/manifests\//);
    await runScenario({
      api,
      repository,
      source: { push: (repo, tag) => pushImage(plain, repo, tag, { format: 'oci', layers: 2 }), reference: (repo, tag) => `${plain.host}/${repo}:${tag}` },
      destination: { reference: hubRef, registry: behind, uploads },
      deletion: { leaves: /^127\.0\.0\.1:\d+\/hubuser\/scenario@sha256:[0-9a-f]{64}: the image stays for Docker Hub to keep or collect \(imagesync deletes only tags there\)$/ },
    });
    const calls = hubApi.calls.slice(mark);
    expect(calls.filter((call) => call.method === 'DELETE')).toEqual([
      { method: 'DELETE', path: '/v2/repositories/hubuser/scenario/tags/a/', status: 204 },
      { method: 'DELETE', path: '/v2/repositories/hubuser/scenario/tags/b/', status: 204 },
    ]);
    expect(calls.filter((call) => call.path === '/v2/auth/token').every((call) => call.status === 200 && call.identifier === 'hubuser')).toBe(true);
    expect(await tagsOf(behind, repository)).toEqual(new Map());
    // Hub's registry API refuses deletion (405): it was never asked.
    expect(front.count('DELETE', /\/manifests\//)).toBe(v2Deletes);
  });

  it('as destination with a token that may not delete: the records go, the tags stay, and the answer says why', async () => {
    credential = basic('hubwriter', READ_WRITE);
    const repository = 'hubwriter/scenario';
    await runScenario({
      api,
      repository,
      source: { push: (repo, tag) => pushImage(plain, repo, tag, { format: 'docker', layers: 1 }), reference: (repo, tag) => `${plain.host}/${repo}:${tag}` },
      destination: { reference: hubRef, registry: behind, uploads },
      deletion: { leaves: /^127\.0\.0\.1:\d+\/hubwriter\/scenario:a stays: deleting a tag on Docker Hub needs a personal access token with delete rights \(the API answered 403\); / },
    });
    expect([...(await tagsOf(behind, repository)).keys()].sort()).toEqual(['a', 'b']);
  });

  it('as source: the same, reading through the profile', async () => {
    credential = basic('hubuser', DELETES);
    await runScenario({
      api,
      repository: 'hubuser/scenario-src',
      source: { push: (repo, tag) => pushImage(behind, repo, tag, { format: 'docker', layers: 2 }), reference: hubRef },
      destination: { reference: (repo, tag) => `${plain.host}/${repo}:${tag}`, registry: plain, uploads: () => 0 },
      deletion: 'removes',
    });
  });
});

describe('Docker Hub as destination', () => {
  it('deletes only the record\'s tag, only while it points at the record\'s image', async () => {
    credential = basic('hubuser', DELETES);
    const repository = 'hubuser/moved';
    await pushImage(plain, repository, 'v1', { format: 'oci', layers: 1 });
    for (const tag of ['a', 'b']) {
      const created = await api.call('POST', '/v1/images', { source: `${plain.host}/${repository}:v1`, destination: hubRef(repository, tag) });
      expect(created.status, created.text).toBe(201);
    }
    const image = (await tagDigest(behind, repository, 'a'))!;
    // Tag b moved by someone else.
    const other = await pushImage(behind, repository, 'b', { format: 'oci', layers: 1 });
    const mark = hubApi.calls.length;
    expect(await remove(hubRef(repository, 'a'))).toEqual([`${front.host}/${repository}@${image}: the image stays for Docker Hub to keep or collect (imagesync deletes only tags there)`]);
    expect(await remove(hubRef(repository, 'b'))).toEqual([
      `${front.host}/${repository}:b: points at another image now, left as it is`,
      `${front.host}/${repository}@${image}: the image stays for Docker Hub to keep or collect (imagesync deletes only tags there)`,
    ]);
    expect(hubApi.calls.slice(mark).filter((call) => call.method === 'DELETE').map((call) => call.path)).toEqual([`/v2/repositories/${repository}/tags/a/`]);
    expect(await tagsOf(behind, repository)).toEqual(new Map([['b', other.digest]]));
    expect((await getManifest(behind, repository, image)).status).toBe(200);
  });

  it('without credentials, or with credentials Hub refuses, the tag stays and the answer says why', async () => {
    credential = basic('hubuser', DELETES);
    const repository = 'hubuser/refused';
    await pushImage(plain, repository, 'v1', { format: 'oci', layers: 1 });
    for (const tag of ['a', 'b']) {
      const created = await api.call('POST', '/v1/images', { source: `${plain.host}/${repository}:v1`, destination: hubRef(repository, tag) });
      expect(created.status, created.text).toBe(201);
    }
    const mark = hubApi.calls.length;
    credential = undefined;
    expect((await remove(hubRef(repository, 'a')))[0]).toBe(
      `${front.host}/${repository}:a stays: deleting a tag on Docker Hub needs the account's user and a password or personal access token (none configured for ${front.host})`,
    );
    expect(hubApi.calls.length).toBe(mark);
    // The registry still takes the password; Hub's API no longer does (changed since).
    hubApi.accounts.set('hubuser', { secret: 'rotated', delete: true });
    credential = basic('hubuser', DELETES);
    try {
      expect((await remove(hubRef(repository, 'b')))[0]).toBe(`${front.host}/${repository}:b stays: Docker Hub refused the credentials configured for ${front.host} (the API answered 401)`);
    } finally {
      hubApi.accounts.set('hubuser', { secret: DELETES, delete: true });
    }
    expect(hubApi.calls.slice(mark).map((call) => [call.path, call.status])).toEqual([['/v2/auth/token', 401]]);
    expect([...(await tagsOf(behind, repository)).keys()].sort()).toEqual(['a', 'b']);
  });

  it("Hub's registry API answers 405 to a manifest DELETE; its own API 404 for a missing tag, 401 for a token it did not issue", async () => {
    const image = await pushImage(behind, 'hubuser/quirk', 'v1', { format: 'oci', layers: 1 });
    const deleted = await rawFetch({ url: front.url, auth: behind.auth }, `/v2/hubuser/quirk/manifests/${image.digest}`, { method: 'DELETE' }, 'repository:hubuser/quirk:delete');
    expect(deleted.status).toBe(405);
    const login = await fetch(`${hubApi.url}/v2/auth/token`, { method: 'POST', body: JSON.stringify({ identifier: 'hubuser', secret: DELETES }) });
    const { access_token: token } = (await login.json()) as { access_token: string };
    const missing = await fetch(`${hubApi.url}/v2/repositories/hubuser/quirk/tags/nope/`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    expect(missing.status).toBe(404);
    const forged = await fetch(`${hubApi.url}/v2/repositories/hubuser/quirk/tags/v1/`, { method: 'DELETE', headers: { authorization: 'Bearer forged' } });
    expect(forged.status).toBe(401);
    expect(await tagDigest(behind, 'hubuser/quirk', 'v1')).toBe(image.digest);
  });
});

describe('Docker Hub as source', () => {
  /** A record mirroring hubuser/<name>:v1 from the Hub stand-in to the plain registry. */
  async function mirrorFromHub(name: string) {
    const repository = `hubuser/${name}`;
    const pushed = await pushImage(behind, repository, 'v1', { format: 'oci', layers: 2 });
    const destination = `${plain.host}/mirror/${name}:v1`;
    const created = await api.call('POST', '/v1/images', { source: hubRef(repository, 'v1'), destination });
    expect(created.status, created.text).toBe(201);
    return { repository, pushed, destination };
  }

  it('pulls with the configured credentials, blobs from the CDN without Authorization, each manifest GET spending a pull', async () => {
    credential = basic('hubuser', DELETES);
    const tokens = behind.tokenServer!.requests.length;
    const cdn = hub.cdn.requests.length;
    front.clear();
    const { repository, pushed, destination } = await mirrorFromHub('pulls');
    await expectCopied(pushed, behind, repository, plain, 'mirror/pulls', 'v1');
    // Anonymous pulls are allowed, yet every token was asked for as the configured user.
    const asked = behind.tokenServer!.requests.slice(tokens);
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every((request) => request.user === 'hubuser' && request.status === 200)).toBe(true);
    // Config and two layers, from the CDN, none with an Authorization header.
    const served = hub.cdn.requests.slice(cdn);
    expect(served).toHaveLength(3);
    expect(served.every((request) => request.status === 200 && !request.authorization)).toBe(true);
    // GETs spend the allowance, HEADs not.
    expect(hub.pulls.limit - hub.pulls.remaining).toBe(front.count('GET', /\/manifests\//));
    expect(front.count('GET', /\/manifests\//)).toBeGreaterThan(0);
    // The CDN refuses a second authorization mechanism: with one, the copy could not have worked.
    const refused = await fetch(`${hub.cdn.url}/blobs/anything`, { headers: { authorization: 'Bearer x' } });
    expect(refused.status).toBe(400);
    await remove(destination);
  });

  it('checks an unchanged record with a HEAD: no manifest GET, no pull spent', async () => {
    credential = basic('hubuser', DELETES);
    const { destination } = await mirrorFromHub('head-only');
    const remaining = hub.pulls.remaining;
    front.clear();
    const summary = await api.server.check();
    expect(summary).toMatchObject({ synced: 0, failed: 0 });
    expect(front.count('HEAD', /\/manifests\//)).toBeGreaterThanOrEqual(1);
    expect(front.count('GET', /\/manifests\//)).toBe(0);
    expect(hub.pulls.remaining).toBe(remaining);
    await remove(destination);
  });

  it('a nearly spent pull allowance defers the sync of a moved tag to a later check', async () => {
    credential = basic('hubuser', DELETES);
    const { repository, destination } = await mirrorFromHub('allowance');
    const moved = await pushImage(behind, repository, 'v1', { format: 'oci', layers: 1 });
    hub.pulls.remaining = 5;
    expect(await api.server.check()).toMatchObject({ synced: 0, skipped: 1, failed: 0 });
    expect(await tagDigest(plain, 'mirror/allowance', 'v1')).not.toBe(moved.digest);
    hub.pulls.remaining = hub.pulls.limit;
    expect(await api.server.check()).toMatchObject({ synced: 1, failed: 0 });
    expect(await tagDigest(plain, 'mirror/allowance', 'v1')).toBe(moved.digest);
    await remove(destination);
  });

  describe('the anti-abuse 429 (HAP429)', () => {
    const events: RetryEvent[] = [];
    const clients = () =>
      new RegistryClients({
        transport,
        isInsecure: insecureHosts(undefined),
        profiles: profileSelector({ ...DEFAULT_PROFILE_SETTINGS, configured: parseConfiguredProfiles(profiles()) }),
        // The profile's 30 s backoff, capped by the policy's longest wait.
        retry: { retries: 2, baseDelayMs: 1, maxDelayMs: 2, maxRetryAfterMs: 50 },
        onRetry: (event) => events.push(event),
      });

    it('is retried after the long backoff, named in each retry', async () => {
      const pushed = await pushImage(behind, 'hubuser/abuse-clears', 'v1', { format: 'oci', layers: 1 });
      events.length = 0;
      hub.antiAbuse(2);
      await copyImage(parseReference(hubRef('hubuser/abuse-clears', 'v1')), parseReference(`${plain.host}/mirror/abuse-clears:v1`), { clients: clients() });
      await expectCopied(pushed, behind, 'hubuser/abuse-clears', plain, 'mirror/abuse-clears', 'v1');
      expect(hub.antiAbuseAnswered).toBeGreaterThanOrEqual(2);
      expect(events.map((event) => [event.reason, event.delayMs])).toEqual([
        [ANTI_ABUSE_REASON, 50],
        [ANTI_ABUSE_REASON, 50],
      ]);
    });

    it('that does not clear within the retries fails the copy, naming the limit', async () => {
      await pushImage(behind, 'hubuser/abuse-stays', 'v1', { format: 'oci', layers: 1 });
      events.length = 0;
      hub.antiAbuse(3);
      const error = await copyImage(parseReference(hubRef('hubuser/abuse-stays', 'v1')), parseReference(`${plain.host}/mirror/abuse-stays:v1`), { clients: clients() }).catch((e: unknown) => e);
      expect((error as Error).message).toBe(`${front.host}: get manifest hubuser/abuse-stays:v1 failed: 429 TOOMANYREQUESTS: ${ANTI_ABUSE_REASON}`);
      expect(events.map((event) => event.reason)).toEqual([ANTI_ABUSE_REASON, ANTI_ABUSE_REASON]);
      expect((await getManifest(plain, 'mirror/abuse-stays', 'v1')).status).toBe(404);
    });
  });
});
