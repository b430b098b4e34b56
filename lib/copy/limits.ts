// Bounds on the work one image may cause, however its publisher built it: an index may list
// thousands of children, nest indexes in indexes, or list one child many times.

export interface CopyLimits {
  /** Distinct manifests in one image: the top one, an index's children, theirs. */
  maxManifests: number;
  /** Indexes nested in indexes below the top one (1: an index of indexes of images). */
  maxDepth: number;
  /** Bytes of all its manifests together (each is also capped at 4 MiB on its own). */
  maxManifestBytes: number;
}

/**
 * Real images stay far below: a multi-platform index with attestations has a few dozen
 * manifests of a few KiB, nested at most once.
 */
export const DEFAULT_LIMITS: CopyLimits = {
  maxManifests: 1000,
  maxDepth: 4,
  maxManifestBytes: 64 * 1024 * 1024,
};

/** Manifest requests in flight per copy, whatever the index's width. */
export const MANIFESTS_IN_FLIGHT = 8;

/** Children of one index copied at once. */
export const CHILDREN_AT_ONCE = 8;
