// How sync failures read in records and logs: the error's own message (already free of
// credentials and URL queries), one line.

export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, ' ').slice(0, 1000);
}

/** The request conflicts with the record's state (HTTP 409); `code` names the conflict. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The job no longer holds its record (it moved on to a new intent, or was taken over): it stops, changing nothing. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}

/** A sync ran past IMAGESYNC_SYNC_TIMEOUT: it is stopped and the record marked failed (a deletion is only stopped). The API answers 502. */
export class SyncTimeoutError extends Error {
  override readonly name = 'SyncTimeoutError';
}

/** A destination change (tag push, deletion step) outlasted its share of the lease: its outcome is unknown. The API answers 502. */
export class ChangeTimeoutError extends Error {
  override readonly name = 'ChangeTimeoutError';
}
