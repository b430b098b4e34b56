// Amazon ECR. What differs, with the public record of it:
// - PATCH answers 201, not 202 (regclient/regclient PR#82): accepted by every upload (upload.ts).
// - Every chunk but the last must be at least 5 MiB, else LayerPartTooSmallException
//   (dotnet/sdk-container-builds#424); the ECR quotas page lists parts of 5 to 10 MiB, at most
//   4,200 parts per layer. Whole-blob PUTs are used first: PATCH bodies after the first have been
//   reported dropped (aws/containers-roadmap#2831).
// - A push to a repository that does not exist drops the connection instead of answering
//   (aws/containers-roadmap#1970): repositories are created (or found) before the first push.
// - No v2 DELETE: BatchDeleteImage deletes (by tag: that tag, and the image with its last tag;
//   by digest: the image and all its tags; AWS CLI reference, batch-delete-image).
// - GetAuthorizationToken tokens last 12 hours (lib/auth/ecr.ts renews them).
// - Media types with parameters (';') are refused (aws/containers-roadmap#2306): descriptors
//   with parameters are refused before any push (lib/registry/media-types.ts).
import { ecrRegistry } from '../../auth/ecr.ts';
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
  return ecrRegistry(registry) !== undefined;
}

export function ecrProfile(_settings: EcrSettings = DEFAULT_ECR_SETTINGS): RegistryProfile {
  return {
    name: 'ecr',
    upload: { mode: 'whole', chunkSize: 10 * MEBIBYTE, minChunk: 5 * MEBIBYTE, maxChunk: 10 * MEBIBYTE, maxChunks: 4_200 },
    crossRepositoryMount: true,
    maxScopesPerToken: 32,
  };
}
