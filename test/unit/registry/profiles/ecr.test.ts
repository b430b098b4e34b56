// The ECR profile's own parts over a fake ECR API: the repository made (or found) before the
// first push, and deletion through BatchDeleteImage over the in-memory registry, keeping the rules
// of lib/cleanup/remove-image.ts (the tag only while it points at the plan's image; manifests only
// when no tag reaches them; every BatchDeleteImage under the fence).
import { beforeEach, describe, expect, it } from 'vitest';
import type { DestinationChange, Fence } from '../../../../lib/copy/fence.ts';
import { DEFAULT_LIMITS } from '../../../../lib/copy/limits.ts';
import { RegistryClient } from '../../../../lib/registry/client.ts';
import { RegistryError } from '../../../../lib/registry/errors.ts';
import { EcrApiError, type BatchDeleteResult, type EcrApi, type EcrTarget, type ImageId, type RepositorySettings } from '../../../../lib/registry/profiles/ecr-api.ts';
import { DEFAULT_ECR_SETTINGS, ecrProfile, EcrRepositoryMissingError, type EcrSettings } from '../../../../lib/registry/profiles/ecr.ts';
import type { RegistryProfile } from '../../../../lib/registry/profiles/profile.ts';
import type { Cleanup } from '../../../../lib/store/types.ts';
import { LeaseLostError } from '../../../../lib/sync/errors.ts';
import { blobsOf, makeImage, makeIndex, manifestsOf, MemoryRegistry, type Fixture } from '../../fakes/memory-registry.ts';

const HOST = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
const REPO = 'mirror/app';

interface Call {
  operation: 'DescribeRepositories' | 'CreateRepository' | 'BatchDeleteImage';
  target: EcrTarget;
  repository: string;
  imageIds?: ImageId[];
  settings?: RepositorySettings;
  /** Made while a fenced step ran. */
  fenced: boolean;
  signal?: AbortSignal;
}

/** ECR's API over the in-memory registry, as the AWS CLI reference's batch-delete-image describes it. */
class FakeEcr implements EcrApi {
  readonly repositories = new Set<string>();
  readonly calls: Call[] = [];
  fenced = false;
  /** A failure code to report instead of deleting, per image id (the first match). */
  failWith?: (imageId: ImageId) => string | undefined;
  /** Thrown by the next call. */
  error?: Error;

  constructor(private readonly registry: MemoryRegistry) {}

  async repositoryExists(target: EcrTarget, repository: string, signal?: AbortSignal) {
    this.record({ operation: 'DescribeRepositories', target, repository, signal });
    return this.repositories.has(repository);
  }

  async createRepository(target: EcrTarget, repository: string, settings: RepositorySettings, signal?: AbortSignal) {
    this.record({ operation: 'CreateRepository', target, repository, settings, signal });
    if (this.repositories.has(repository)) return 'exists' as const;
    this.repositories.add(repository);
    return 'created' as const;
  }

  async batchDeleteImage(target: EcrTarget, repository: string, imageIds: ImageId[], signal?: AbortSignal): Promise<BatchDeleteResult> {
    this.record({ operation: 'BatchDeleteImage', target, repository, imageIds, signal });
    const result: BatchDeleteResult = { deleted: [], failures: [] };
    for (const imageId of imageIds) {
      const code = this.failWith?.(imageId) ?? (await this.deleteOne(repository, imageId));
      if (code) result.failures.push({ imageId, code });
      else result.deleted.push(imageId);
    }
    return result;
  }

  private record(call: Omit<Call, 'fenced'>): void {
    this.calls.push({ ...call, fenced: this.fenced });
    const error = this.error;
    this.error = undefined;
    if (error) throw error;
  }

  private async deleteOne(repository: string, { imageTag, imageDigest }: ImageId): Promise<string | undefined> {
    const held = this.registry.read(HOST, repository);
    if (imageTag) {
      const digest = held.tags[imageTag];
      if (!digest) return 'ImageNotFound';
      this.registry.setTag(HOST, repository, imageTag, undefined);
      // The image goes with its last tag.
      const tagged = Object.entries(held.tags).some(([tag, target]) => tag !== imageTag && target === digest);
      if (!tagged) await this.deleteManifest(repository, digest);
      return undefined;
    }
    if (!held.manifests[imageDigest!]) return 'ImageNotFound';
    const listed = Object.values(held.tags).some((top) => {
      const json = JSON.parse(new TextDecoder().decode(held.manifests[top]!.bytes)) as { manifests?: { digest: string }[] };
      return json.manifests?.some((child) => child.digest === imageDigest);
    });
    if (listed) return 'ImageReferencedByManifestList';
    await this.deleteManifest(repository, imageDigest!);
    return undefined;
  }

  private async deleteManifest(repository: string, digest: string): Promise<void> {
    const answer = await this.registry.transport({ method: 'DELETE', url: `https://${HOST}/v2/${repository}/manifests/${digest}`, headers: {} });
    expect(answer.status).toBe(202);
  }
}

let registry: MemoryRegistry;
let ecr: FakeEcr;

beforeEach(() => {
  registry = new MemoryRegistry([HOST]);
  ecr = new FakeEcr(registry);
});

/** A client for `host` whose profile is the ECR profile over the fake API. */
function setup(settings: Partial<EcrSettings> = {}, host = HOST): { client: RegistryClient; profile: RegistryProfile } {
  const profile = ecrProfile({ ...DEFAULT_ECR_SETTINGS, ...settings }, ecr);
  const client = new RegistryClient(host, {
    transport: registry.transport,
    isInsecure: () => false,
    retry: { retries: 0, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterMs: 0 },
    profiles: () => profile,
  });
  return { client, profile };
}

/** A plan resolved as the engine resolves it. */
function plan(images: Fixture[], untag?: string): Cleanup {
  return { repository: REPO, images: images.map((f) => ({ digest: f.digest, manifests: manifestsOf(f), blobs: blobsOf(f).map((b) => b.digest) })), untag };
}

/** A fence that records each change, marks the fake's calls made inside it, and can refuse the n-th change. */
function recordingFence(refuseAt?: number): { fence: Fence; changes: DestinationChange[]; signals: AbortSignal[] } {
  const changes: DestinationChange[] = [];
  const signals: AbortSignal[] = [];
  const fence: Fence = async (change, act) => {
    changes.push(change);
    if (changes.length === refuseAt) throw new LeaseLostError('record moved on');
    const signal = new AbortController().signal;
    signals.push(signal);
    ecr.fenced = true;
    try {
      return await act(signal);
    } finally {
      ecr.fenced = false;
    }
  };
  return { fence, changes, signals };
}

const deletions = () => ecr.calls.filter((c) => c.operation === 'BatchDeleteImage').map((c) => c.imageIds);

describe('prepareRepository', () => {
  it('finds an existing repository and changes nothing', async () => {
    ecr.repositories.add(REPO);
    const { client } = setup();
    await client.prepare(REPO);
    expect(ecr.calls.map((c) => [c.operation, c.repository])).toEqual([['DescribeRepositories', REPO]]);
    expect(ecr.calls[0]!.target).toEqual({ registry: HOST, account: '123456789012', region: 'eu-west-1', fips: false });
  });

  it('creates a missing repository with the settings', async () => {
    const { client } = setup({ tagMutability: 'IMMUTABLE', scanOnPush: true, kmsKey: 'alias/mirror' });
    await client.prepare(REPO);
    expect(ecr.calls.map((c) => c.operation)).toEqual(['DescribeRepositories', 'CreateRepository']);
    expect(ecr.calls[1]!.settings).toEqual({ tagMutability: 'IMMUTABLE', scanOnPush: true, kmsKey: 'alias/mirror' });
    expect(ecr.repositories.has(REPO)).toBe(true);
  });

  it('takes a repository another worker created meanwhile', async () => {
    const { client } = setup();
    // Created between DescribeRepositories and CreateRepository.
    const exists = ecr.repositoryExists.bind(ecr);
    ecr.repositoryExists = async (...args) => {
      const found = await exists(...args);
      ecr.repositories.add(REPO);
      return found;
    };
    await expect(client.prepare(REPO)).resolves.toBeUndefined();
    expect(ecr.calls.map((c) => c.operation)).toEqual(['DescribeRepositories', 'CreateRepository']);
  });

  it('with creation off, refuses with an error naming the setting, creating nothing', async () => {
    const { client } = setup({ createRepositories: false });
    const error = await client.prepare(REPO).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EcrRepositoryMissingError);
    expect(error).toBeInstanceOf(RegistryError);
    // The CLI prints RegistryErrors as written; the API answers 502 naming the registry.
    expect((error as Error).name).toBe('RegistryError');
    expect((error as RegistryError).code).toBe('NAME_UNKNOWN');
    expect((error as Error).message).toBe(`${HOST}: repository ${REPO} does not exist in ECR and IMAGESYNC_ECR_CREATE_REPOSITORIES is false`);
    expect(ecr.calls.map((c) => c.operation)).toEqual(['DescribeRepositories']);
  });

  it('asks once per repository, and again after a failure', async () => {
    const { client } = setup();
    ecr.error = new EcrApiError(HOST, `ECR DescribeRepositories ${REPO}`, 400, 'AccessDeniedException');
    await expect(client.prepare(REPO)).rejects.toThrow(`${HOST}: ECR DescribeRepositories ${REPO} failed: 400 AccessDeniedException`);
    await client.prepare(REPO);
    await client.prepare(REPO);
    await client.prepare('mirror/other');
    expect(ecr.calls.filter((c) => c.operation === 'DescribeRepositories').map((c) => c.repository)).toEqual([REPO, REPO, 'mirror/other']);
  });

  it('passes the job signal on', async () => {
    const { client } = setup();
    const signal = new AbortController().signal;
    await client.prepare(REPO, signal);
    expect(ecr.calls.map((c) => c.signal)).toEqual([signal, signal]);
  });

  it('asks nothing for a host without an account and region in its name (configured as ECR)', async () => {
    registry.addHost('ecr.internal.example');
    const { client } = setup({}, 'ecr.internal.example');
    await client.prepare(REPO);
    expect(ecr.calls).toEqual([]);
  });
});

describe('removeImage through BatchDeleteImage', () => {
  it('deletes the tag, and the image goes with its last tag: one fenced call', async () => {
    const image = registry.push(HOST, REPO, makeImage({ layers: 2 }), 'v1');
    const { client, profile } = setup();
    const { fence, changes, signals } = recordingFence();
    expect(await profile.removeImage!(client, plan([image], 'v1'), { fence })).toEqual([]);
    expect(deletions()).toEqual([[{ imageTag: 'v1' }]]);
    expect(changes.map((c) => c.what)).toEqual([`delete tag ${REPO}:v1 (BatchDeleteImage)`]);
    expect(ecr.calls.every((c) => c.fenced)).toBe(true);
    expect(ecr.calls[0]!.signal).toBe(signals[0]);
    const held = registry.read(HOST, REPO);
    expect(held.tags).toEqual({});
    expect(held.manifests).toEqual({});
    // ECR has no layer deletion: the v2 API was never asked to delete anything.
    expect(registry.count({ method: 'DELETE', path: '/blobs/' })).toBe(0);
  });

  it('keeps an image whose digest another tag shares, removing only the tag', async () => {
    const image = registry.push(HOST, REPO, makeImage(), 'v1');
    registry.setTag(HOST, REPO, 'stable', image.digest);
    const { client, profile } = setup();
    expect(await profile.removeImage!(client, plan([image], 'v1'), { fence: recordingFence().fence })).toEqual([]);
    expect(deletions()).toEqual([[{ imageTag: 'v1' }]]);
    const held = registry.read(HOST, REPO);
    expect(held.tags).toEqual({ stable: image.digest });
    expect(Object.keys(held.manifests)).toEqual([image.digest]);
  });

  it("deletes an index's children by digest once no tag reaches them, after the index", async () => {
    const children = [makeImage(), makeImage()];
    const index = registry.push(HOST, REPO, makeIndex(children), 'v1');
    const { client, profile } = setup();
    const { fence, changes } = recordingFence();
    expect(await profile.removeImage!(client, plan([index], 'v1'), { fence })).toEqual([]);
    expect(deletions()).toEqual([[{ imageTag: 'v1' }], ...children.map((c) => [{ imageDigest: c.digest }])]);
    expect(changes.map((c) => c.what)).toEqual([`delete tag ${REPO}:v1 (BatchDeleteImage)`, ...children.map((c) => `delete manifest ${REPO}@${c.digest} (BatchDeleteImage)`)]);
    expect(registry.read(HOST, REPO).manifests).toEqual({});
  });

  it("keeps the children another tag's index lists", async () => {
    const [shared, own, theirs] = [makeImage(), makeImage(), makeImage()];
    const ours = registry.push(HOST, REPO, makeIndex([shared, own]), 'v1');
    const other = registry.push(HOST, REPO, makeIndex([shared, theirs]), 'other');
    const { client, profile } = setup();
    expect(await profile.removeImage!(client, plan([ours], 'v1'), { fence: recordingFence().fence })).toEqual([]);
    expect(deletions()).toEqual([[{ imageTag: 'v1' }], [{ imageDigest: own.digest }]]);
    expect(Object.keys(registry.read(HOST, REPO).manifests).sort()).toEqual(manifestsOf(other).sort());
  });

  it('leaves a tag that points at another image, and deletes the untagged plan image by digest', async () => {
    const ours = registry.push(HOST, REPO, makeImage());
    const theirs = registry.push(HOST, REPO, makeImage(), 'v1');
    const { client, profile } = setup();
    const left = await profile.removeImage!(client, plan([ours], 'v1'), { fence: recordingFence().fence });
    expect(left).toEqual([`${HOST}/${REPO}:v1: points at another image now, left as it is`]);
    expect(deletions()).toEqual([[{ imageDigest: ours.digest }]]);
    expect(registry.read(HOST, REPO).tags).toEqual({ v1: theirs.digest });
    expect(Object.keys(registry.read(HOST, REPO).manifests)).toEqual([theirs.digest]);
  });

  it('without a tag to remove (a replaced image): only what no tag reaches, never a tag', async () => {
    const old = registry.push(HOST, REPO, makeImage());
    const current = registry.push(HOST, REPO, makeImage(), 'v1');
    const { client, profile } = setup();
    expect(await profile.removeImage!(client, plan([old, current]), { fence: recordingFence().fence })).toEqual([]);
    expect(deletions()).toEqual([[{ imageDigest: old.digest }]]);
    expect(registry.read(HOST, REPO).tags).toEqual({ v1: current.digest });
  });

  it('asks nothing for what is already gone', async () => {
    const image = makeImage();
    const { client, profile } = setup();
    expect(await profile.removeImage!(client, plan([image], 'v1'), { fence: recordingFence().fence })).toEqual([]);
    expect(ecr.calls).toEqual([]);
  });

  it('takes ImageNotFound as done, reports ImageReferencedByManifestList, and fails on any other failure', async () => {
    const { client, profile } = setup();
    // Gone between the look and the call.
    const image = registry.push(HOST, REPO, makeImage(), 'v1');
    ecr.failWith = () => 'ImageNotFound';
    expect(await profile.removeImage!(client, plan([image], 'v1'), { fence: recordingFence().fence })).toEqual([]);

    // Listed by an index no tag reaches (ECR sees it; a tag listing does not).
    const child = makeImage();
    registry.push(HOST, 'mirror/listed', makeIndex([child]));
    ecr.failWith = (id) => (id.imageDigest === child.digest ? 'ImageReferencedByManifestList' : undefined);
    const listed = { repository: 'mirror/listed', images: [{ digest: child.digest, manifests: [child.digest] }] };
    expect(await profile.removeImage!(client, listed, { fence: recordingFence().fence })).toEqual([
      `${HOST}/mirror/listed@${child.digest}: an index no tag reaches still lists it (ECR refuses: ImageReferencedByManifestList)`,
    ]);

    const kept = registry.push(HOST, REPO, makeImage(), 'v2');
    ecr.failWith = () => 'KmsError';
    const error = await profile.removeImage!(client, plan([kept], 'v2'), { fence: recordingFence().fence }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as Error).message).toBe(`${HOST}: ECR BatchDeleteImage ${REPO}:v2 failed: KmsError`);
  });

  it('stops before a step the fence refuses: nothing deleted', async () => {
    const image = registry.push(HOST, REPO, makeImage(), 'v1');
    const { client, profile } = setup();
    const { fence } = recordingFence(1);
    await expect(profile.removeImage!(client, plan([image], 'v1'), { fence })).rejects.toBeInstanceOf(LeaseLostError);
    expect(deletions()).toEqual([]);
    expect(registry.read(HOST, REPO).tags).toEqual({ v1: image.digest });
  });

  it('keeps the manifests when what else uses them cannot be told (an index past the bounds)', async () => {
    const image = registry.push(HOST, REPO, makeImage());
    registry.push(HOST, REPO, makeIndex([makeImage(), makeImage(), makeImage()]), 'big');
    const { client, profile } = setup();
    const left = await profile.removeImage!(client, plan([image]), { fence: recordingFence().fence, limits: { ...DEFAULT_LIMITS, maxManifests: 2 } });
    expect(left).toEqual([`${HOST}/${REPO}@${image.digest}: an image under another tag is past the bounds on what is read to tell what else uses the image; its manifests stay`]);
    expect(deletions()).toEqual([]);
  });

  it('goes the v2 way for a host without an account and region in its name', async () => {
    const host = 'ecr.internal.example';
    registry.addHost(host, { deleteTags: true });
    const image = registry.push(host, REPO, makeImage(), 'v1');
    const { client, profile } = setup({}, host);
    expect(await profile.removeImage!(client, plan([image], 'v1'), { fence: recordingFence().fence })).toEqual([]);
    expect(ecr.calls).toEqual([]);
    expect(registry.read(host, REPO).tags).toEqual({});
  });
});

describe('EcrApiError', () => {
  it('names the AWS error and the status, nothing of its message', () => {
    const error = new EcrApiError(HOST, 'ECR CreateRepository mirror/app', 400, 'AccessDeniedException');
    expect(error).toBeInstanceOf(RegistryError);
    expect(error.code).toBe('AccessDeniedException');
    expect(error.message).toBe(`${HOST}: ECR CreateRepository mirror/app failed: 400 AccessDeniedException`);
  });
});
