// Amazon ECR. What differs, with the public record of it:
// - PATCH answers 201, not 202 (regclient/regclient PR#82; dotnet/sdk-container-builds PR#279):
//   accepted by every upload (upload.ts).
// - Every chunk but the last must be at least 5 MiB, else LayerPartTooSmallException ("All layer
//   parts except the last part should be at least 5MB", dotnet/sdk-container-builds#424); the ECR
//   quotas page lists parts of 5 to 10 MiB, at most 4,200 parts per layer: the upload policy below.
// - A blob goes in one PATCH then the closing PUT, as docker push sends layers of any size to
//   ECR: one-request PUTs of large layers were reported capped at about 10 MB and answered with a
//   dropped connection rather than a 413 (dotnet/sdk PR#33019, dotnet/sdk-container-builds#424).
//   Chunks (5 to 10 MiB) only after a 413. PATCH bodies after the first were reported dropped
//   (aws/containers-roadmap#2831); its reporter later found them stored and only the answer's
//   `Range` header stuck at the first chunk. Uploads here never read `Range` (upload.ts follows
//   `Location` and counts its own offsets).
// - A push to a repository that does not exist drops the connection instead of answering
//   (aws/containers-roadmap#1970; dotnet/sdk-container-builds PR#279): prepareRepository finds the
//   repository (DescribeRepositories) before the first push and creates a missing one
//   (CreateRepository, IMAGESYNC_ECR_CREATE_REPOSITORIES); an existing one is never changed.
// - No v2 DELETE (405): BatchDeleteImage deletes (AWS CLI reference, batch-delete-image: by tag,
//   that tag, and the image with its last tag; by digest, the image and all its tags). It reports
//   images it did not delete in `failures` (API reference, ImageFailure: ImageNotFound,
//   ImageReferencedByManifestList, ...). ECR has no call that deletes a layer: layers are ECR's.
// - Listing tags through the registry API needs ecr:ListImages (containers/skopeo#726, PR#738):
//   deletion lists them (serverless.yml grants it).
// - GetAuthorizationToken tokens last 12 hours (lib/auth/ecr.ts renews them).
// - Media types with parameters (';') are refused (aws/containers-roadmap#2306): descriptors
//   with parameters are refused before any push (lib/registry/media-types.ts).
import { removeImage as removeByRegistryApi, type RemoveImageOptions } from '../../cleanup/remove-image.ts';
import { taggedContents } from '../../cleanup/contents.ts';
import type { Cleanup } from '../../store/types.ts';
import type { RegistryClient } from '../client.ts';
import { RegistryError } from '../errors.ts';
import { headManifest } from '../manifest.ts';
import { EcrApiError, ecrTarget, sdkEcrApi, type EcrApi, type EcrTarget, type ImageId } from './ecr-api.ts';
import { MEBIBYTE, type RegistryProfile } from './profile.ts';

export interface EcrSettings {
  /** Create a missing repository before the first push (IMAGESYNC_ECR_CREATE_REPOSITORIES, default true). */
  createRepositories: boolean;
  /** For repositories created here: MUTABLE or IMMUTABLE tags, scan on push, a KMS key (else AES256). */
  tagMutability: 'MUTABLE' | 'IMMUTABLE';
  scanOnPush: boolean;
  kmsKey?: string;
}

export const DEFAULT_ECR_SETTINGS: EcrSettings = { createRepositories: true, tagMutability: 'MUTABLE', scanOnPush: false };

export function isEcr(registry: string): boolean {
  return ecrTarget(registry) !== undefined;
}

/**
 * The destination repository is missing and may not be created. A RegistryError (name and all):
 * the API answers 502 naming the registry, and the message names the setting.
 */
export class EcrRepositoryMissingError extends RegistryError {
  constructor(registry: string, repository: string) {
    super(registry, `push to ${repository}`, 404, [{ code: 'NAME_UNKNOWN' }]);
    this.message = `${registry}: repository ${repository} does not exist in ECR and IMAGESYNC_ECR_CREATE_REPOSITORIES is false`;
  }
}

export function ecrProfile(settings: EcrSettings = DEFAULT_ECR_SETTINGS, api: EcrApi = sdkEcrApi()): RegistryProfile {
  return {
    name: 'ecr',
    upload: { mode: 'stream', chunkSize: 10 * MEBIBYTE, minChunk: 5 * MEBIBYTE, maxChunk: 10 * MEBIBYTE, maxChunks: 4_200 },
    crossRepositoryMount: true,
    maxScopesPerToken: 32,

    async prepareRepository(client, repository, signal) {
      // A host configured as ECR without the account and region in its name: nothing to ask.
      const target = ecrTarget(client.registry);
      if (!target) return;
      if (await api.repositoryExists(target, repository, signal)) return;
      if (!settings.createRepositories) throw new EcrRepositoryMissingError(client.registry, repository);
      await api.createRepository(target, repository, { tagMutability: settings.tagMutability, scanOnPush: settings.scanOnPush, kmsKey: settings.kmsKey }, signal);
    },

    async removeImage(client, plan, options) {
      const target = ecrTarget(client.registry);
      return target ? removeWithBatchDelete(api, target, client, plan, options) : removeByRegistryApi(client, plan, options);
    },
  };
}

/**
 * The rules of lib/cleanup/remove-image.ts, through BatchDeleteImage: the tag only while it still
 * points at one of the plan's images; then each of the plan's manifests no tag reaches, by digest
 * (a digest delete takes every tag on it, so only untagged ones), top manifests before an index's
 * children (ECR refuses to delete a manifest an index still lists: ImageReferencedByManifestList).
 * Every BatchDeleteImage runs under the fence. Returns what stayed and why.
 */
export async function removeWithBatchDelete(api: EcrApi, target: EcrTarget, client: RegistryClient, plan: Cleanup, options: RemoveImageOptions): Promise<string[]> {
  const { repository } = plan;
  const { signal, fence } = options;
  const where = `${client.registry}/${repository}`;
  const images = plan.images.map((image) => image.digest);
  const left: string[] = [];

  const remove = async (imageId: ImageId, what: string): Promise<'deleted' | 'absent' | 'listed'> => {
    const result = await fence({ what: `${what} (BatchDeleteImage)` }, (fenced) => api.batchDeleteImage(target, repository, [imageId], fenced));
    const failure = result.failures[0];
    if (!failure) return 'deleted';
    // Gone already (another attempt, or someone else): what this step wanted.
    if (failure.code === 'ImageNotFound') return 'absent';
    if (failure.code === 'ImageReferencedByManifestList') return 'listed';
    throw new EcrApiError(client.registry, `ECR BatchDeleteImage ${repository}${imageId.imageTag ? `:${imageId.imageTag}` : `@${imageId.imageDigest}`}`, 0, failure.code);
  };

  if (plan.untag) {
    const head = await headManifest(client, repository, plan.untag, signal);
    if (head && !images.includes(head.digest)) left.push(`${where}:${plan.untag}: points at another image now, left as it is`);
    // By tag: the tag goes, and the image with it when that was its last tag.
    else if (head) await remove({ imageTag: plan.untag }, `delete tag ${repository}:${plan.untag}`);
  }

  const tagged = await taggedContents(client, repository, signal, options.limits);
  if (!tagged || tagged.manifestsUnknown) {
    const why = tagged ? 'an image under another tag is past the bounds on what is read' : 'the repository has too many tags';
    left.push(`${where}@${images.join(', ')}: ${why} to tell what else uses the image; its manifests stay`);
    return left;
  }
  // Top first, then children, as the plan lists them: an index goes before what it lists.
  const manifests = [...new Set(plan.images.flatMap((image) => image.manifests ?? [image.digest]))];
  for (const manifest of manifests) {
    if (tagged.manifests.has(manifest)) continue;
    // Looked at first: an index deleted with its last tag needs no call.
    if (!(await headManifest(client, repository, manifest, signal))) continue;
    const outcome = await remove({ imageDigest: manifest }, `delete manifest ${repository}@${manifest}`);
    if (outcome === 'listed') left.push(`${where}@${manifest}: an index no tag reaches still lists it (ECR refuses: ImageReferencedByManifestList)`);
  }
  return left;
}
