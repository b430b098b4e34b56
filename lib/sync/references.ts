// A record keeps its references as the client sent them (Terraform compares the strings); the
// sync core works with them parsed. Each string is parsed once per process and kept: records are
// read again and again (every check, every request), their references rarely change.
import { formatReference, parseReference, tagged, type Reference, type TaggedReference } from '../reference/reference.ts';
import type { StoredRecord } from '../store/types.ts';

const parsed = new Map<string, Reference>();
/** Distinct references kept; beyond, the oldest go (a table of records has one pair each). */
const KEPT = 10_000;

function parse(text: string): Reference {
  let ref = parsed.get(text);
  if (!ref) {
    ref = Object.freeze(parseReference(text));
    if (parsed.size >= KEPT) parsed.delete(parsed.keys().next().value!);
    parsed.set(text, ref);
  }
  return ref;
}

export function sourceOf(record: Pick<StoredRecord, 'source'>): Reference {
  return parse(record.source);
}

/** A record's destination is a tag: the API refuses a pinned one before any record is written. */
export function destinationOf(record: Pick<StoredRecord, 'destination' | 'id'>): TaggedReference {
  const ref = tagged(parse(record.destination));
  if (!ref) throw new Error(`record ${record.id}: destination ${record.destination} is not a tag`);
  return ref;
}

/** One spelling per image (docker.io/library/x:latest for x): how sources are compared. */
export function sameReference(a: Reference, b: Reference): boolean {
  return formatReference(a) === formatReference(b);
}
