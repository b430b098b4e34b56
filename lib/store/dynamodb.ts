// The RecordStore on DynamoDB. Every write is conditional (on `version`, or on the lease owner), so
// concurrent API requests and check workers never overwrite each other: the loser gets undefined.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DeleteCommandInput, DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  type Cleanup,
  InvalidCursorError,
  type LeasePurpose,
  StoreError,
  type RecordChanges,
  type RecordPage,
  type RecordStore,
  type RemovableField,
  type StoredRecord,
} from './types.ts';
import { decodeBase64Url, encodeBase64Url } from '../util/base64url.ts';
import { isoSeconds } from '../util/time.ts';

export { InvalidCursorError };

/** Fields a caller may write; the rest of StoredRecord the store maintains itself. */
const WRITABLE = new Set(['source', 'destination', 'image', 'source_digest', 'status', 'synced_at', 'checked_at', 'error', 'generation', 'pending_digest', 'cleanup']);
/** Store-maintained fields, skipped when a caller spreads a whole record into `changes`. */
const MAINTAINED = new Set(['id', 'version', 'created_at', 'updated_at']);
/** scanSegment without a limit: a bounded page rather than a whole segment in memory. */
const DEFAULT_SEGMENT_LIMIT = 100;
/** Written only by the lease operations below. */
const LEASE_FIELDS = ['lease_owner', 'lease_until', 'lease_generation'];

type Item = Record<string, unknown>;

export class DynamoRecordStore implements RecordStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #now: () => number;

  constructor(options: { client: DynamoDBClient; table: string; now?: () => number }) {
    // removeUndefinedValues: optional fields left undefined are simply not stored.
    this.#doc = DynamoDBDocumentClient.from(options.client, { marshallOptions: { removeUndefinedValues: true } });
    this.#table = options.table;
    this.#now = options.now ?? Date.now;
  }

  async create(record: Omit<StoredRecord, 'version' | 'created_at' | 'updated_at'>): Promise<{ created: boolean; record: StoredRecord }> {
    // Bounded: the existing record could be deleted between our PutItem and GetItem; then retry.
    for (let attempt = 1; ; attempt++) {
      const time = isoSeconds(this.#now());
      const item = { ...writable(record), id: record.id, version: 1, created_at: time, updated_at: time } as StoredRecord;
      try {
        await this.#doc.send(new PutCommand({ TableName: this.#table, Item: item, ConditionExpression: 'attribute_not_exists(id)' }));
        return { created: true, record: item };
      } catch (error) {
        if (!isConditionFailure(error)) throw storeError('PutItem', this.#table, error);
      }
      const existing = await this.get(record.id);
      if (existing) return { created: false, record: existing };
      if (attempt === 3) throw new StoreError(`DynamoDB PutItem on table ${this.#table}: record ${record.id} keeps appearing and disappearing`);
    }
  }

  async get(id: string): Promise<StoredRecord | undefined> {
    try {
      const out = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: { id }, ConsistentRead: true }));
      return out.Item && fromItem(out.Item);
    } catch (error) {
      throw storeError('GetItem', this.#table, error);
    }
  }

  async update(id: string, expectedVersion: number, changes: RecordChanges, remove: RemovableField[] = []): Promise<StoredRecord | undefined> {
    const update = new Update(isoSeconds(this.#now()), changes, remove);
    const condition = `${update.name('version')} = ${update.value('expected', expectedVersion)}`;
    return this.#write('update', id, update, condition);
  }

  async delete(id: string, expectedVersion?: number): Promise<boolean> {
    // attribute_exists without a version: "nothing was there" must answer false, not true.
    const input: DeleteCommandInput =
      expectedVersion === undefined
        ? { TableName: this.#table, Key: { id }, ConditionExpression: 'attribute_exists(#id)', ExpressionAttributeNames: { '#id': 'id' } }
        : {
            TableName: this.#table,
            Key: { id },
            ConditionExpression: '#version = :expected',
            ExpressionAttributeNames: { '#version': 'version' },
            ExpressionAttributeValues: { ':expected': expectedVersion },
          };
    try {
      await this.#doc.send(new DeleteCommand(input));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw storeError('DeleteItem', this.#table, error);
    }
  }

  async list(limit: number, cursor?: string): Promise<RecordPage> {
    return this.#scan(limit, cursor);
  }

  async scanSegment(segment: number, totalSegments: number, cursor?: string, limit = DEFAULT_SEGMENT_LIMIT): Promise<RecordPage> {
    if (!Number.isInteger(totalSegments) || totalSegments < 1 || !Number.isInteger(segment) || segment < 0 || segment >= totalSegments) {
      throw new RangeError(`segment ${segment} of ${totalSegments} is not a valid scan segment`);
    }
    return this.#scan(limit, cursor, { Segment: segment, TotalSegments: totalSegments });
  }

  async acquireLease(id: string, token: string, ms: number, purpose?: LeasePurpose): Promise<StoredRecord | undefined> {
    checkDuration(ms);
    const now = this.#now();
    const update = new Update(isoSeconds(now), purpose === 'sync' ? { status: 'syncing' } : {});
    const [generation, until] = [update.name('generation'), update.name('lease_until')];
    update.set('lease_owner', update.value('token', token));
    update.set('lease_until', update.value('until', now + ms));
    // Records written before generations existed start at 0; the job works for the current one.
    update.set('generation', `if_not_exists(${generation}, ${update.value('zero', 0)})`);
    update.set('lease_generation', `if_not_exists(${generation}, ${update.value('zero', 0)})`);
    // attribute_exists(id): UpdateItem would otherwise create a record out of nothing.
    let condition = `attribute_exists(${update.name('id')}) AND (attribute_not_exists(${until}) OR ${until} < ${update.value('now', now)})`;
    if (purpose) condition += ` AND ${update.name('status')} ${purpose === 'sync' ? '<>' : '='} ${update.value('deleting', 'deleting')}`;
    return this.#write('acquireLease', id, update, condition);
  }

  async renewLease(id: string, token: string, ms: number, changes: RecordChanges = {}, remove: RemovableField[] = []): Promise<StoredRecord | undefined> {
    checkDuration(ms);
    const now = this.#now();
    const update = new Update(isoSeconds(now), changes, remove);
    update.set('lease_until', update.value('until', now + ms));
    return this.#write('renewLease', id, update, this.#held(update, token));
  }

  async releaseLease(id: string, token: string, changes: RecordChanges = {}, remove: RemovableField[] = []): Promise<StoredRecord | undefined> {
    const update = new Update(isoSeconds(this.#now()), changes, remove, LEASE_FIELDS);
    return this.#write('releaseLease', id, update, this.#held(update, token));
  }

  async dropLease(id: string, token: string): Promise<boolean> {
    const update = new Update(isoSeconds(this.#now()), {}, [], LEASE_FIELDS);
    const condition = `${update.name('lease_owner')} = ${update.value('token', token)}`;
    return (await this.#write('dropLease', id, update, condition)) !== undefined;
  }

  async deleteLeased(id: string, token: string): Promise<boolean> {
    const names = { '#owner': 'lease_owner', '#generation': 'generation', '#leased': 'lease_generation' };
    try {
      await this.#doc.send(
        new DeleteCommand({
          TableName: this.#table,
          Key: { id },
          ConditionExpression: '#owner = :token AND #generation = #leased',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':token': token },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw storeError('DeleteItem', this.#table, error);
    }
  }

  /** The fence: `token` holds the lease and the record is at the generation it leased. */
  #held(update: Update, token: string): string {
    return `${update.name('lease_owner')} = ${update.value('token', token)} AND ${update.name('generation')} = ${update.name('lease_generation')}`;
  }

  /** A conditional UpdateItem; undefined when the condition failed (version moved, lease taken, record gone). */
  async #write(operation: string, id: string, update: Update, condition: string): Promise<StoredRecord | undefined> {
    try {
      const out = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { id },
          UpdateExpression: update.expression(),
          ConditionExpression: condition,
          ExpressionAttributeNames: update.names,
          ExpressionAttributeValues: update.values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return fromItem(out.Attributes!);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw storeError(`UpdateItem (${operation})`, this.#table, error);
    }
  }

  /**
   * Scan pages may come back short or even empty with a LastEvaluatedKey (Limit counts items
   * evaluated, and a 1 MB page ends early): keep reading so callers get full pages. One item
   * past the page is read, so a cursor is handed out only when another page has items; the
   * cursor is the last item given, where the next page starts.
   */
  async #scan(limit: number, cursor: string | undefined, segment?: { Segment: number; TotalSegments: number }): Promise<RecordPage> {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, not ${limit}`);
    let startKey = cursor === undefined ? undefined : decodeCursor(cursor);
    const items: StoredRecord[] = [];
    do {
      try {
        const out = await this.#doc.send(
          new ScanCommand({
            TableName: this.#table,
            Limit: limit + 1 - items.length,
            ExclusiveStartKey: startKey,
            // A record written just before must show up in the listing (read-after-write).
            ConsistentRead: true,
            ...segment,
          }),
        );
        items.push(...(out.Items ?? []).map(fromItem));
        startKey = out.LastEvaluatedKey;
      } catch (error) {
        throw storeError('Scan', this.#table, error);
      }
    } while (startKey !== undefined && items.length <= limit);
    if (items.length <= limit) return { items };
    const page = items.slice(0, limit);
    return { items: page, nextCursor: encodeCursor({ id: page.at(-1)!.id }) };
  }
}

/** Builds one UpdateExpression: SET for changes plus the version bump, REMOVE for removed fields. */
class Update {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  readonly #sets: string[] = [];
  readonly #removes: string[] = [];

  constructor(updatedAt: string, changes: RecordChanges, remove: RemovableField[] = [], internal: string[] = []) {
    const fields = writable(changes);
    const removed = new Set<string>(remove);
    for (const field of removed) {
      if (!WRITABLE.has(field)) throw new TypeError(`${field} cannot be removed from a record`);
      // DynamoDB refuses overlapping paths; say which field instead of a ValidationException.
      if (field in fields) throw new TypeError(`${field} is both changed and removed`);
      this.#removes.push(this.name(field));
    }
    for (const field of internal) this.#removes.push(this.name(field));
    for (const [field, value] of Object.entries(fields)) this.set(field, this.value(field, value));
    this.set('version', `${this.name('version')} + ${this.value('one', 1)}`);
    this.set('updated_at', this.value('updated_at', updatedAt));
  }

  /** `field = expression` (a placeholder, or a function of other attributes). */
  set(field: string, expression: string): void {
    this.#sets.push(`${this.name(field)} = ${expression}`);
  }

  /**
   * Placeholder for an attribute name; every name goes through one (`status`, `source`, `error`
   * are reserved words). Registered only when used: DynamoDB rejects unused names and values.
   */
  name(field: string): string {
    this.names[`#${field}`] = field;
    return `#${field}`;
  }

  /** Placeholder for a value; `key` must not collide with another value of this expression. */
  value(key: string, value: unknown): string {
    this.values[`:${key}`] = value;
    return `:${key}`;
  }

  expression(): string {
    const remove = this.#removes.length > 0 ? ` REMOVE ${this.#removes.join(', ')}` : '';
    return `SET ${this.#sets.join(', ')}${remove}`;
  }
}

/**
 * The writable fields of `input`, without undefined values (they mean "unchanged"). Unknown
 * keys throw: silently storing or dropping them would hide a caller's bug.
 */
function writable(input: object): Item {
  const out: Item = {};
  for (const [key, value] of Object.entries(input)) {
    if (MAINTAINED.has(key) || value === undefined) continue;
    if (!WRITABLE.has(key)) throw new TypeError(`${key} is not a record field`);
    out[key] = value;
  }
  return out;
}

/** A stored item as a record; a cleanup plan of 0.1 (one image's `digest`, `manifests`, `blobs`) reads as the current shape. */
function fromItem(item: Item): StoredRecord {
  const record = item as unknown as StoredRecord;
  const legacy = record.cleanup as (Partial<Cleanup> & { digest?: string; manifests?: string[]; blobs?: string[] }) | undefined;
  if (legacy && !legacy.images && legacy.digest) {
    const { digest, manifests, blobs, ...rest } = legacy;
    record.cleanup = { ...(rest as Cleanup), images: [{ digest, manifests, blobs }] };
  }
  return record;
}

/** Cursors are base64url JSON of DynamoDB's LastEvaluatedKey, here always `{ id }`. */
function encodeCursor(key: Item): string {
  return encodeBase64Url(JSON.stringify(key));
}

function decodeCursor(cursor: string): Item {
  if (!/^[A-Za-z0-9_-]{1,4096}$/.test(cursor)) throw new InvalidCursorError('invalid cursor');
  let key: unknown;
  try {
    key = JSON.parse(decodeBase64Url(cursor));
  } catch {
    throw new InvalidCursorError('invalid cursor');
  }
  // Exactly the table's key, a string DynamoDB accepts (1 to 2048 bytes): anything else would
  // come back from DynamoDB as a ValidationException, a 503 instead of a 400.
  if (typeof key !== 'object' || key === null || Array.isArray(key)) throw new InvalidCursorError('invalid cursor');
  const keys = Object.keys(key);
  const id = (key as Item).id;
  if (keys.length !== 1 || typeof id !== 'string' || id.length === 0 || new TextEncoder().encode(id).byteLength > 2048) {
    throw new InvalidCursorError('invalid cursor');
  }
  return { id };
}


function checkDuration(ms: number): void {
  if (!Number.isFinite(ms) || ms <= 0) throw new RangeError(`lease duration must be a positive number of milliseconds, not ${ms}`);
}

// By name, not instanceof: a second copy of the SDK (bundles, tests) has its own classes.
function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/**
 * A StoreError naming the operation, the table and the AWS error name (plus a network error code
 * and the HTTP status). AWS messages are left out: signature errors echo the signed request,
 * which can include a session token. ValidationException messages only describe the request.
 */
export function storeError(operation: string, table: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  let what = error instanceof Error ? error.name : 'unknown error';
  const { code, $metadata } = (error ?? {}) as { code?: unknown; $metadata?: { httpStatusCode?: number } };
  if (typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code)) what += ` ${code}`;
  if ($metadata?.httpStatusCode) what += ` (HTTP ${$metadata.httpStatusCode})`;
  if (error instanceof Error && error.name === 'ValidationException') what += `: ${error.message.slice(0, 300)}`;
  return new StoreError(`DynamoDB ${operation} on table ${table} failed: ${what}`);
}
