// What a client asks to have mirrored, validated and normalized (lib/api/input.ts builds it).
import type { Reference, TaggedReference } from '../reference/reference.ts';

export interface ImageSpec {
  /** The record id: deterministic from the normalized destination. */
  id: string;
  /** As sent. */
  source: string;
  destination: string;
  sourceRef: Reference;
  destinationRef: TaggedReference;
}
