// Google Artifact Registry (*-docker.pkg.dev) and Container Registry (gcr.io and its regional
// hosts). What differs, with the public record of it (emulated in test/harness/quirks/gar.ts):
// - No chunked uploads: "Artifact Registry does not support Docker chunked uploads ... You must use
//   monolithic uploads" (cloud.google.com/artifact-registry/docs/reference/docker-api, quoted in
//   dotnet/sdk-container-builds PR#287). Hence 'whole-only': one PUT per blob, and a body refused as
//   too large (413) is a final error saying so, never a fall back to PATCH chunks (lib/copy/blob.ts).
// - Tokens are scoped per repository (REGISTRY-NOTES): a cross-repository mount, which needs one
//   token for two repositories, is not attempted; blobs are uploaded instead.
// - A read-only token reads, then gets 401 when an upload starts (REGISTRY-NOTES): the error names
//   the upload and the registry (lib/registry/client.ts error()).
// - Deleting a digest that still has tags is refused, 400 GOOGLE_MANIFEST_DANGLING_TAG, while
//   DELETE manifests/<tag> deletes the tag (genuinetools/reg#136,
//   GoogleCloudPlatform/docker-credential-gcr#73). The v2 path does it in that order: the tag
//   first, a manifest only once no tag reaches it (lib/cleanup/remove-image.ts).
// - Credentials: user `oauth2accesstoken` with an access token, or `_json_key` with the key file's JSON.
import { hostWithoutPort } from '../../reference/reference.ts';
import { MEBIBYTE, type RegistryProfile } from './profile.ts';

export function isGar(registry: string): boolean {
  const host = hostWithoutPort(registry).toLowerCase();
  return host.endsWith('-docker.pkg.dev') || host === 'gcr.io' || host.endsWith('.gcr.io');
}

export const gar: RegistryProfile = {
  name: 'gar',
  // The chunk sizes are never used ('whole-only'); they keep the policy's shape.
  upload: { mode: 'whole-only', chunkSize: 8 * MEBIBYTE, minChunk: 8 * MEBIBYTE, maxChunk: 8 * MEBIBYTE },
  crossRepositoryMount: false,
  maxScopesPerToken: 1,
};
