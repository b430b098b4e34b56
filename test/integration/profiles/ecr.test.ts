// Amazon ECR as destination and as source, through the HTTP API: the real registry (htpasswd,
// user AWS) behind a proxy applying ECR's documented quirks (test/harness/quirks/ecr.ts), reached
// under an ECR host name that a lookup hook maps to 127.0.0.1; the AWS APIs (GetAuthorizationToken,
// DescribeRepositories, CreateRepository, BatchDeleteImage) on the loopback stand-in. Every quirk
// is emulated from the documented behaviour, and each is asserted here.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistryAuth } from '../../../lib/config/registry-auth.ts';
import { recordId } from '../../../lib/api/ids.ts';
import { parseReference } from '../../../lib/reference/reference.ts';
import { readTextFile } from '../../../functions/node/read-file.ts';
import { undiciTransport, type LookupFunction } from '../../../functions/node/undici-transport.ts';
import { ECR_ACCOUNT, startAwsStandIn, type AwsCall, type AwsStandIn } from '../../harness/aws-stand-in.ts';
import { pushBlob, pushImage, pushIndex, pushManifest, randomLayer } from '../../harness/images.ts';
import { startQuirkProxy, type QuirkProxy } from '../../harness/quirk-proxy.ts';
import { ecrQuirks, ECR_MAX_PART, ECR_MIN_PART, type EcrQuirks } from '../../harness/quirks/ecr.ts';
import { rawFetch, type Target } from '../../harness/raw-client.ts';
import { getManifest, headManifest } from '../../harness/registry-api.ts';
import { startRegistry, type RunningRegistry } from '../../harness/registry.ts';
import { startApi, type RunningApi } from '../api-support.ts';
import { expectCopied } from '../support.ts';
import { runScenario } from './scenario.ts';

const ECR = `${ECR_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`;
const MiB = 1024 * 1024;
const KMS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const password = `ecr-token-${randomUUID()}`;

/** ECR's name resolves to loopback, where the quirk proxy listens. */
const lookup: LookupFunction = (hostname, _options, callback) => {
  if (hostname === ECR) return callback(null, [{ address: '127.0.0.1', family: 4 }]);
  callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
};
const transport = undiciTransport({ lookup });

/** The real registry playing ECR, reached directly (the harness's own checks). */
let backing: RunningRegistry;
/** A plain registry on the other side of each copy. */
let other: RunningRegistry;
let aws: AwsStandIn;
let quirks: EcrQuirks;
let front: QuirkProxy;
/** Default ECR settings. */
let api: RunningApi;
/** IMMUTABLE tags, scan on push, a KMS key. */
let tuned: RunningApi;
/** IMAGESYNC_ECR_CREATE_REPOSITORIES=false. */
let strict: RunningApi;
const savedEnv = { ...process.env };

beforeAll(async () => {
  [backing, other] = await Promise.all([startRegistry({ auth: 'htpasswd', users: { AWS: password } }), startRegistry()]);
  aws = await startAwsStandIn();
  aws.ecr.password = password;
  aws.ecr.registry = backing;
  quirks = ecrQuirks({ knows: (repository) => aws.hasRepository(repository) });
  front = await startQuirkProxy(backing.url, quirks.quirks);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_ECR: aws.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIATESTTESTTESTTEST',
    AWS_SECRET_ACCESS_KEY: 'test-secret-access-key',
  });
  const start = async (env: Record<string, string> = {}) =>
    startApi({ env: { IMAGESYNC_INSECURE_REGISTRIES: ECR, ...env }, transport, credentialStore: await loadRegistryAuth({ HOME: '/nonexistent' }, readTextFile) });
  [api, tuned, strict] = await Promise.all([
    start(),
    start({ IMAGESYNC_ECR_TAG_MUTABILITY: 'IMMUTABLE', IMAGESYNC_ECR_SCAN_ON_PUSH: 'true', IMAGESYNC_ECR_KMS_KEY: KMS_KEY }),
    start({ IMAGESYNC_ECR_CREATE_REPOSITORIES: 'false' }),
  ]);
});
afterAll(async () => {
  await Promise.all([api?.stop(), tuned?.stop(), strict?.stop()]);
  await transport.close();
  await front?.stop();
  await aws?.stop();
  await Promise.all([backing?.stop(), other?.stop()]);
  for (const key of ['AWS_ENDPOINT_URL_ECR', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
    if (savedEnv[key] === undefined) delete process.env[key];
    else process.env[key] = savedEnv[key];
  }
});

const ecrHost = () => `${ECR}:${front.port}`;
const ecrRef = (repository: string, tag: string) => `${ecrHost()}/${repository}:${tag}`;
/** The proxy, as the harness's raw client reaches it (ECR's credentials). */
const viaProxy = (): Target => ({ url: front.url, auth: backing.auth });
const callsFor = (operation: string, repository: string): AwsCall[] =>
  aws.ecr.calls.filter((c) => c.target.endsWith(`.${operation}`) && (c.body.repositoryName === repository || c.body.repositoryNames?.includes(repository)));
const deletions = (repository: string) => callsFor('BatchDeleteImage', repository).map((c) => c.body.imageIds);
/** Pushes (session starts, blob and manifest PUTs) that reached the proxy for a repository. */
const pushes = (repository: string) => front.requests.filter((r) => r.path.startsWith(`/v2/${repository}/`) && (r.method === 'POST' || r.method === 'PUT' || r.method === 'PATCH')).length;
const id = (reference: string) => recordId(parseReference(reference));

describe('ECR, the scenario', () => {
  it('as destination: create, re-copy, check after a move, restore, delete shared, delete again', async () => {
    const repository = 'profile/ecr-dest';
    const dropped = quirks.count('dropped');
    await runScenario({
      api,
      repository,
      source: { push: (repo, tag) => pushImage(other, repo, tag, { format: 'oci', layers: 2 }), reference: (repo, tag) => `${other.host}/${repo}:${tag}` },
      destination: { reference: ecrRef, registry: backing, uploads: () => front.count('PUT', /\/blobs\/uploads\//) },
      deletion: 'removes',
    });
    // The repository was created before the first push (a push to a missing one is dropped),
    // with ECR's defaults; deletion went through BatchDeleteImage, by tag, never the v2 API.
    expect(aws.ecr.repositories.get(ECR_ACCOUNT)?.get(repository)).toEqual({
      repositoryName: repository,
      imageTagMutability: 'MUTABLE',
      imageScanningConfiguration: { scanOnPush: false },
      encryptionConfiguration: { encryptionType: 'AES256' },
      createdBy: 'CreateRepository',
    });
    expect(quirks.count('dropped')).toBe(dropped);
    // The image the check replaced, untagged, by digest; then each record's tag.
    expect(deletions(repository)).toEqual([[{ imageDigest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) }], [{ imageTag: 'a' }], [{ imageTag: 'b' }]]);
    expect(front.count('DELETE', new RegExp(`^/v2/${repository}/(manifests|blobs)/sha256:`))).toBe(0);
    // Every PUT of a manifest carried a plain media type.
    expect(quirks.count('media-type-400')).toBe(0);
  });

  it('as source: the same, reading through the profile', async () => {
    const repository = 'profile/ecr-src';
    aws.addRepository(repository);
    await runScenario({
      api,
      repository,
      source: { push: (repo, tag) => pushImage(backing, repo, tag, { format: 'docker', layers: 2 }), reference: ecrRef },
      destination: { reference: (repo, tag) => `${other.host}/${repo}:${tag}`, registry: other, uploads: () => 0 },
      deletion: 'removes',
    });
    // Reading needs no repository call.
    expect(callsFor('DescribeRepositories', repository)).toEqual([]);
  });
});

describe('repositories, made before the first push', () => {
  it('a push to a repository ECR does not know drops the connection (the quirk)', async () => {
    const before = quirks.count('dropped');
    const refused = await rawFetch(viaProxy(), '/v2/nowhere/blobs/uploads/', { method: 'POST' }, 'repository:nowhere:pull,push').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TypeError);
    expect(quirks.count('dropped')).toBe(before + 1);
    aws.addRepository('nowhere');
    const started = await rawFetch(viaProxy(), '/v2/nowhere/blobs/uploads/', { method: 'POST' }, 'repository:nowhere:pull,push');
    expect(started.status).toBe(202);
  });

  it('creates a missing repository with the configured settings', async () => {
    await pushImage(other, 'ecr/created', 'v1', { format: 'oci', layers: 1 });
    const dropped = quirks.count('dropped');
    const created = await tuned.call('POST', '/v1/images', { source: `${other.host}/ecr/created:v1`, destination: ecrRef('mirror/created', 'v1') });
    expect(created.status, created.text).toBe(201);
    expect(callsFor('DescribeRepositories', 'mirror/created').map((c) => c.body)).toEqual([{ registryId: ECR_ACCOUNT, repositoryNames: ['mirror/created'] }]);
    expect(callsFor('CreateRepository', 'mirror/created').map((c) => c.body)).toEqual([
      {
        registryId: ECR_ACCOUNT,
        repositoryName: 'mirror/created',
        imageTagMutability: 'IMMUTABLE',
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfiguration: { encryptionType: 'KMS', kmsKey: KMS_KEY },
      },
    ]);
    expect(aws.ecr.repositories.get(ECR_ACCOUNT)?.get('mirror/created')).toMatchObject({ imageTagMutability: 'IMMUTABLE', createdBy: 'CreateRepository' });
    // Made before the first push: a push to a missing repository would have been dropped.
    expect(quirks.count('dropped')).toBe(dropped);
  });

  it('leaves an existing repository as it is', async () => {
    const existing = aws.addRepository('mirror/existing', { imageScanningConfiguration: { scanOnPush: false } });
    const before = structuredClone(existing);
    await pushImage(other, 'ecr/existing', 'v1', { format: 'oci', layers: 1 });
    const created = await tuned.call('POST', '/v1/images', { source: `${other.host}/ecr/existing:v1`, destination: ecrRef('mirror/existing', 'v1') });
    expect(created.status, created.text).toBe(201);
    expect(callsFor('DescribeRepositories', 'mirror/existing')).toHaveLength(1);
    expect(callsFor('CreateRepository', 'mirror/existing')).toEqual([]);
    expect(aws.ecr.repositories.get(ECR_ACCOUNT)?.get('mirror/existing')).toEqual(before);
  });

  it('a repository another worker created meanwhile (RepositoryAlreadyExistsException) is fine', async () => {
    // DescribeRepositories saw nothing; by the time CreateRepository arrives, it is there.
    aws.ecr.failures.set('DescribeRepositories', { type: 'RepositoryNotFoundException', message: 'not yet' });
    const raced = aws.addRepository('mirror/raced');
    try {
      await pushImage(other, 'ecr/raced', 'v1', { format: 'oci', layers: 1 });
      const created = await api.call('POST', '/v1/images', { source: `${other.host}/ecr/raced:v1`, destination: ecrRef('mirror/raced', 'v1') });
      expect(created.status, created.text).toBe(201);
    } finally {
      aws.ecr.failures.delete('DescribeRepositories');
    }
    expect(callsFor('CreateRepository', 'mirror/raced')).toHaveLength(1);
    expect(aws.ecr.repositories.get(ECR_ACCOUNT)?.get('mirror/raced')).toBe(raced);
  });

  it('with IMAGESYNC_ECR_CREATE_REPOSITORIES=false: 502 naming the setting, and nothing pushed', async () => {
    await pushImage(other, 'ecr/absent', 'v1', { format: 'oci', layers: 1 });
    const refused = await strict.call('POST', '/v1/images', { source: `${other.host}/ecr/absent:v1`, destination: ecrRef('mirror/absent', 'v1') });
    expect(refused.status, refused.text).toBe(502);
    expect(refused.json).toMatchObject({
      type: 'urn:imagesync:problem:registry-failed',
      detail: `${ecrHost()}: repository mirror/absent does not exist in ECR and IMAGESYNC_ECR_CREATE_REPOSITORIES is false`,
    });
    expect(callsFor('DescribeRepositories', 'mirror/absent')).toHaveLength(1);
    expect(callsFor('CreateRepository', 'mirror/absent')).toEqual([]);
    expect(aws.hasRepository('mirror/absent')).toBe(false);
    expect(pushes('mirror/absent')).toBe(0);
  });

  it('names an AWS error and does not echo its message', async () => {
    const message = 'User: arn:aws:sts::123456789012:assumed-role/secret-role/x is not authorized; X-Amz-Signature=0123abcd';
    aws.ecr.failures.set('DescribeRepositories', { type: 'AccessDeniedException', message });
    try {
      await pushImage(other, 'ecr/denied', 'v1', { format: 'oci', layers: 1 });
      const refused = await api.call('POST', '/v1/images', { source: `${other.host}/ecr/denied:v1`, destination: ecrRef('mirror/denied', 'v1') });
      expect(refused.status, refused.text).toBe(502);
      expect(refused.json.detail).toBe(`${ecrHost()}: ECR DescribeRepositories mirror/denied failed: 400 AccessDeniedException`);
      const everything = [refused.text, ...api.logs.map((l) => JSON.stringify(l)), JSON.stringify(await api.store.list(1000))].join('\n');
      expect(everything).not.toContain('secret-role');
      expect(everything).not.toContain('X-Amz-Signature');
    } finally {
      aws.ecr.failures.delete('DescribeRepositories');
    }
    expect(pushes('mirror/denied')).toBe(0);
  });
});

describe('uploads', () => {
  it('a PATCH answers 201, a part under 5 MiB that was not the last is refused, the Range stays stale (the quirks)', async () => {
    aws.addRepository('quirk/parts');
    const scope = 'repository:quirk/parts:pull,push';
    const started = await rawFetch(viaProxy(), '/v2/quirk/parts/blobs/uploads/', { method: 'POST' }, scope);
    expect(started.status).toBe(202);
    let location = new URL(started.headers.get('location')!, front.url).href;
    const patch = async (bytes: number, from: number) => {
      const response = await rawFetch(viaProxy(), location, {
        method: 'PATCH',
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${from}-${from + bytes - 1}` },
        body: new Uint8Array(bytes),
      }, scope);
      if (response.headers.get('location')) location = new URL(response.headers.get('location')!, location).href;
      return { status: response.status, range: response.headers.get('range'), body: await response.text() };
    };
    const first = await patch(ECR_MIN_PART, 0);
    expect(first).toMatchObject({ status: 201, range: `0-${ECR_MIN_PART - 1}` });
    // The second part is stored, but the Range answered still names the first.
    expect(await patch(MiB, ECR_MIN_PART)).toMatchObject({ status: 201, range: `0-${ECR_MIN_PART - 1}` });
    const tooSmall = quirks.count('part-too-small');
    const refused = await patch(MiB, ECR_MIN_PART + MiB);
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body).errors[0].code).toBe('LAYER_PART_TOO_SMALL');
    expect(quirks.count('part-too-small')).toBe(tooSmall + 1);
  });

  it('goes in parts of 5 to 10 MiB once whole PUTs are capped, and gets the image there whole', async () => {
    const pushed = await pushImage(other, 'ecr/large', 'v1', { format: 'oci', layers: 0, layerBlobs: [randomLayer(23 * MiB)] });
    const layer = pushed.layers[0]!;
    quirks.putCap = 6 * MiB;
    const [patched, stale, tooSmall] = [quirks.count('patch-201'), quirks.count('stale-range'), quirks.count('part-too-small')];
    const sessions = new Set(quirks.parts.keys());
    try {
      const created = await tuned.call('POST', '/v1/images', { source: `${other.host}/ecr/large:v1`, destination: ecrRef('mirror/large', 'v1') });
      expect(created.status, created.text).toBe(201);
    } finally {
      quirks.putCap = undefined;
    }
    expect(quirks.count('body-413')).toBeGreaterThanOrEqual(1);
    // Sessions that went in parts (a small blob started after the switch goes in one part).
    const chunked = [...quirks.parts].filter(([session]) => !sessions.has(session)).map(([, parts]) => parts);
    for (const parts of chunked) {
      for (const part of parts.slice(0, -1)) {
        expect(part).toBeGreaterThanOrEqual(ECR_MIN_PART);
        expect(part).toBeLessThanOrEqual(ECR_MAX_PART);
      }
      expect(parts.at(-1)!).toBeLessThanOrEqual(ECR_MAX_PART);
    }
    const parts = chunked.find((p) => p.reduce((a, b) => a + b, 0) === layer.size)!;
    expect(parts).toHaveLength(Math.ceil(layer.size / ECR_MAX_PART));
    expect(parts.length).toBeGreaterThanOrEqual(3);
    // Every part answered 201, the later ones with a stale Range: neither stopped the upload.
    expect(quirks.count('patch-201') - patched).toBe(chunked.flat().length);
    expect(quirks.count('stale-range') - stale).toBe(parts.length - 1);
    expect(quirks.count('part-too-small')).toBe(tooSmall);
    await expectCopied(pushed, other, 'ecr/large', backing, 'mirror/large', 'v1');
  });

  it('media types with parameters: refused by the quirk, and never sent (refused before any push)', async () => {
    aws.addRepository('quirk/types');
    const refusals = quirks.count('media-type-400');
    const manifest = new TextEncoder().encode('{"schemaVersion":2}');
    const refused = await rawFetch(viaProxy(), '/v2/quirk/types/manifests/v1', {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json; charset=utf-8' },
      body: manifest,
    }, 'repository:quirk/types:pull,push');
    expect(refused.status).toBe(400);
    expect(quirks.count('media-type-400')).toBe(refusals + 1);

    // A source image whose layer's media type carries a parameter (aws/containers-roadmap#2306).
    const layer = await pushBlob(other, 'ecr/typed', randomLayer(), 'application/vnd.oci.image.layer.v1.tar+gzip;version=2');
    const config = await pushBlob(other, 'ecr/typed', new TextEncoder().encode('{}'), 'application/vnd.oci.image.config.v1+json');
    const bytes = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [layer] }));
    await pushManifest(other, 'ecr/typed', 'v1', bytes, 'application/vnd.oci.image.manifest.v1+json');
    const answer = await api.call('POST', '/v1/images', { source: `${other.host}/ecr/typed:v1`, destination: ecrRef('mirror/typed', 'v1') });
    expect(answer.status, answer.text).toBe(502);
    expect(answer.json.detail).toMatch(/layers\[0\]\.mediaType/);
    expect(pushes('mirror/typed')).toBe(0);
    expect(quirks.count('media-type-400')).toBe(refusals + 1);
  });
});

describe('deletion through BatchDeleteImage', () => {
  it('v2 DELETE answers 405 (the quirk)', async () => {
    const pushed = await pushImage(backing, 'quirk/delete', 'v1', { format: 'oci', layers: 1 });
    const refusals = quirks.count('delete-405');
    const response = await rawFetch(viaProxy(), `/v2/quirk/delete/manifests/${pushed.digest}`, { method: 'DELETE' }, 'repository:quirk/delete:delete');
    expect(response.status).toBe(405);
    expect(quirks.count('delete-405')).toBe(refusals + 1);
    expect((await headManifest(backing, 'quirk/delete', 'v1')).status).toBe(200);
  });

  it("keeps what another tag's index uses, then removes the index's untagged children", async () => {
    const index = await pushIndex(other, 'ecr/index', 'v1', { format: 'oci', layers: 1 });
    const children = index.children.map((child) => child.digest);
    for (const tag of ['x', 'y']) {
      const created = await api.call('POST', '/v1/images', { source: `${other.host}/ecr/index:v1`, destination: ecrRef('mirror/index', tag) });
      expect(created.status, created.text).toBe(201);
    }
    const first = await api.call('DELETE', `/v1/images/${id(ecrRef('mirror/index', 'x'))}`);
    expect(first.status, first.text).toBe(204);
    expect(first.headers.get('x-imagesync-left')).toBeNull();
    expect((await headManifest(backing, 'mirror/index', 'x')).status).toBe(404);
    await expectCopied(index, other, 'ecr/index', backing, 'mirror/index', 'y');
    expect(deletions('mirror/index')).toEqual([[{ imageTag: 'x' }]]);

    // The stand-in refuses what a tagged index lists, and reports the failures the API reference names.
    const direct = async (imageId: { imageTag?: string; imageDigest?: string }) => {
      const response = await fetch(aws.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.BatchDeleteImage' },
        body: JSON.stringify({ registryId: ECR_ACCOUNT, repositoryName: 'mirror/index', imageIds: [imageId] }),
      });
      // Not imagesync's call: off the record the assertions read.
      aws.ecr.calls.pop();
      return (await response.json()) as { imageIds: unknown[]; failures: { failureCode: string }[] };
    };
    const failure = async (imageId: { imageTag?: string; imageDigest?: string }) => (await direct(imageId)).failures.map((f) => f.failureCode);
    expect(await failure({ imageDigest: children[0]! })).toEqual(['ImageReferencedByManifestList']);
    expect(await failure({ imageDigest: `sha256:${'0'.repeat(64)}` })).toEqual(['ImageNotFound']);
    expect(await failure({ imageTag: 'y', imageDigest: children[0]! })).toEqual(['ImageTagDoesNotMatchDigest']);
    expect(await failure({})).toEqual(['MissingDigestAndTag']);
    await expectCopied(index, other, 'ecr/index', backing, 'mirror/index', 'y');

    const last = await api.call('DELETE', `/v1/images/${id(ecrRef('mirror/index', 'y'))}`);
    expect(last.status, last.text).toBe(204);
    expect(last.headers.get('x-imagesync-left')).toBeNull();
    // The index went with its last tag; its children, untagged now, by digest.
    expect(deletions('mirror/index')).toEqual([[{ imageTag: 'x' }], [{ imageTag: 'y' }], ...children.map((imageDigest) => [{ imageDigest }])]);
    for (const digest of [index.digest, ...children]) expect((await getManifest(backing, 'mirror/index', digest)).status, digest).toBe(404);
    expect(front.count('DELETE', /^\/v2\/mirror\/index\/(manifests|blobs)\//)).toBe(0);
  });

  it('leaves a tag someone moved to another image, and removes the image the record made', async () => {
    const pushed = await pushImage(other, 'ecr/moved', 'v1', { format: 'oci', layers: 1 });
    const created = await api.call('POST', '/v1/images', { source: `${other.host}/ecr/moved:v1`, destination: ecrRef('mirror/moved', 'v1') });
    expect(created.status, created.text).toBe(201);
    const theirs = await pushImage(backing, 'mirror/moved', 'v1', { format: 'oci', layers: 1 });
    const deleted = await api.call('DELETE', `/v1/images/${id(ecrRef('mirror/moved', 'v1'))}`);
    expect(deleted.status, deleted.text).toBe(204);
    expect(deleted.headers.get('x-imagesync-left')).toMatch(/mirror\/moved:v1: points at another image now, left as it is/);
    expect((await headManifest(backing, 'mirror/moved', 'v1')).digestHeader).toBe(theirs.digest);
    expect((await getManifest(backing, 'mirror/moved', pushed.digest)).status).toBe(404);
    expect(deletions('mirror/moved')).toEqual([[{ imageDigest: pushed.digest }]]);
  });
});
