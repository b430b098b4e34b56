// The scheduled check (docs/semantics.md): every record gets a HEAD on its source tag (none when pinned)
// and a HEAD on its destination; a moved source, or a destination missing or overwritten, means a
// sync. One failing record is marked failed and the run goes on. Records are read by parallel scan
// segments and checked stalest first, so a run stopped by its time budget leaves the rest at the
// head of the next run's queue. Leases keep overlapping runs from syncing one record twice.
import { setMaxListeners } from 'node:events';
import { KeyedLimiter } from '../util/keyed-limit.ts';
import { Limiter } from '../util/limit.ts';
import type { Logger } from '../log.ts';
import { sourceOf } from '../sync/references.ts';
import type { RegistryClients } from '../registry/client.ts';
import type { RecordStore, StoredRecord } from '../store/types.ts';
import type { SyncEngine } from '../sync/engine.ts';
import { describeError } from '../sync/errors.ts';
import { judge } from '../sync/inspect.ts';
import { isoSeconds } from '../util/time.ts';

export interface CheckOptions {
  store: RecordStore;
  engine: SyncEngine;
  clients: RegistryClients;
  log: Logger;
  /** Records checked at once. */
  concurrency?: number;
  /** Requests in flight per registry host. */
  perRegistry?: number;
  /** DynamoDB parallel scan segments. */
  segments?: number;
  /** Epoch ms: no record is started after it, and syncs still running are stopped then. */
  deadline?: number;
  /** Stops the run the same way (a process shutting down). */
  signal?: AbortSignal;
  /** Pulls kept in reserve: a registry reporting fewer remaining gets no sync this run. */
  pullReserve?: number;
  now?: () => number;
}

export interface CheckSummary {
  checked: number;
  unchanged: number;
  synced: number;
  failed: number;
  /** Busy (another worker holds the lease), or deferred by a registry's rate limit. */
  skipped: number;
  /** Records whose deletion a dead worker left half done, finished now. */
  deleted: number;
  /** Left for the next run: the time budget ran out first. */
  not_reached: number;
  ms: number;
}

type Outcome = 'unchanged' | 'synced' | 'failed' | 'skipped' | 'deleted';

export async function runCheck(options: CheckOptions): Promise<CheckSummary> {
  const now = options.now ?? Date.now;
  const started = now();
  const records = await readAll(options.store, options.segments ?? 4);
  // Stalest first: never-checked records, then the longest unchecked.
  records.sort((a, b) => (a.checked_at ?? '').localeCompare(b.checked_at ?? ''));

  const summary: CheckSummary = { checked: 0, unchanged: 0, synced: 0, failed: 0, skipped: 0, deleted: 0, not_reached: 0, ms: 0 };
  const limiter = new Limiter(options.concurrency ?? 16);
  const perRegistry = new KeyedLimiter(options.perRegistry ?? 8);
  const stop = new AbortController();
  // Every request in flight listens on this one signal; that is expected, not a leak.
  setMaxListeners(0, stop.signal);
  const timer = options.deadline === undefined ? undefined : setTimeout(() => stop.abort(new Error('check time budget spent')), Math.max(0, options.deadline - now()));
  const onAbort = () => stop.abort(options.signal?.reason);
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  const checker = new RecordCheck(options, perRegistry, stop.signal, now);
  try {
    await Promise.all(
      records.map((record) =>
        limiter.run(async () => {
          if (stop.signal.aborted || (options.deadline !== undefined && now() >= options.deadline)) {
            summary.not_reached++;
            return;
          }
          const outcome = await checker.check(record);
          summary.checked++;
          summary[outcome]++;
        }),
      ),
    );
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
  summary.ms = now() - started;
  options.log('info', 'check finished', { ...summary });
  return summary;
}

async function readAll(store: RecordStore, segments: number): Promise<StoredRecord[]> {
  const parts = await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      const found: StoredRecord[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.scanSegment(segment, segments, cursor);
        found.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      return found;
    }),
  );
  return parts.flat();
}

class RecordCheck {
  constructor(
    private readonly options: CheckOptions,
    private readonly perRegistry: KeyedLimiter,
    private readonly signal: AbortSignal,
    private readonly now: () => number,
  ) {}

  async check(record: StoredRecord): Promise<Outcome> {
    const { store, engine, clients, log } = this.options;
    // As the store decides: a lease holds through its last millisecond.
    const leaseLive = record.lease_until !== undefined && record.lease_until >= this.now();
    if (record.status === 'deleting') return leaseLive ? 'skipped' : this.finishDeletion(record);
    if (record.status === 'syncing' && leaseLive) return 'skipped';
    let reason: string;
    try {
      const verdict = await judge(clients, record, (registry, request) => this.perRegistry.run(registry, request), this.signal);
      if (verdict.kind === 'unchanged') {
        // Conditional on the version read: a write by anyone else meanwhile wins.
        await store.update(record.id, record.version, { checked_at: isoSeconds(this.now()) });
        return 'unchanged';
      }
      if (verdict.kind === 'source missing') {
        const written = await store.update(record.id, record.version, { status: 'failed', error: `source image ${record.source} not found`, checked_at: isoSeconds(this.now()) });
        log('warn', 'check: source missing', { id: record.id, source: record.source });
        return written ? 'failed' : 'skipped';
      }
      reason = verdict.reason;
    } catch (error) {
      return this.fail(record, error);
    }
    const source = sourceOf(record).registry;
    const remaining = clients.get(source).rateLimit?.remaining;
    if (remaining !== undefined && remaining <= (this.options.pullReserve ?? 10)) {
      log('warn', 'check: sync deferred by the rate limit', { id: record.id, registry: source, remaining });
      return 'skipped';
    }
    log('info', 'check: sync', { id: record.id, reason });
    // Another job already on it (a request's, another run's): nothing to add.
    const outcome = await this.perRegistry.run(`sync:${source}`, () => engine.sync(record.id, { signal: this.signal, joinUntil: this.now() }));
    if (outcome.kind === 'synced') return 'synced';
    if (outcome.kind === 'failed') return 'failed';
    return 'skipped';
  }

  private async fail(record: StoredRecord, error: unknown): Promise<Outcome> {
    const message = describeError(error);
    this.options.log('warn', 'check failed', { id: record.id, error: message });
    const written = await this.options.store.update(record.id, record.version, { status: 'failed', error: message, checked_at: isoSeconds(this.now()) }).catch(() => undefined);
    // The record changed meanwhile (a worker synced it): its state is that worker's to report.
    return written ? 'failed' : 'skipped';
  }

  private async finishDeletion(record: StoredRecord): Promise<Outcome> {
    const outcome = await this.options.engine.remove(record.id, { signal: this.signal, joinUntil: this.now() });
    if (outcome.kind === 'removed') return 'deleted';
    if (outcome.kind === 'failed') {
      this.options.log('warn', 'check: deletion still unfinished', { id: record.id, error: describeError(outcome.error) });
      return 'failed';
    }
    return 'skipped';
  }
}
