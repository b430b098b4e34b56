// The two HEAD requests that tell whether a record is still in sync: the destination tag still
// points at the digest the record synced, and (for a source tag) the source still has that digest.
import { parseReference, type Reference } from '../reference/reference.ts';
import type { RegistryClients } from '../registry/client.ts';
import { headManifest } from '../registry/manifest.ts';
import type { StoredRecord } from '../store/types.ts';

/** The digest part of `repo@sha256:...`. */
export function recordDigest(record: Pick<StoredRecord, 'image'>): string | undefined {
  const at = record.image?.lastIndexOf('@') ?? -1;
  return at < 0 ? undefined : record.image!.slice(at + 1);
}

export type DestinationState = 'current' | 'missing' | 'different';

/** HEAD on the destination tag. Registry errors propagate: the caller decides what they mean. */
export async function destinationState(clients: RegistryClients, record: StoredRecord, signal?: AbortSignal): Promise<DestinationState> {
  const ref = parseReference(record.destination);
  const head = await headManifest(clients.get(ref.registry), ref.repository, ref.tag!, signal);
  if (!head) return 'missing';
  return head.digest === recordDigest(record) ? 'current' : 'different';
}

/** HEAD on the source: its digest now, or undefined when it is gone. A pinned source is its digest. */
export async function sourceDigest(clients: RegistryClients, ref: Reference, signal?: AbortSignal): Promise<string | undefined> {
  if (ref.digest) {
    // Pinned: only existence matters, and a HEAD by digest answers that.
    const head = await headManifest(clients.get(ref.registry), ref.repository, ref.digest, signal);
    return head ? ref.digest : undefined;
  }
  const head = await headManifest(clients.get(ref.registry), ref.repository, ref.tag!, signal);
  return head?.digest;
}
