// The two HEAD requests that tell whether a record is still in sync: the destination tag still
// points at the digest the record synced, and (for a source tag) the source still has that digest.
import { manifestRef, type Reference } from '../reference/reference.ts';
import type { RegistryClients } from '../registry/client.ts';
import { headManifest, manifestDigest, type ManifestLookup } from '../registry/manifest.ts';
import type { StoredRecord } from '../store/types.ts';
import { destinationOf, sourceOf } from './references.ts';

/** The digest part of `repo@sha256:...`. */
export function recordDigest(record: Pick<StoredRecord, 'image'>): string | undefined {
  const at = record.image?.lastIndexOf('@') ?? -1;
  return at < 0 ? undefined : record.image!.slice(at + 1);
}

export type DestinationState = 'current' | 'missing' | 'different';

/** HEAD on the destination tag. Registry errors propagate: the caller decides what they mean. */
export async function destinationState(clients: RegistryClients, record: StoredRecord, signal?: AbortSignal): Promise<DestinationState> {
  const ref = destinationOf(record);
  const head = await headManifest(clients.get(ref.registry), ref.repository, ref.tag, signal);
  if (!head) return 'missing';
  return head.digest === recordDigest(record) ? 'current' : 'different';
}

/**
 * HEAD on the source: its digest now, or undefined when it is gone. A source pinned by digest
 * cannot move: it is its digest, no request needed (if it vanished, the next copy says so).
 * A HEAD answered without Docker-Content-Digest falls back to a GET (headManifest), as the copy does.
 */
export async function sourceDigest(clients: RegistryClients, ref: Reference, signal?: AbortSignal): Promise<string | undefined> {
  if (ref.digest) return ref.digest;
  const head = await headManifest(clients.get(ref.registry), ref.repository, manifestRef(ref), signal);
  return head?.digest;
}

/**
 * The source's digest, or the registry's own NotFoundError when it is missing (its code, e.g.
 * MANIFEST_UNKNOWN, costs one GET: HEAD answers have no body). For answering a missing source;
 * the scheduled check's `judge` stays HEAD-only.
 */
export async function lookupSource(clients: RegistryClients, ref: Reference, signal?: AbortSignal): Promise<ManifestLookup> {
  if (ref.digest) return { digest: ref.digest };
  return manifestDigest(clients.get(ref.registry), ref.repository, manifestRef(ref), signal);
}

export type Verdict =
  | { kind: 'unchanged' }
  | { kind: 'sync'; reason: 'source moved' | 'destination missing' | 'destination overwritten' | 'not synced' | 'previous image pending removal' }
  | { kind: 'source missing' };

/** Runs a registry request, e.g. inside a per-registry concurrency limit. */
export type Around = <T>(registry: string, request: () => Promise<T>) => Promise<T>;

const direct: Around = (_registry, request) => request();

/**
 * Whether a record needs a sync, from one HEAD on the source tag (none for a pinned source) and
 * one HEAD on the destination tag: the whole cost of checking an unchanged record.
 */
export async function judge(clients: RegistryClients, record: StoredRecord, around: Around = direct, signal?: AbortSignal): Promise<Verdict> {
  const source = sourceOf(record);
  const destination = destinationOf(record);
  const [digest, state] = await Promise.all([
    around(source.registry, () => sourceDigest(clients, source, signal)),
    around(destination.registry, () => destinationState(clients, record, signal)),
  ]);
  if (digest === undefined) return { kind: 'source missing' };
  if (record.status !== 'synced') return { kind: 'sync', reason: 'not synced' };
  if (digest !== record.source_digest) return { kind: 'sync', reason: 'source moved' };
  if (state === 'missing') return { kind: 'sync', reason: 'destination missing' };
  if (state === 'different') return { kind: 'sync', reason: 'destination overwritten' };
  if (record.cleanup) return { kind: 'sync', reason: 'previous image pending removal' };
  return { kind: 'unchanged' };
}
