// Maps what went wrong to the status and problem the contract documents: bad input 4xx,
// a missing source 422, a registry that failed after retries 502 naming it and its code.
import { SourceNotFoundError } from '../copy/errors.ts';
import { InvalidCursorError, StoreError } from '../store/types.ts';
import { RegistryError } from '../registry/errors.ts';
import { ManifestFormatError } from '../registry/media-types.ts';
import { NetworkError, RefusedUrlError } from '../transport/errors.ts';
import { ForbiddenAddressError } from '../transport/address-guard.ts';
import { DigestError, DigestMismatchError } from '../util/digest.ts';
import { ConflictError, describeError } from '../sync/errors.ts';
import { RecordChangedError } from '../sync/deletion.ts';
import { ApiError } from './problem.ts';

export function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof SourceNotFoundError) return new ApiError(422, 'source-not-found', 'Source image not found', error.message);
  if (error instanceof InvalidCursorError) return new ApiError(400, 'invalid-cursor', 'Bad request', error.message);
  if (error instanceof ManifestFormatError) return new ApiError(422, 'unsupported-image', 'Unsupported image', error.message);
  if (error instanceof RegistryError || error instanceof NetworkError || error instanceof DigestMismatchError || error instanceof DigestError || error instanceof RefusedUrlError) {
    return new ApiError(502, 'registry-failed', 'Registry failed', describeError(error));
  }
  if (error instanceof ForbiddenAddressError) return new ApiError(403, 'address-not-allowed', 'Address not allowed', error.message);
  if (error instanceof ConflictError) return new ApiError(409, error.code, 'Conflict', error.message);
  if (error instanceof RecordChangedError) return new ApiError(409, 'record-changed', 'Conflict', error.message);
  if (error instanceof StoreError) return new ApiError(503, 'store-unavailable', 'State store unavailable', error.message);
  return undefined;
}
