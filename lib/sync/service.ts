// The operations behind the HTTP API (docs/api.md): create (idempotent), read (after checking the
// destination), replace (a new source), remove, check now. The service writes the record's intent
// (a new record, a new source, a deletion: the last two raise its generation, which stops any job
// still working for the old one); the work itself is the SyncEngine's, under the record's lease.
// Each request carries one deadline; what outlasts it is handed to the Continuation and answered 202.
import { SourceNotFoundError } from '../copy/errors.ts';
import type { Logger } from '../log.ts';
import type { Reference } from '../reference/reference.ts';
import type { RegistryClients } from '../registry/client.ts';
import type { RecordPage, RecordStore, StoredRecord } from '../store/types.ts';
import type { Continuation, Job } from './continuation.ts';
import type { RemovalOutcome, SyncEngine, SyncOutcome } from './engine.ts';
import { ConflictError, describeError } from './errors.ts';
import type { ImageSpec } from './spec.ts';
import { destinationState, judge, lookupSource } from './inspect.ts';
import { sameReference, sourceOf } from './references.ts';
import { isoSeconds } from '../util/time.ts';

export interface ImageServiceOptions {
  store: RecordStore;
  engine: SyncEngine;
  clients: RegistryClients;
  continuation: Continuation;
  log: Logger;
  /** How long a request may wait for a sync before answering 202. */
  budgetMs: number;
  now?: () => number;
}

/** One request's terms: answer by `deadline` (epoch ms); `wait: false` answers at once. */
export interface RequestOptions {
  deadline: number;
  wait: boolean;
}

export interface Answer {
  status: 200 | 201 | 202;
  record: StoredRecord;
}

export type Removal = { outcome: 'removed'; left: string[] } | { outcome: 'pending'; record: StoredRecord } | { outcome: 'absent' };

/** Optimistic writes that lose to a concurrent one are tried again, this many times. */
const WRITE_ATTEMPTS = 10;

export class ImageService {
  private readonly now: () => number;

  constructor(private readonly options: ImageServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * The terms of a request starting now: answered within IMAGESYNC_REQUEST_BUDGET, and by `limit`
   * (epoch ms) when the runtime sets one (Lambda: the invocation's end, less a reserve).
   */
  begin(wait: boolean, limit = Number.POSITIVE_INFINITY): RequestOptions {
    return { deadline: Math.min(this.now() + this.options.budgetMs, limit), wait };
  }

  /** POST: one record per destination; the same source again is a no-op answered 200. */
  async create(spec: ImageSpec, request: RequestOptions): Promise<Answer> {
    const { store } = this.options;
    // A record removed by a failed first sync of a parallel request is worth one more look.
    for (let attempt = 0; attempt < 2; attempt++) {
      let record = await store.get(spec.id);
      if (!record) {
        // Nothing is written for a source that does not exist.
        await this.requireSource(spec.sourceRef);
        const made = await store.create({ id: spec.id, source: spec.source, destination: spec.destination, status: 'syncing', generation: 1 });
        if (made.created) {
          this.options.log('info', 'record created', { id: spec.id, source: spec.source, destination: spec.destination });
          return this.firstSync(made.record, request);
        }
        record = made.record;
      }
      if (!sameReference(sourceOf(record), spec.sourceRef)) {
        throw new ConflictError(
          'destination-taken',
          `destination ${record.destination} is already mirrored from ${record.source} by record ${record.id}; change its source with PUT /v1/images/${record.id}`,
        );
      }
      const answer = await this.settle(record, request);
      if (answer) return answer;
    }
    return this.gone(spec.id);
  }

  /** GET: the record, after a HEAD on the destination; a copy gone or overwritten, or a dead worker's sync, is synced again. */
  async read(id: string, request: RequestOptions): Promise<StoredRecord | undefined> {
    const record = await this.options.store.get(id);
    if (!record) return undefined;
    if (record.status === 'synced') return (await this.verified(record, request, false))?.record;
    if (record.status === 'syncing' && !leaseLive(record, this.now())) {
      this.options.log('info', 'taking over an abandoned sync', { id });
      return (await this.answer(id, await this.sync(id, request), false))?.record;
    }
    return record;
  }

  /** PUT: a new source re-syncs the destination tag; a new destination is another resource. */
  async replace(id: string, spec: ImageSpec, request: RequestOptions): Promise<Answer | undefined> {
    const { store, engine } = this.options;
    let record = await store.get(id);
    if (!record) return undefined;
    if (spec.id !== id) {
      throw new ConflictError('destination-changed', `the destination of record ${id} is ${record.destination}; a different destination is a new record: delete this one and create another`);
    }
    if (!sameReference(spec.sourceRef, sourceOf(record))) await this.requireSource(spec.sourceRef);
    for (let attempt = 1; ; attempt++) {
      if (record.status === 'deleting') throw new ConflictError('being-deleted', `record ${id} is being deleted`);
      const newSource = !sameReference(spec.sourceRef, sourceOf(record));
      if (!newSource && record.source === spec.source && record.destination === spec.destination) return this.settle(record, request);
      // The strings exactly as sent; a new source is a new intent: the tag must move.
      const changes = newSource ? { source: spec.source, destination: spec.destination, status: 'syncing' as const, generation: (record.generation ?? 0) + 1 } : { source: spec.source, destination: spec.destination };
      const written = await store.update(id, record.version, changes, newSource ? ['error'] : []);
      if (written && !newSource) return this.settle(written, request);
      if (written) {
        this.options.log('info', 'source changed', { id, source: spec.source, generation: written.generation });
        engine.cancel(id, written.generation!);
        return this.answer(id, await this.sync(id, request), true);
      }
      record = await store.get(id);
      if (!record) return undefined;
      if (attempt >= WRITE_ATTEMPTS) throw new ConflictError('record-changed', `record ${id} keeps changing; try again`);
    }
  }

  /** POST .../sync: HEAD the source and the destination now, and sync when either moved. */
  async checkNow(id: string, request: RequestOptions): Promise<Answer | undefined> {
    const { store, clients } = this.options;
    const record = await store.get(id);
    if (!record) return undefined;
    if (record.status === 'deleting') throw new ConflictError('being-deleted', `record ${id} is being deleted`);
    const verdict = await judge(clients, record);
    // The HEAD found nothing: the registry's own word on it (one GET), or it came back meanwhile.
    if (verdict.kind === 'source missing') await this.requireSource(sourceOf(record));
    if (verdict.kind === 'unchanged') {
      const checked = await store.update(id, record.version, { checked_at: isoSeconds(this.now()) });
      return { status: 200, record: checked ?? (await store.get(id)) ?? record };
    }
    return this.answer(id, await this.sync(id, request), true);
  }

  /**
   * DELETE: marks the record `deleting` (a new intent: a sync still running for it stops), then
   * removes what it created at the destination (docs/semantics.md, Deletion) and the record. A failure leaves
   * the record `deleting`; the next DELETE (or check) finishes the job.
   */
  async remove(id: string, request: RequestOptions): Promise<Removal> {
    const { store, engine } = this.options;
    let record = await store.get(id);
    if (!record) return { outcome: 'absent' };
    for (let attempt = 1; record.status !== 'deleting'; attempt++) {
      const marked = await store.update(id, record.version, { status: 'deleting', generation: (record.generation ?? 0) + 1 }, ['error']);
      if (marked) {
        this.options.log('info', 'deletion requested', { id, destination: marked.destination });
        record = marked;
        break;
      }
      const current = await store.get(id);
      // Removed meanwhile by a parallel DELETE: what was asked for is done.
      if (!current) return { outcome: 'removed', left: [] };
      record = current;
      if (attempt >= WRITE_ATTEMPTS) throw new ConflictError('record-changed', `record ${id} keeps changing; try the delete again`);
    }
    engine.cancel(id, record.generation ?? 0);
    const outcome = await this.within(id, request, (signal) => engine.remove(id, { signal, joinUntil: request.deadline }));
    if (!outcome || outcome.kind === 'pending' || outcome.kind === 'interrupted') {
      const current = await store.get(id);
      return current ? { outcome: 'pending', record: current } : { outcome: 'removed', left: [] };
    }
    if (outcome.kind === 'failed') throw outcome.error;
    return { outcome: 'removed', left: outcome.kind === 'removed' ? outcome.left : [] };
  }

  list(limit: number, cursor?: string): Promise<RecordPage> {
    return this.options.store.list(limit, cursor);
  }

  // ---

  /** A record that exists with the asked-for source: checked when synced, else synced (or joined). */
  private async settle(record: StoredRecord, request: RequestOptions): Promise<Answer | undefined> {
    if (record.status === 'deleting') throw new ConflictError('being-deleted', `record ${record.id} is being deleted; try again when it is gone`);
    if (record.status === 'synced') return this.verified(record, request, true);
    return this.answer(record.id, await this.sync(record.id, request), true);
  }

  /** The first sync of a new record: a failure removes the record, so a failed POST leaves nothing. */
  private async firstSync(record: StoredRecord, request: RequestOptions): Promise<Answer> {
    const outcome = await this.sync(record.id, request);
    if (outcome?.kind === 'failed') {
      await this.options.store.delete(record.id, outcome.record.version);
      throw outcome.error;
    }
    const answer = await this.answer(record.id, outcome, true);
    if (!answer) return this.gone(record.id);
    return answer.status === 200 ? { status: 201, record: answer.record } : answer;
  }

  /** The record once its destination is checked; a copy gone or overwritten is synced again. */
  private async verified(record: StoredRecord, request: RequestOptions, strict: boolean): Promise<Answer | undefined> {
    const { id } = record;
    try {
      if ((await destinationState(this.options.clients, record)) === 'current') return { status: 200, record };
    } catch (error) {
      // A registry hiccup must not fail a read (Terraform refreshes on every plan).
      this.options.log('warn', 'destination check failed', { id, error: describeError(error) });
      return { status: 200, record };
    }
    this.options.log('info', 'destination changed out of band', { id, destination: record.destination });
    return this.answer(id, await this.sync(id, request), strict);
  }

  /** Runs (or joins) the record's sync within the request's deadline; undefined once handed off. */
  private sync(id: string, request: RequestOptions): Promise<SyncOutcome | undefined> {
    const joinUntil = request.wait ? request.deadline : this.now();
    return this.within(id, request, (signal) => this.options.engine.sync(id, { signal, joinUntil }));
  }

  /** The job's outcome if it settles by the deadline; otherwise it goes on, handed to the Continuation. */
  private async within<T extends SyncOutcome | RemovalOutcome>(id: string, request: RequestOptions, start: (signal: AbortSignal) => Promise<T>): Promise<T | undefined> {
    const controller = new AbortController();
    const job: Job = { id, done: start(controller.signal), abort: (reason) => controller.abort(reason) };
    const outcome = request.wait ? await settledBy(job.done as Promise<T>, request.deadline - this.now()) : undefined;
    if (outcome) return outcome;
    await this.options.continuation.handOff(job);
    return undefined;
  }

  /** What a sync outcome answers. `strict` (POST, PUT, sync): a failure is an error; else (GET) the failed record. */
  private async answer(id: string, outcome: SyncOutcome | undefined, strict: boolean): Promise<Answer | undefined> {
    switch (outcome?.kind) {
      case 'synced':
        return { status: 200, record: outcome.record };
      case 'failed':
        if (strict) throw outcome.error;
        return { status: 200, record: outcome.record };
      case 'deleting':
        if (strict) throw new ConflictError('being-deleted', `record ${id} is being deleted`);
        return { status: 200, record: outcome.record };
      case 'gone':
        return undefined;
      case 'pending':
        return { status: 202, record: outcome.record };
      default: {
        // Handed off or interrupted: the work goes on elsewhere.
        const record = (outcome?.record as StoredRecord | undefined) ?? (await this.options.store.get(id));
        return record && { status: 202, record };
      }
    }
  }

  /** Throws SourceNotFoundError, with the registry's own code (MANIFEST_UNKNOWN, NAME_UNKNOWN), when the source is missing. */
  private async requireSource(source: Reference): Promise<void> {
    const found = await lookupSource(this.options.clients, source);
    if ('missing' in found) throw new SourceNotFoundError(source, found.missing);
  }

  private gone(id: string): never {
    throw new ConflictError('deleted', `record ${id} was deleted while this request ran; send it again`);
  }
}

function leaseLive(record: StoredRecord, now: number): boolean {
  return record.lease_until !== undefined && record.lease_until >= now;
}

/** The promise's value if it settles within `ms`; undefined otherwise (it keeps running). */
async function settledBy<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
