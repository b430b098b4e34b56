// An in-memory RecordStore for unit tests, with DynamoRecordStore's conditions copied exactly
// (lib/store/dynamodb.ts): version checks, the lease conditions, the fields a caller may write,
// cursors that must be ones it handed out. Records go in and out as copies, so a caller can never
// change stored state except through the interface. Every call is counted per operation, so tests
// can assert what a piece of work costs (an unchanged check: one update).
import { createHash } from 'node:crypto';
import { InvalidCursorError, type LeasePurpose, type RecordChanges, type RecordPage, type RecordStore, type RemovableField, type StoredRecord } from '../../../lib/store/types.ts';
import { decodeBase64Url, encodeBase64Url } from '../../../lib/util/base64url.ts';
import { isoSeconds } from '../../../lib/util/time.ts';

export type Operation = keyof RecordStore;

const OPERATIONS: Operation[] = ['create', 'get', 'update', 'delete', 'list', 'scanSegment', 'acquireLease', 'renewLease', 'releaseLease', 'dropLease', 'deleteLeased'];
const WRITES: Operation[] = ['create', 'update', 'delete', 'acquireLease', 'renewLease', 'releaseLease', 'dropLease', 'deleteLeased'];

// As in dynamodb.ts: what a caller may write, what the store keeps itself, what only leases write.
const WRITABLE = new Set(['source', 'destination', 'image', 'source_digest', 'status', 'synced_at', 'checked_at', 'error', 'generation', 'pending_digest', 'cleanup']);
const MAINTAINED = new Set(['id', 'version', 'created_at', 'updated_at']);
const LEASE_FIELDS = ['lease_owner', 'lease_until', 'lease_generation'] as const;
const DEFAULT_SEGMENT_LIMIT = 100;

/** A clock tests move by hand: shared by the store, the engine and the service under test. */
export interface FakeClock {
  now: () => number;
  advance(ms: number): void;
}

export function fakeClock(start = Date.parse('2026-11-27T10:00:00Z')): FakeClock {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

export class MemoryRecordStore implements RecordStore {
  readonly calls = Object.fromEntries(OPERATIONS.map((op) => [op, 0])) as Record<Operation, number>;
  readonly #records = new Map<string, StoredRecord>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Calls of these operations (all writes when none are named). */
  count(...operations: Operation[]): number {
    return (operations.length > 0 ? operations : WRITES).reduce((sum, op) => sum + this.calls[op], 0);
  }

  resetCalls(): void {
    for (const op of OPERATIONS) this.calls[op] = 0;
  }

  /** The stored record, uncounted (for assertions). */
  peek(id: string): StoredRecord | undefined {
    return copy(this.#records.get(id));
  }

  get size(): number {
    return this.#records.size;
  }

  async create(record: Omit<StoredRecord, 'version' | 'created_at' | 'updated_at'>): Promise<{ created: boolean; record: StoredRecord }> {
    this.calls.create++;
    const existing = this.#records.get(record.id);
    if (existing) return { created: false, record: copy(existing) };
    const time = isoSeconds(this.#now());
    const item = { ...writable(record), id: record.id, version: 1, created_at: time, updated_at: time } as StoredRecord;
    this.#records.set(record.id, copy(item));
    return { created: true, record: copy(item) };
  }

  async get(id: string): Promise<StoredRecord | undefined> {
    this.calls.get++;
    return copy(this.#records.get(id));
  }

  async update(id: string, expectedVersion: number, changes: RecordChanges, remove: RemovableField[] = []): Promise<StoredRecord | undefined> {
    this.calls.update++;
    return this.#write(id, (r) => r.version === expectedVersion, changes, remove);
  }

  async delete(id: string, expectedVersion?: number): Promise<boolean> {
    this.calls.delete++;
    const record = this.#records.get(id);
    if (!record || (expectedVersion !== undefined && record.version !== expectedVersion)) return false;
    return this.#records.delete(id);
  }

  async list(limit: number, cursor?: string): Promise<RecordPage> {
    this.calls.list++;
    return this.#scan(limit, cursor, () => true);
  }

  async scanSegment(segment: number, totalSegments: number, cursor?: string, limit = DEFAULT_SEGMENT_LIMIT): Promise<RecordPage> {
    this.calls.scanSegment++;
    if (!Number.isInteger(totalSegments) || totalSegments < 1 || !Number.isInteger(segment) || segment < 0 || segment >= totalSegments) {
      throw new RangeError(`segment ${segment} of ${totalSegments} is not a valid scan segment`);
    }
    return this.#scan(limit, cursor, (id) => segmentOf(id, totalSegments) === segment);
  }

  async acquireLease(id: string, token: string, ms: number, purpose?: LeasePurpose): Promise<StoredRecord | undefined> {
    this.calls.acquireLease++;
    checkDuration(ms);
    const now = this.#now();
    // Free, or run out (strictly: a lease is still valid at its very last millisecond); a sync
    // job's lease marks the record syncing and is refused while it is deleted, a removal's needs that.
    const fits = (r: StoredRecord) => purpose === undefined || (purpose === 'sync' ? r.status !== 'deleting' : r.status === 'deleting');
    return this.#write(id, (r) => (r.lease_until === undefined || r.lease_until < now) && fits(r), purpose === 'sync' ? { status: 'syncing' } : {}, [], (r) => {
      r.generation ??= 0;
      Object.assign(r, { lease_owner: token, lease_until: now + ms, lease_generation: r.generation });
    });
  }

  async renewLease(id: string, token: string, ms: number, changes: RecordChanges = {}, remove: RemovableField[] = []): Promise<StoredRecord | undefined> {
    this.calls.renewLease++;
    checkDuration(ms);
    const until = this.#now() + ms;
    return this.#write(id, held(token), changes, remove, (r) => {
      r.lease_until = until;
    });
  }

  async releaseLease(id: string, token: string, changes: RecordChanges = {}, remove: RemovableField[] = []): Promise<StoredRecord | undefined> {
    this.calls.releaseLease++;
    return this.#write(id, held(token), changes, remove, dropLeaseFields);
  }

  async dropLease(id: string, token: string): Promise<boolean> {
    this.calls.dropLease++;
    // On the owner alone: a job fenced out by a new generation may still give its lease up.
    return (await this.#write(id, (r) => r.lease_owner === token, {}, [], dropLeaseFields)) !== undefined;
  }

  async deleteLeased(id: string, token: string): Promise<boolean> {
    this.calls.deleteLeased++;
    const record = this.#records.get(id);
    if (!record || !held(token)(record)) return false;
    return this.#records.delete(id);
  }

  /** One conditional write: validated first (like building the UpdateExpression), then applied whole or not at all. */
  #write(id: string, condition: (r: StoredRecord) => boolean, changes: RecordChanges, remove: RemovableField[], internal?: (r: StoredRecord) => void): StoredRecord | undefined {
    const fields = writable(changes);
    for (const field of remove) {
      if (!WRITABLE.has(field)) throw new TypeError(`${field} cannot be removed from a record`);
      if (field in fields) throw new TypeError(`${field} is both changed and removed`);
    }
    const current = this.#records.get(id);
    // A missing item fails every condition (attribute_exists, or a comparison with nothing).
    if (!current || !condition(current)) return undefined;
    const next = copy(current);
    for (const field of remove) delete (next as unknown as Record<string, unknown>)[field];
    Object.assign(next, fields);
    internal?.(next);
    next.version = current.version + 1;
    next.updated_at = isoSeconds(this.#now());
    this.#records.set(id, next);
    return copy(next);
  }

  /** Pages in id order; a cursor is handed out only when another page has items, and it is the last id given. */
  #scan(limit: number, cursor: string | undefined, inSegment: (id: string) => boolean): RecordPage {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, not ${limit}`);
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const ids = [...this.#records.keys()].filter((id) => inSegment(id) && (after === undefined || id > after)).sort();
    const items = ids.slice(0, limit).map((id) => copy(this.#records.get(id))!);
    return ids.length > limit ? { items, nextCursor: encodeBase64Url(JSON.stringify({ id: items.at(-1)!.id })) } : { items };
  }
}

/** The fence: `token` holds the lease and the record is still at the generation it leased. */
function held(token: string): (r: StoredRecord) => boolean {
  // A comparison with a missing attribute is false in DynamoDB, even missing = missing.
  return (r) => r.lease_owner === token && r.generation !== undefined && r.generation === r.lease_generation;
}

function dropLeaseFields(r: StoredRecord): void {
  for (const field of LEASE_FIELDS) delete r[field];
}

/** The writable fields of `input` without undefined values; unknown keys throw, as in dynamodb.ts. */
function writable(input: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (MAINTAINED.has(key) || value === undefined) continue;
    if (!WRITABLE.has(key)) throw new TypeError(`${key} is not a record field`);
    out[key] = structuredClone(value);
  }
  return out;
}

function copy<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}

function checkDuration(ms: number): void {
  if (!Number.isFinite(ms) || ms <= 0) throw new RangeError(`lease duration must be a positive number of milliseconds, not ${ms}`);
}

/** DynamoDB spreads items over segments by a hash of the key: a stable hash does here. */
function segmentOf(id: string, total: number): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0) % total;
}

/** The id a cursor of ours carries; anything else is refused like DynamoRecordStore refuses it. */
function decodeCursor(cursor: string): string {
  let key: unknown;
  try {
    if (!/^[A-Za-z0-9_-]{1,4096}$/.test(cursor)) throw new Error('not base64url');
    key = JSON.parse(decodeBase64Url(cursor));
  } catch {
    throw new InvalidCursorError('invalid cursor');
  }
  const id = (key as { id?: unknown } | null)?.id;
  if (typeof key !== 'object' || key === null || Array.isArray(key) || Object.keys(key).length !== 1 || typeof id !== 'string' || id.length === 0) {
    throw new InvalidCursorError('invalid cursor');
  }
  return id;
}
