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
  /** Which worker holds the sync lease, and until when (epoch milliseconds). */
  lease_owner?: string;
  lease_until?: number;
  /**
   * What a deletion (or a change of source) is removing from the destination, written before the
   * first destructive step so that a retry after a failure at any step can finish the job.
   */
  cleanup?: Cleanup;
}

export interface Cleanup {
  /** The image being removed: the destination repository and the digest the record synced. */
  repository: string;
  digest: string;
  /** Manifests it consists of (the top one first, then an index's children) and their blobs. */
  manifests: string[];
  blobs: string[];
  /** Remove the record's tag as well (deletion), or only what nothing else uses (new source). */
  untag?: string;
  /** A throwaway manifest pushed to move the tag away (registries that refuse tag deletion). */
  throwaway?: string;
}

/** Fields a write may change: everything but the key and the bookkeeping the store maintains. */
export type RecordChanges = Partial<Omit<StoredRecord, 'id' | 'version' | 'created_at' | 'updated_at'>>;

/** Fields that may be removed by a write. */
export type RemovableField = 'image' | 'source_digest' | 'synced_at' | 'checked_at' | 'error' | 'lease_owner' | 'lease_until' | 'cleanup';

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
   * Takes the sync lease for `owner` until now + `ms`, if nobody holds it, it has run out, or
   * `owner` already holds it. Returns the record as written, undefined when someone else holds it.
   */
  acquireLease(id: string, owner: string, ms: number): Promise<StoredRecord | undefined>;

  /**
   * Writes `changes` and gives the lease up, only while `owner` still holds it.
   * Returns the record as written, undefined when the lease was lost meanwhile.
   */
  releaseLease(id: string, owner: string, changes?: RecordChanges, remove?: RemovableField[]): Promise<StoredRecord | undefined>;

  /** Extends a held lease; false when `owner` no longer holds it. */
  renewLease(id: string, owner: string, ms: number): Promise<boolean>;
}

/** The store could not be reached or refused a request (not a condition failure). */
export class StoreError extends Error {
  override readonly name = 'StoreError';
}

/** A list cursor that this store did not hand out. The API answers 400. */
export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
}
