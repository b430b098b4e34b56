// GitHub Container Registry (ghcr.io). What differs, with the public record of it:
// - A PATCH larger than 4 MiB answers 416 (REGISTRY-NOTES; regclient and skopeo trackers): chunks
//   stay at 4 MiB when a blob must go in chunks.
// - Manifest DELETE answers 405: deletion goes through the GitHub Packages REST API (delete a
//   package version; a token with delete:packages), docs.github.com/rest/packages.
// - No referrers API (the `sha256-<hex>` fallback tag applies).
import { MEBIBYTE, type RegistryProfile } from './profile.ts';

export interface GhcrSettings {
  /** The GitHub REST API (IMAGESYNC_GITHUB_API_URL; GitHub Enterprise Server has its own). */
  apiUrl: string;
}

export const DEFAULT_GHCR_SETTINGS: GhcrSettings = { apiUrl: 'https://api.github.com' };

export function isGhcr(registry: string): boolean {
  return registry === 'ghcr.io';
}

export function ghcrProfile(_settings: GhcrSettings = DEFAULT_GHCR_SETTINGS): RegistryProfile {
  return {
    name: 'ghcr',
    upload: { mode: 'whole', chunkSize: 4 * MEBIBYTE, minChunk: 256 * 1024, maxChunk: 4 * MEBIBYTE },
    crossRepositoryMount: true,
    maxScopesPerToken: 32,
  };
}
