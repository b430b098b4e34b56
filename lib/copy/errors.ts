// Errors that say what went wrong in the user's terms: which image, which side.
import { formatReference, type Reference } from '../reference/reference.ts';
import { NotFoundError, type RegistryError } from '../registry/errors.ts';

/** The source image (tag or digest) does not exist. The API answers 422. */
export class SourceNotFoundError extends Error {
  override readonly name = 'SourceNotFoundError';
  constructor(
    readonly source: Reference,
    override readonly cause: RegistryError,
  ) {
    super(`source image ${formatReference(source)} not found (${cause.registry} answered ${cause.status}${cause.code ? ` ${cause.code}` : ''})`);
  }
}

export function sourceNotFound(source: Reference, error: unknown): unknown {
  return error instanceof NotFoundError ? new SourceNotFoundError(source, error) : error;
}

/**
 * The image exceeds a bound on the work one copy may do (manifests, index depth, manifest bytes):
 * whoever publishes an image must not be able to make a mirror do unbounded work. The API
 * answers 502, naming the bound and the setting that raises it.
 */
export class ImageLimitError extends Error {
  override readonly name = 'ImageLimitError';
  constructor(
    readonly registry: string,
    message: string,
  ) {
    super(`${registry}: ${message}`);
  }
}
