// Quay (the `quay` profile, chosen by host name) as destination and as source, with its documented
// behaviours emulated in front of the real registry (test/harness/quirks/quay.ts): v2 tag deletion,
// and 429 bursts under load carrying Retry-After.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordId } from '../../../lib/api/ids.ts';
import { parseReference } from '../../../lib/reference/reference.ts';
import { undiciTransport, type LookupFunction } from '../../../functions/node/undici-transport.ts';
import { pushImage, pushIndex, pushManifest } from '../../harness/images.ts';
import { startQuirkProxy, type QuirkProxy } from '../../harness/quirk-proxy.ts';
import { bursts, v2TagDeletion, type Bursts, type TagDeletion } from '../../harness/quirks/quay.ts';
import { headManifest } from '../../harness/registry-api.ts';
import { tagsOf } from '../../harness/registry-ops.ts';
import { startRegistry, type RunningRegistry } from '../../harness/registry.ts';
import { startApi, type RunningApi } from '../api-support.ts';
import { expectCopied } from '../support.ts';
import { runScenario } from './scenario.ts';

const QUAY = 'quay.io';
const lookup: LookupFunction = (hostname, _options, callback) => {
  if (hostname === QUAY) return callback(null, [{ address: '127.0.0.1', family: 4 }]);
  callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
};
const transport = undiciTransport({ lookup });

let plain: RunningRegistry;
let backend: RunningRegistry;
let tags: TagDeletion;
/** Limits on every request (one for a copy's many pushes, a tighter one for its fewer reads), and one on blob uploads alone. */
let pushes: Bursts;
let reads: Bursts;
let uploads: Bursts;
let front: QuirkProxy;
let api: RunningApi;

const quay = () => `${QUAY}:${front.port}`;
const id = (reference: string) => recordId(parseReference(reference));

beforeAll(async () => {
  [plain, backend] = await Promise.all([startRegistry(), startRegistry()]);
  tags = v2TagDeletion(backend);
  pushes = bursts({ every: 12, retryAfterSeconds: 1 });
  reads = bursts({ every: 6, retryAfterSeconds: 1 });
  uploads = bursts({ every: 1, times: 1, retryAfterSeconds: 2, only: (req) => req.method === 'PUT' && req.path.includes('/blobs/uploads/') });
  front = await startQuirkProxy(backend.url, [pushes, reads, uploads, tags]);
  api = await startApi({ env: { IMAGESYNC_INSECURE_REGISTRIES: QUAY }, transport });
});
afterAll(async () => {
  await api?.stop();
  await front?.stop();
  await transport.close();
  await Promise.all([plain?.stop(), backend?.stop()]);
});

describe('Quay', () => {
  it('is the quay profile', () => {
    expect(api.server.clients.get(quay()).profile.name).toBe('quay');
  });

  it('as destination: the scenario, tags deleted by the v2 API', async () => {
    front.clear();
    await runScenario({
      api,
      repository: 'profile/quay-dest',
      source: { push: (repo, tag) => pushImage(plain, repo, tag, { format: 'oci', layers: 2 }), reference: (repo, tag) => `${plain.host}/${repo}:${tag}` },
      destination: { reference: (repo, tag) => `${quay()}/${repo}:${tag}`, registry: backend, uploads: () => front.count('PUT', /\/blobs\/uploads\//) },
      deletion: 'removes',
    });
    expect(tags.deleted).toEqual(['profile/quay-dest:a', 'profile/quay-dest:b']);
  });

  it('as source: the scenario', async () => {
    await runScenario({
      api,
      repository: 'profile/quay-src',
      source: { push: (repo, tag) => pushImage(backend, repo, tag, { format: 'docker', layers: 2 }), reference: (repo, tag) => `${quay()}/${repo}:${tag}` },
      destination: { reference: (repo, tag) => `${plain.host}/${repo}:${tag}`, registry: plain, uploads: () => 0 },
      deletion: 'removes',
    });
  });

  describe('v2 tag deletion (quay/quay PR#3128)', () => {
    it('emulation: DELETE manifests/<tag> removes that tag alone', async () => {
      const pushed = await pushImage(backend, 'quay/emulation', 'one', { format: 'oci', layers: 1 });
      await pushManifest(backend, 'quay/emulation', 'two', pushed.manifest, pushed.mediaType);
      const deleted = await fetch(`${front.url}/v2/quay/emulation/manifests/one`, { method: 'DELETE' });
      expect(deleted.status).toBe(202);
      expect([...(await tagsOf(backend, 'quay/emulation')).entries()]).toEqual([['two', pushed.digest]]);
      expect((await fetch(`${front.url}/v2/quay/emulation/manifests/one`, { method: 'DELETE' })).status).toBe(404);
    });

    it('deletes the tag with one DELETE, pushing no throwaway, and another tag on the image stays', async () => {
      const pushed = await pushImage(plain, 'quay/delete', 'v1', { format: 'oci', layers: 1 });
      const kept = `${quay()}/quay/delete:kept`;
      const gone = `${quay()}/quay/delete:gone`;
      for (const destination of [kept, gone]) expect((await api.call('POST', '/v1/images', { source: `${plain.host}/quay/delete:v1`, destination })).status).toBe(201);
      front.clear();
      const deleted = await api.call('DELETE', `/v1/images/${id(gone)}`);
      expect(deleted.status, deleted.text).toBe(204);
      expect(front.requests.filter((r) => r.method === 'DELETE').map((r) => r.path)).toEqual(['/v2/quay/delete/manifests/gone']);
      expect(front.count('PUT', /./)).toBe(0);
      expect((await headManifest(backend, 'quay/delete', 'gone')).status).toBe(404);
      expect((await headManifest(backend, 'quay/delete', 'kept')).digestHeader).toBe(pushed.digest);
      await api.call('DELETE', `/v1/images/${id(kept)}`);
    });
  });

  describe('429 bursts with Retry-After', () => {
    // Starting an upload is a POST to one URL for every blob: which of them is a resend cannot be told.
    const sharedUrl = (method: string, url: string) => method === 'POST' && url.endsWith('/blobs/uploads/');

    /** Every request sent again after a 429 waited at least what its Retry-After asked; returns how many were checked. */
    const expectRetryAfterHonoured = (limit: Bursts): number => {
      let checked = 0;
      for (const throttled of limit.throttled) {
        if (sharedUrl(throttled.method, throttled.url)) continue;
        const again = limit.arrivals.find((a) => a.at > throttled.at && a.method === throttled.method && a.url === throttled.url);
        if (!again) continue; // a streamed upload is started afresh, under another URL
        // A few ms of slack for the two clocks (the client's timer, Date.now here); ignoring Retry-After would be ~0.25 s.
        expect(again.at - throttled.at, `${throttled.method} ${throttled.url}`).toBeGreaterThanOrEqual(throttled.retryAfterSeconds * 1000 - 10);
        checked++;
      }
      return checked;
    };

    const withBursts = async (limit: Bursts, run: () => Promise<void>) => {
      limit.reset();
      api.logs.length = 0;
      limit.armed = true;
      try {
        await run();
      } finally {
        limit.armed = false;
      }
      expect(limit.throttled.length).toBeGreaterThanOrEqual(2);
      // Requests the transport sends again wait what Retry-After asks (logged), and arrive no sooner.
      const retries = api.logs.filter((l) => l.msg === 'registry retry' && l.reason === 'status 429');
      expect(retries.length).toBeGreaterThanOrEqual(1);
      for (const retry of retries) expect(retry.delayMs as number).toBeGreaterThanOrEqual(1000);
      expect(expectRetryAfterHonoured(limit)).toBeGreaterThanOrEqual(1);
    };

    it('as destination: the copy waits, retries and succeeds', async () => {
      const pushed = await pushIndex(plain, 'quay/burst-dest', 'v1', { format: 'oci', layers: 2 });
      const destination = `${quay()}/quay/burst-dest:v1`;
      await withBursts(pushes, async () => {
        const answer = await api.call('POST', '/v1/images', { source: `${plain.host}/quay/burst-dest:v1`, destination });
        expect(answer.status, answer.text).toBe(201);
      });
      await expectCopied(pushed, plain, 'quay/burst-dest', backend, 'quay/burst-dest', 'v1');
      await api.call('DELETE', `/v1/images/${id(destination)}`);
    });

    it('as source: the copy and the check wait, retry and succeed', async () => {
      const pushed = await pushIndex(backend, 'quay/burst-src', 'v1', { format: 'docker', layers: 2 });
      const destination = `${plain.host}/quay/burst-src:v1`;
      await withBursts(reads, async () => {
        const answer = await api.call('POST', '/v1/images', { source: `${quay()}/quay/burst-src:v1`, destination });
        expect(answer.status, answer.text).toBe(201);
        expect(await api.server.check()).toMatchObject({ failed: 0 });
      });
      await expectCopied(pushed, backend, 'quay/burst-src', plain, 'quay/burst-src', 'v1');
      await api.call('DELETE', `/v1/images/${id(destination)}`);
    });

    // A limit on blob uploads alone (2 s): a streamed PUT cannot be resent by the transport, so
    // lib/copy/blob.ts restarts the blob after at least the 429's Retry-After.
    it('a burst on blob uploads alone: the blob restarts after Retry-After and the copy succeeds', async () => {
      await pushImage(plain, 'quay/burst-put', 'v1', { format: 'oci', layers: 1 });
      const destination = `${quay()}/quay/burst-put:v1`;
      uploads.reset();
      uploads.armed = true;
      try {
        const answer = await api.call('POST', '/v1/images', { source: `${plain.host}/quay/burst-put:v1`, destination });
        expect(uploads.throttled.length).toBeGreaterThanOrEqual(1);
        expect(answer.status, answer.text).toBe(201);
        // Each blob's next attempt (its PUT names the digest) came no sooner than its 429 asked.
        const digest = (url: string) => new URL(url, 'http://x').searchParams.get('digest');
        for (const throttled of uploads.throttled) {
          const next = uploads.arrivals.find((a) => a.at > throttled.at && digest(a.url) === digest(throttled.url));
          if (next) expect(next.at - throttled.at).toBeGreaterThanOrEqual(throttled.retryAfterSeconds * 1000 - 10);
        }
      } finally {
        uploads.armed = false;
        await api.call('DELETE', `/v1/images/${id(destination)}`);
      }
    });
  });
});
