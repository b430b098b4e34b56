// A fence guards the destination changes a job makes on behalf of a record: moving its tag and
// each deletion step. Blobs and manifests pushed by digest need none: they are content, and do
// not change what any tag means. The sync engine's fence proves, right before each change, that
// the job still holds its record (lib/sync/engine.ts); `copy` from the command line has none.

export interface DestinationChange {
  /** For logs and errors: `push tag v1`, `delete manifest sha256:...`. */
  what: string;
  /** The tag is about to point at this digest. */
  tag?: string;
  /** A throwaway manifest is about to be pushed to move the tag away (deletion). */
  throwaway?: string;
}

/**
 * Runs `act` (one destination change) while the job provably holds its record, with the signal
 * the change must finish under. Throws, without running `act`, when the job lost the record.
 */
export type Fence = <T>(change: DestinationChange, act: (signal: AbortSignal) => Promise<T>) => Promise<T>;

/** No record to guard (the CLI): the change runs under the caller's signal. */
export function unfenced(signal?: AbortSignal): Fence {
  return (_change, act) => act(signal ?? new AbortController().signal);
}
