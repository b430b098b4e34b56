// The operations behind the HTTP API, in the terms of CONTRACT.md: create (idempotent), read
// (after checking the destination), replace (a new source), remove, check now. Each sync runs
// under the record's lease through the SyncEngine, within the request's time budget; what
// outlasts it is handed to the Continuation and answered 202.
import { SourceNotFoundError } from '../copy/errors.ts';
import type { Logger } from '../log.ts';
import { formatReference, parseReference, type Reference } from '../reference/reference.ts';
import type { RegistryClients } from '../registry/client.ts';
import { NotFoundError } from '../registry/errors.ts';
import type { Cleanup, RecordPage, RecordStore, StoredRecord } from '../store/types.ts';
import { imageContents } from '../cleanup/contents.ts';
import type { Continuation, SyncJob } from './continuation.ts';
import type { SyncEngine } from './engine.ts';
import { Deletion } from './deletion.ts';
import { ConflictError, describeError } from './errors.ts';
import type { ImageSpec } from './spec.ts';
import { destinationState, judge, recordDigest, sourceDigest } from './inspect.ts';
import { isoSeconds } from '../util/time.ts';

export interface ImageServiceOptions {
  store: RecordStore;
  engine: SyncEngine;
  clients: RegistryClients;
  continuation: Continuation;
  log: Logger;
  /** How long a request may wait for a sync before answering 202 (asked per request). */
  budgetMs: () => number;
  /** How often a request waiting on another worker's sync looks at the record. */
  pollMs?: number;
  now?: () => number;
}

export interface Answer {
  status: 200 | 201 | 202;
  record: StoredRecord;
}

export class ImageService {
  private readonly now: () => number;
  private readonly deletion: Deletion;

  constructor(private readonly options: ImageServiceOptions) {
    this.now = options.now ?? Date.now;
    this.deletion = new Deletion(options.store, options.clients, options.log);
  }

  /** POST: one record per destination; the same source again is a no-op answered 200. */
  async create(spec: ImageSpec, wait: boolean): Promise<Answer> {
    const { store } = this.options;
    // A record removed by a failed first sync of a parallel request is worth one more look.
    for (let attempt = 0; ; attempt++) {
      const existing = await store.get(spec.id);
      if (existing) {
        const answer = await this.again(existing, spec, wait);
        if (answer || attempt > 0) return answer ?? this.gone(spec.id);
        continue;
      }
      // Nothing is written for a source that does not exist.
      await this.requireSource(spec.sourceRef);
      // Created with this worker's lease, so parallel requests wait for this sync instead of racing it.
      const { created, record } = await store.create({
        id: spec.id,
        source: spec.source,
        destination: spec.destination,
        status: 'syncing',
        lease_owner: this.options.engine.owner,
        lease_until: this.now() + this.options.engine.leaseMs,
      });
      if (!created) {
        const answer = await this.again(record, spec, wait);
        if (answer || attempt > 0) return answer ?? this.gone(spec.id);
        continue;
      }
      this.options.log('info', 'record created', { id: spec.id, source: spec.source, destination: spec.destination });
      return this.firstSync(record, wait);
    }
  }

  /** GET: the record, after a HEAD on the destination; a copy gone or overwritten is synced again. */
  async read(id: string): Promise<StoredRecord | undefined> {
    const record = await this.options.store.get(id);
    return record && this.verified(record);
  }

  /** The record once its destination is checked (and synced again if it drifted). */
  private async verified(record: StoredRecord): Promise<StoredRecord | undefined> {
    const { id } = record;
    if (record.status !== 'synced') return record;
    try {
      if ((await destinationState(this.options.clients, record)) === 'current') return record;
    } catch (error) {
      // A registry hiccup must not fail a read (Terraform refreshes on every plan).
      this.options.log('warn', 'destination check failed', { id, error: describeError(error) });
      return record;
    }
    this.options.log('info', 'destination changed out of band', { id, destination: record.destination });
    const answer = await this.syncWithin(id, true, false);
    return answer?.record;
  }

  /** PUT: a new source re-syncs the destination tag; a new destination is another resource. */
  async replace(id: string, spec: ImageSpec, wait: boolean): Promise<Answer | undefined> {
    const { store } = this.options;
    let record = await store.get(id);
    if (!record) return undefined;
    if (spec.id !== id) {
      throw new ConflictError('destination-changed', `the destination of record ${id} is ${record.destination}; a different destination is a new record: delete this one and create another`);
    }
    const newSource = normalized(spec.sourceRef) !== normalized(parseReference(record.source));
    if (newSource) await this.requireSource(spec.sourceRef);
    // The image the tag points at now goes once the tag has moved, where nothing else uses it.
    const old = newSource ? await this.oldImage(record) : undefined;
    for (;;) {
      if (record.status === 'deleting') throw new ConflictError('being-deleted', `record ${id} is being deleted`);
      if (record.source === spec.source && record.destination === spec.destination) break;
      // Keep the strings exactly as sent; a new source also means the tag must move.
      const changes = { source: spec.source, destination: spec.destination, ...(newSource ? { status: 'syncing' as const, cleanup: old } : {}) };
      const written = await store.update(id, record.version, changes, newSource ? ['error'] : []);
      if (written) {
        record = written;
        break;
      }
      record = await store.get(id);
      if (!record) return undefined;
    }
    if (!newSource) {
      const current = await this.verified(record);
      return current ? { status: 200, record: current } : undefined;
    }
    this.options.log('info', 'source changed', { id, source: spec.source });
    return this.syncWithin(id, wait, true);
  }

  /** POST .../sync: HEAD the source and the destination now, and sync when either moved. */
  async checkNow(id: string, wait: boolean): Promise<Answer | undefined> {
    const { store, clients } = this.options;
    const record = await store.get(id);
    if (!record) return undefined;
    if (record.status === 'deleting') throw new ConflictError('being-deleted', `record ${id} is being deleted`);
    const verdict = await judge(clients, record);
    if (verdict.kind === 'source missing') {
      const source = parseReference(record.source);
      throw new SourceNotFoundError(source, new NotFoundError(source.registry, 'HEAD source manifest', 404));
    }
    if (verdict.kind === 'unchanged') {
      const checked = await store.update(id, record.version, { checked_at: isoSeconds(this.now()) });
      return { status: 200, record: checked ?? (await store.get(id)) ?? record };
    }
    return this.syncWithin(id, wait, true);
  }

  /**
   * DELETE: removes what the record created at the destination (CONTRACT.md, Deletion), then the
   * record. A failure leaves the record `deleting`; the next DELETE (or check) finishes the job.
   */
  async remove(id: string): Promise<{ removed: boolean; left: string[] }> {
    const { store, engine } = this.options;
    const record = await this.leaseForDeletion(id);
    if (!record) return { removed: false, left: [] };
    try {
      return { removed: true, left: await this.deletion.finish(record) };
    } catch (error) {
      await store.releaseLease(id, engine.owner).catch(() => undefined);
      throw error;
    }
  }

  list(limit: number, cursor?: string): Promise<RecordPage> {
    return this.options.store.list(limit, cursor);
  }

  // ---

  /** A POST for a destination that has a record already. Undefined: the record went away meanwhile. */
  private async again(record: StoredRecord, spec: ImageSpec, wait: boolean): Promise<Answer | undefined> {
    if (normalized(parseReference(record.source)) !== normalized(spec.sourceRef)) {
      throw new ConflictError(
        'destination-taken',
        `destination ${record.destination} is already mirrored from ${record.source} by record ${record.id}; change its source with PUT /v1/images/${record.id}`,
      );
    }
    if (record.status === 'deleting') throw new ConflictError('being-deleted', `record ${record.id} is being deleted; try again when it is gone`);
    if (record.status === 'synced') {
      const current = await this.verified(record);
      return current && { status: current.status === 'synced' ? 200 : 202, record: current };
    }
    if (record.status === 'syncing') {
      const settled = await this.waitWhileSyncing(record.id);
      if (!settled) return undefined;
      if (settled.status === 'synced') return { status: 200, record: settled };
      if (settled.status === 'syncing') return { status: 202, record: settled };
    }
    // Failed before, or the worker that was syncing it died: sync it now.
    return this.syncWithin(record.id, wait, true);
  }

  /** The first sync of a new record: a failure removes the record, so a failed POST leaves nothing. */
  private async firstSync(record: StoredRecord, wait: boolean): Promise<Answer> {
    const job = this.start(record.id);
    const outcome = wait ? await within(job.done, this.options.budgetMs()) : undefined;
    if (!outcome) {
      await this.options.continuation.handOff(job);
      return { status: 202, record: (await this.options.store.get(record.id)) ?? record };
    }
    switch (outcome.kind) {
      case 'synced':
        return { status: 201, record: outcome.record };
      case 'failed':
        await this.options.store.delete(record.id, outcome.record.version);
        throw outcome.error;
      case 'gone':
        return this.gone(record.id);
      default:
        return { status: 202, record: outcome.record };
    }
  }

  /**
   * Syncs now within the budget. A failure throws when `strict` (POST, PUT, sync), else the
   * failed record is the answer (GET). Undefined when the record is gone.
   */
  private async syncWithin(id: string, wait: boolean, strict: boolean): Promise<Answer | undefined> {
    const job = this.start(id);
    const outcome = wait ? await within(job.done, this.options.budgetMs()) : undefined;
    if (!outcome) {
      await this.options.continuation.handOff(job);
      const record = await this.options.store.get(id);
      return record && { status: 202, record };
    }
    if (outcome.kind === 'busy') {
      // Another worker is on it: wait for its outcome rather than answer half-way.
      const settled = await this.waitWhileSyncing(id);
      if (!settled) return undefined;
      return { status: settled.status === 'syncing' ? 202 : 200, record: settled };
    }
    if (outcome.kind === 'gone') return undefined;
    if (outcome.kind === 'failed' && strict) throw outcome.error;
    return { status: outcome.kind === 'interrupted' ? 202 : 200, record: outcome.record };
  }

  private start(id: string): SyncJob {
    const controller = new AbortController();
    return { id, done: this.options.engine.sync(id, controller.signal), abort: (reason) => controller.abort(reason) };
  }

  /** Polls while another worker syncs, up to the budget; the record as it then is. */
  private async waitWhileSyncing(id: string): Promise<StoredRecord | undefined> {
    const deadline = this.now() + this.options.budgetMs();
    const pollMs = this.options.pollMs ?? 100;
    for (;;) {
      const record = await this.options.store.get(id);
      if (!record || record.status !== 'syncing') return record;
      // Nobody holds the lease: its worker died. Take over.
      if (record.lease_until === undefined || record.lease_until < this.now()) {
        const answer = await this.syncWithin(id, true, false);
        return answer?.record;
      }
      if (this.now() + pollMs > deadline) return record;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  private async leaseForDeletion(id: string): Promise<StoredRecord | undefined> {
    const { store, engine } = this.options;
    const deadline = this.now() + this.options.budgetMs();
    for (;;) {
      const leased = await store.acquireLease(id, engine.owner, engine.leaseMs);
      if (leased) {
        if (leased.status === 'deleting') return leased;
        const marked = await store.update(id, leased.version, { status: 'deleting' });
        if (marked) return marked;
        continue;
      }
      const current = await store.get(id);
      if (!current) return undefined;
      if (this.now() > deadline) throw new ConflictError('busy', `record ${id} is being synced; try the delete again`);
      await new Promise((resolve) => setTimeout(resolve, this.options.pollMs ?? 100));
    }
  }

  /** What the record's current image consists of at the destination, to remove after a source change. */
  private async oldImage(record: StoredRecord): Promise<Cleanup | undefined> {
    const digest = recordDigest(record);
    if (!digest) return record.cleanup;
    const destination = parseReference(record.destination);
    const contents = await imageContents(this.options.clients.get(destination.registry), destination.repository, digest);
    return { repository: destination.repository, digest, ...contents };
  }

  private async requireSource(source: Reference): Promise<void> {
    const digest = await sourceDigest(this.options.clients, source);
    if (digest === undefined) throw new SourceNotFoundError(source, new NotFoundError(source.registry, 'HEAD source manifest', 404));
  }

  private gone(id: string): never {
    throw new ConflictError('deleted', `record ${id} was deleted while this request ran; send it again`);
  }
}

function normalized(ref: Reference): string {
  return formatReference(ref);
}

/** The promise's value if it settles within `ms`; undefined otherwise (it keeps running). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

