// Maps what went wrong to the status and problem of docs/api.md ("Errors"): bad input 4xx,
// a missing source 422, a registry that failed after retries 502 naming it and its code.
// Everything a registry can cause maps here: an error it answered (RegistryError, its code in the
// message), an answer breaking the protocol (RegistryProtocolError, a RegistryError too), bytes
// that do not match their digest, an answer too large, a URL it pointed at that policy refused.
import { ImageLimitError, SourceNotFoundError } from '../copy/errors.ts';
import { InvalidCursorError, StoreError } from '../store/types.ts';
import { RegistryError } from '../registry/errors.ts';
import { MalformedManifestError, ManifestFormatError } from '../registry/media-types.ts';
import { NetworkError, RefusedUrlError } from '../transport/errors.ts';
import { ForbiddenAddressError } from '../transport/address-guard.ts';
import { DigestError, DigestMismatchError } from '../util/digest.ts';
import { SizeLimitError } from '../util/stream.ts';
import { ChangeTimeoutError, ConflictError, describeError, SyncTimeoutError } from '../sync/errors.ts';
import { RecordedFailure } from '../sync/engine.ts';
import { CredentialsError } from '../auth/credentials.ts';
import { ApiError } from './problem.ts';

export function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof SourceNotFoundError) return new ApiError(422, 'source-not-found', 'Source image not found', error.message);
  if (error instanceof InvalidCursorError) return new ApiError(400, 'invalid-cursor', 'Bad request', error.message);
  if (error instanceof ManifestFormatError) return new ApiError(422, 'unsupported-image', 'Unsupported image', error.message);
  // What the registry serves is past a bound on one copy's work: the message names the setting.
  if (error instanceof ImageLimitError) return new ApiError(502, 'image-limit', 'Image exceeds a limit', error.message);
  if (isRegistryFailure(error)) return new ApiError(502, 'registry-failed', 'Registry failed', describeError(error));
  if (error instanceof ForbiddenAddressError) return new ApiError(403, 'address-not-allowed', 'Address not allowed', error.message);
  if (error instanceof ConflictError) return new ApiError(409, error.code, 'Conflict', error.message);
  if (error instanceof SyncTimeoutError) return new ApiError(502, 'sync-timeout', 'Sync timed out', error.message);
  // Another job's failure, joined: its recorded message is all there is.
  if (error instanceof RecordedFailure || error instanceof ChangeTimeoutError) return new ApiError(502, 'registry-failed', 'Registry failed', describeError(error));
  if (error instanceof CredentialsError) return new ApiError(503, 'credentials-unavailable', 'Registry credentials unavailable', error.message);
  if (error instanceof StoreError) return new ApiError(503, 'store-unavailable', 'State store unavailable', error.message);
  return undefined;
}

/** Failures attributable to a registry (or its network): 502, never 500. */
function isRegistryFailure(error: unknown): boolean {
  return (
    error instanceof RegistryError ||
    error instanceof NetworkError ||
    error instanceof DigestMismatchError ||
    error instanceof DigestError ||
    error instanceof RefusedUrlError ||
    // A manifest's bad content seen outside getManifest (which raises a RegistryProtocolError).
    error instanceof MalformedManifestError ||
    // Every capped read in the client reads a remote answer.
    error instanceof SizeLimitError
  );
}
