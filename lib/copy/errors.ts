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
