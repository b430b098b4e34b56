// GHCR's differences from distribution 2.8, emulated in front of the real registry from what is
// publicly recorded (REGISTRY-NOTES "Per registry"): a PATCH over 4 MiB answers 416, manifest
// DELETE answers 405 (deletion is the GitHub Packages API: test/harness/github-api.ts), and there
// is no referrers API (404).
import { ociError, type Quirk } from '../quirk-proxy.ts';

export const GHCR_MAX_PATCH = 4 * 1024 * 1024;

const isUpload = (path: string) => /^\/v2\/.+\/blobs\/uploads\//.test(path);
const isManifest = (path: string) => /^\/v2\/.+\/manifests\/[^/]+$/.test(path);
const isReferrers = (path: string) => /^\/v2\/.+\/referrers\/[^/]+$/.test(path);

/** A PATCH whose body is over 4 MiB: 416, the body unread. */
export const patchOver4MiB: Quirk = {
  request(req, res, raw) {
    if (req.method !== 'PATCH' || !isUpload(req.path)) return false;
    if (Number(req.headers['content-length'] ?? 0) <= GHCR_MAX_PATCH) return false;
    raw.resume();
    return ociError(res, 416, 'BLOB_UPLOAD_INVALID', 'chunk larger than 4 MiB');
  },
};

export const noManifestDelete: Quirk = {
  request(req, res) {
    if (req.method !== 'DELETE' || !isManifest(req.path)) return false;
    return ociError(res, 405, 'UNSUPPORTED', 'the operation is unsupported');
  },
};

export const noReferrers: Quirk = {
  request(req, res) {
    if (!isReferrers(req.path)) return false;
    return ociError(res, 404, 'NOT_FOUND', 'not found');
  },
};

export function ghcrQuirks(): Quirk[] {
  return [patchOver4MiB, noManifestDelete, noReferrers];
}

/**
 * Not GHCR's: a registry that caps a whole-blob PUT (413 over `bytes`), so that uploads go in
 * chunks and the 4 MiB PATCH limit is met.
 */
export function refuseWholeUploadsOver(bytes: number): Quirk {
  return {
    request(req, res, raw) {
      if (req.method !== 'PUT' || !isUpload(req.path)) return false;
      if (Number(req.headers['content-length'] ?? 0) <= bytes) return false;
      raw.resume();
      return ociError(res, 413, 'SIZE_INVALID', 'request body too large');
    },
  };
}
