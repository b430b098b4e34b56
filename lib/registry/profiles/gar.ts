// Google Artifact Registry (*-docker.pkg.dev) and Container Registry (gcr.io and its regional
// hosts). What differs, with the public record of it:
// - No chunked uploads: one-request uploads only (REGISTRY-NOTES; go-containerregistry and
//   regclient upload whole blobs there).
// - Tokens are scoped per repository: a cross-repository mount (one token for two repositories)
//   is not attempted.
// - A read-only token reads, then gets 401 when an upload starts: the error says so.
// - Deleting a digest that still has tags is refused: tags go first (the v2 path does that).
import { MEBIBYTE, type RegistryProfile } from './profile.ts';

export function isGar(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '');
  return host.endsWith('-docker.pkg.dev') || host === 'gcr.io' || host.endsWith('.gcr.io');
}

export const gar: RegistryProfile = {
  name: 'gar',
  upload: { mode: 'whole-only', chunkSize: 8 * MEBIBYTE, minChunk: 8 * MEBIBYTE, maxChunk: 8 * MEBIBYTE },
  crossRepositoryMount: false,
  maxScopesPerToken: 1,
};
