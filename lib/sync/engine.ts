// Syncs one record under its lease: one worker at a time per record, the lease renewed while the
// copy runs, the outcome written with the lease's release. A worker that dies leaves the record
// `syncing` with a lease that runs out; whoever comes next (a request, the scheduled check)
// takes it over and runs the copy again, which skips whatever already arrived.
import { copyImage, type CopyResult } from '../copy/image.ts';
import type { Logger } from '../log.ts';
import { parseReference } from '../reference/reference.ts';
import type { RegistryClients } from '../registry/client.ts';
import type { StoredRecord, RecordStore } from '../store/types.ts';
import { removeImage } from '../cleanup/remove-image.ts';
import { describeError } from './errors.ts';
import { isoSeconds } from '../util/time.ts';

export interface SyncEngineOptions {
  store: RecordStore;
  clients: RegistryClients;
  /** This worker's name in leases. */
  owner: string;
  log: Logger;
  /** How long a lease lasts without renewal; a dead worker's lease runs out after this. */
  leaseMs?: number;
  /** Blobs in flight per copy. */
  concurrency?: number;
  now?: () => number;
}

export type SyncOutcome =
  | { kind: 'synced'; record: StoredRecord; copy: CopyResult }
  | { kind: 'failed'; record: StoredRecord; error: unknown }
  /** Another worker holds the lease, or the record is being deleted. */
  | { kind: 'busy'; record: StoredRecord }
  /** Stopped by the caller (handed off): the record stays `syncing`, the lease is released. */
  | { kind: 'interrupted'; record: StoredRecord }
  | { kind: 'gone' };

export const DEFAULT_LEASE_MS = 60_000;

export class SyncEngine {
  readonly leaseMs: number;
  private readonly now: () => number;

  constructor(private readonly options: SyncEngineOptions) {
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.now = options.now ?? Date.now;
  }

  get owner(): string {
    return this.options.owner;
  }

  async sync(id: string, signal?: AbortSignal): Promise<SyncOutcome> {
    const { store, owner, log } = this.options;
    const leased = await store.acquireLease(id, owner, this.leaseMs);
    if (!leased) {
      const current = await store.get(id);
      return current ? { kind: 'busy', record: current } : { kind: 'gone' };
    }
    if (leased.status === 'deleting') {
      const released = await store.releaseLease(id, owner);
      return { kind: 'busy', record: released ?? leased };
    }

    const stop = new AbortController();
    const onAbort = () => stop.abort(signal?.reason);
    // A signal aborted while the lease was being taken never fires its event again.
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    // Renew well before the lease runs out; a lost lease means another worker took over: stop.
    const heartbeat = setInterval(() => {
      store.renewLease(id, owner, this.leaseMs).then(
        (held) => held || stop.abort(new Error('lease lost')),
        () => {},
      );
    }, Math.max(1_000, Math.floor(this.leaseMs / 3)));

    const started = this.now();
    try {
      const copy = await copyImage(parseReference(leased.source), parseReference(leased.destination), {
        clients: this.options.clients,
        concurrency: this.options.concurrency,
        signal: stop.signal,
      });
      const cleaned = await this.removeReplaced(leased, copy.digest);
      const at = isoSeconds(this.now());
      const record = await store.releaseLease(
        id,
        owner,
        { status: 'synced', image: copy.image, source_digest: copy.digest, checked_at: at, synced_at: copy.unchanged && leased.image === copy.image ? leased.synced_at ?? at : at },
        cleaned ? ['error', 'cleanup'] : ['error'],
      );
      log('info', 'sync', { id, outcome: copy.unchanged ? 'unchanged' : 'copied', image: copy.image, bytes: copy.bytesCopied, blobs: copy.blobs, ms: this.now() - started });
      if (!record) return this.lost(id);
      return { kind: 'synced', record, copy };
    } catch (error) {
      if (stop.signal.aborted) {
        const record = await store.releaseLease(id, owner).catch(() => undefined);
        log('info', 'sync interrupted', { id, reason: describeError(stop.signal.reason), ms: this.now() - started });
        return record ? { kind: 'interrupted', record } : this.lost(id);
      }
      const message = describeError(error);
      const record = await store.releaseLease(id, owner, { status: 'failed', error: message, checked_at: isoSeconds(this.now()) });
      log('warn', 'sync failed', { id, error: message, ms: this.now() - started });
      if (!record) return this.lost(id);
      return { kind: 'failed', record, error };
    } finally {
      clearInterval(heartbeat);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * After a change of source has moved the tag: removes the previous image where nothing else
   * uses it. True when done (or nothing to do); a failure is logged and retried at the next sync.
   */
  private async removeReplaced(record: StoredRecord, digest: string): Promise<boolean> {
    const plan = record.cleanup;
    if (!plan || plan.untag) return true;
    if (plan.digest === digest) return true;
    const registry = parseReference(record.destination).registry;
    try {
      const left = await removeImage(this.options.clients.get(registry), plan, {
        // Only deletions move tags to throwaways; a replaced image keeps no tag of ours.
        saveThrowaway: async () => {},
      });
      this.options.log('info', 'previous image removed', { id: record.id, digest: plan.digest, left });
      return true;
    } catch (error) {
      this.options.log('warn', 'previous image not removed yet', { id: record.id, digest: plan.digest, error: describeError(error) });
      return false;
    }
  }

  private async lost(id: string): Promise<SyncOutcome> {
    const current = await this.options.store.get(id);
    return current ? { kind: 'busy', record: current } : { kind: 'gone' };
  }
}
