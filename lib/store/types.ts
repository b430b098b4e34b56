// What imagesync keeps per sync record, and the store interface the API, the sync engine and the
// scheduled check use. One implementation: DynamoDB (lib/store/dynamodb.ts), the same code for
// AWS, the embedded dynalite of `serve`, and any endpoint given by AWS_ENDPOINT_URL_DYNAMODB.

export type SyncStatus = 'synced' | 'syncing' | 'failed' | 'deleting';

export interface StoredRecord {
  /** URL-safe, deterministic from the normalized destination (lib/api/ids.ts). */
  id: string;
  /** Exactly as the client sent them: Terraform compares them. */
  source: string;
  destination: string;
  /** The destination pinned by digest, once synced. */
  image?: string;
  /** Digest the source resolved to at the last sync. */
  source_digest?: string;
  status: SyncStatus;
  /** ISO 8601, second precision, UTC. */
  synced_at?: string;
  checked_at?: string;
  /** Only while status is failed. */
  error?: string;

  // Internal bookkeeping, never shown by the API.
  /** Incremented by every write; writes are conditional on it (optimistic concurrency). */
  version: number;
  created_at: string;
  updated_at: string;
  /**
   * The record's intent: raised by every change of what the destination should become (a new
   * source, a deletion). A job works for the generation it leased; once the record moves on, the
   * job's fenced writes fail and it stops without touching the destination again.
   */
  generation?: number;
  /** The job holding the sync lease (a token of its own), until when (epoch ms), for which generation. */
  lease_owner?: string;
  lease_until?: number;
  lease_generation?: number;
  /**
   * A digest a sync job is about to point the destination tag at, written under the lease right
   * before the tag moves. Should the job not get to record its outcome (it died, or the record
   * moved on), the next job knows the image at the tag may be one of ours, to remove.
   */
  pending_digest?: string;
  /**
   * What a deletion (or a change of source) is removing from the destination, written before the
   * first destructive step so that a retry after a failure at any step can finish the job.
   */
  cleanup?: Cleanup;
}

export interface Cleanup {
  /** The destination repository. */
  repository: string;
  /** Images to remove where nothing else uses them. */
  images: CleanupImage[];
  /** Remove the record's tag as well (deletion), or only what nothing else uses (new source). */
  untag?: string;
  /** A throwaway manifest pushed to move the tag away (registries that refuse tag deletion). */
  throwaway?: string;
}

export interface CleanupImage {
  /** The image's top manifest. */
  digest: string;
  /**
   * What it consists of (the top manifest first, then an index's children) and its blobs:
   * resolved before the first destructive step, since a deleted manifest can no longer be read.
   */
  manifests?: string[];
  blobs?: string[];
}

/** Fields a write may change: everything but the key and the bookkeeping the store maintains. */
export type RecordChanges = Partial<Omit<StoredRecord, 'id' | 'version' | 'created_at' | 'updated_at' | 'lease_owner' | 'lease_until' | 'lease_generation'>>;

/** Fields that may be removed by a write. */
export type RemovableField = 'image' | 'source_digest' | 'synced_at' | 'checked_at' | 'error' | 'pending_digest' | 'cleanup';

export type LeasePurpose = 'sync' | 'remove';

export interface RecordPage {
  items: StoredRecord[];
  /** Opaque, URL-safe; absent on the last page. */
  nextCursor?: string;
}

export interface RecordStore {
  /** Creates the record unless its id exists; the existing one is returned when it does. */
  create(record: Omit<StoredRecord, 'version' | 'created_at' | 'updated_at'>): Promise<{ created: boolean; record: StoredRecord }>;

  /** The record, read strongly consistent. */
  get(id: string): Promise<StoredRecord | undefined>;

  /**
   * Applies `changes` (and removes `remove`) if the stored version is still `expectedVersion`.
   * Returns the record as written, or undefined when the version moved on or the record is gone.
   */
  update(id: string, expectedVersion: number, changes: RecordChanges, remove?: RemovableField[]): Promise<StoredRecord | undefined>;

  /** Deletes the record if the stored version is still `expectedVersion` (or unconditionally without one). */
  delete(id: string, expectedVersion?: number): Promise<boolean>;

  /** A page of records in no particular order; `cursor` from the previous page. */
  list(limit: number, cursor?: string): Promise<RecordPage>;

  /** One segment of a parallel scan (DynamoDB Scan with Segment/TotalSegments). */
  scanSegment(segment: number, totalSegments: number, cursor?: string, limit?: number): Promise<RecordPage>;

  /**
   * Takes the lease for the job `token` until now + `ms`, if nobody holds it or it ran out; the
   * job works for the record's current generation. A `sync` job also marks the record `syncing`,
   * and gets no lease on a record being deleted; a `remove` job gets one only on a record being
   * deleted. (So once a job lets go, `synced` or `failed` is its own outcome, not an older one.)
   * The record as written, or undefined.
   */
  acquireLease(id: string, token: string, ms: number, purpose?: LeasePurpose): Promise<StoredRecord | undefined>;

  /**
   * The fence: extends the lease to now + `ms` (and applies `changes`) only while `token` holds it
   * and the record is still at the generation the job leased. Undefined when the job lost the
   * record (taken over, moved on, gone): it must not touch the destination again.
   */
  renewLease(id: string, token: string, ms: number, changes?: RecordChanges, remove?: RemovableField[]): Promise<StoredRecord | undefined>;

  /** Writes the job's outcome and gives the lease up, under the same condition as renewLease. */
  releaseLease(id: string, token: string, changes?: RecordChanges, remove?: RemovableField[]): Promise<StoredRecord | undefined>;

  /** Gives the lease up without writing anything else (a job that stops); false when not held. */
  dropLease(id: string, token: string): Promise<boolean>;

  /** Deletes the record, under the same condition as renewLease (the last step of a deletion). */
  deleteLeased(id: string, token: string): Promise<boolean>;
}

/** The store could not be reached or refused a request (not a condition failure). */
export class StoreError extends Error {
  override readonly name = 'StoreError';
}

/** A list cursor that this store did not hand out. The API answers 400. */
export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
}
