// Runs the jobs that change a destination: syncs and deletions, one per record at a time across
// every process. Each job holds a lease of its own on its record (a random token), taken for the
// record's generation: its intent, raised by every new source and by a deletion.
//
// - The lease is renewed while the job runs; a worker that dies leaves a lease that runs out,
//   and whoever comes next (a request, the scheduled check) takes the record over.
// - Every change of what the destination means (the tag push, each deletion step) is fenced:
//   right before it the job renews its lease on condition that it still holds it and the record
//   is still at its generation, and the change must finish within the lease's window, before
//   anyone could take the record over. A job whose record moved on stops without touching the
//   destination again; one whose change ended with its outcome unknown keeps the lease until it
//   runs out, so no other job changes the destination meanwhile.
// - A job for the record's current intent already running elsewhere is joined (its outcome is
//   awaited, not repeated); a job for an older intent is waited out (it stops at its next renewal).
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { imageContents } from '../cleanup/contents.ts';
import { removeImage } from '../cleanup/remove-image.ts';
import type { DestinationChange, Fence } from '../copy/fence.ts';
import { copyImage, type CopyResult } from '../copy/image.ts';
import { DEFAULT_LIMITS, type CopyLimits } from '../copy/limits.ts';
import type { Logger } from '../log.ts';
import type { RegistryClient, RegistryClients } from '../registry/client.ts';
import { RegistryError } from '../registry/errors.ts';
import type { Cleanup, RecordChanges, RecordStore, RemovableField, StoredRecord } from '../store/types.ts';
import { sleep } from '../transport/retry.ts';
import { isoSeconds } from '../util/time.ts';
import { ChangeTimeoutError, describeError, LeaseLostError, SyncTimeoutError } from './errors.ts';
import { recordDigest } from './inspect.ts';
import { destinationOf, sourceOf } from './references.ts';

export interface SyncEngineOptions {
  store: RecordStore;
  clients: RegistryClients;
  log: Logger;
  /** This worker's name; job tokens start with it, so a lease says who holds it. */
  worker: string;
  /** How long a lease lasts unrenewed: a dead worker's record waits this long. */
  leaseMs?: number;
  /** The longest one job may run, waiting for the record included. */
  syncTimeoutMs?: number;
  /** Blobs in flight per copy. */
  concurrency?: number;
  limits?: CopyLimits;
  /** How often a job waiting for another one looks at the record. */
  pollMs?: number;
  now?: () => number;
}

export type SyncOutcome =
  /** `copy` is absent when another job did the work and this one joined it. */
  | { kind: 'synced'; record: StoredRecord; copy?: CopyResult }
  | { kind: 'failed'; record: StoredRecord; error: unknown }
  /** Another job is on it (joined until the caller's limit), or the record moved on to a new intent. */
  | { kind: 'pending'; record: StoredRecord }
  /** This job was stopped (handed off, timed out, shut down) before it finished: work remains. */
  | { kind: 'interrupted'; record?: StoredRecord }
  | { kind: 'deleting'; record: StoredRecord }
  | { kind: 'gone' };

export type RemovalOutcome =
  | { kind: 'removed'; left: string[] }
  /** The deletion failed at a step; the record stays `deleting` with its plan, to finish later. */
  | { kind: 'failed'; record?: StoredRecord; error: unknown }
  | { kind: 'pending'; record: StoredRecord }
  | { kind: 'interrupted'; record?: StoredRecord }
  /** No record to delete (any more): another job finished it, or it never was. */
  | { kind: 'gone' };

export interface JobOptions {
  /** Stops the job (a hand-off, a deadline, a process shutting down). */
  signal?: AbortSignal;
  /**
   * Epoch ms: how long to wait for a job for the same intent running elsewhere; undefined waits
   * as long as the job may run. Waiting out a job for an older intent does not end here.
   */
  joinUntil?: number;
}

export const DEFAULT_LEASE_MS = 60_000;
export const DEFAULT_SYNC_TIMEOUT_MS = 30 * 60_000;

interface Job {
  id: string;
  token: string;
  /** Hard stop: the caller's signal, the job's timeout, shutdown. */
  kill: AbortSignal;
  /** Soft stop: the record moved on or the lease was lost; no further change is made. */
  cancel: AbortController;
  /** The generation the job leased. */
  generation?: number;
  /** A fenced change failed without an answer: its outcome is unknown, the lease is kept until it runs out. */
  unsettled: boolean;
  /** The lease was given up with the outcome (or the record deleted with it). */
  released: boolean;
}

export class SyncEngine {
  readonly leaseMs: number;
  private readonly now: () => number;
  private readonly jobs = new Set<Job & { done: Promise<unknown> }>();
  private readonly shutdown = new AbortController();

  constructor(private readonly options: SyncEngineOptions) {
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.now = options.now ?? Date.now;
    setMaxListeners(0, this.shutdown.signal);
  }

  /** Syncs the record's current intent: runs the job, joins the one running, or waits out an older one. */
  sync(id: string, options: JobOptions = {}): Promise<SyncOutcome> {
    return this.track(id, options, async (job) => {
      const taken = await this.take(job, 'sync', options.joinUntil);
      return 'settled' in taken ? taken.settled : this.runSync(job, taken.leased);
    });
  }

  /** Removes what a record marked `deleting` created, then the record. */
  remove(id: string, options: JobOptions = {}): Promise<RemovalOutcome> {
    return this.track(id, options, async (job) => {
      const taken = await this.take(job, 'remove', options.joinUntil);
      if ('leased' in taken) return this.runRemoval(job, taken.leased);
      const settled = taken.settled;
      return settled.kind === 'synced' || settled.kind === 'failed' || settled.kind === 'deleting' ? { kind: 'gone' } : settled;
    });
  }

  /**
   * The record moved on to `generation`: jobs of this process working for an older one stop now
   * rather than at their next renewal. A change they are making finishes first.
   */
  cancel(id: string, generation: number): void {
    for (const job of this.jobs) {
      if (job.id === id && job.generation !== undefined && job.generation < generation) job.cancel.abort(new LeaseLostError(`record ${id} moved on`));
    }
  }

  /** Stops every job of this process (a graceful shutdown's end); resolves once they have let go. */
  async stop(reason: unknown): Promise<void> {
    this.shutdown.abort(reason);
    await Promise.all([...this.jobs].map((job) => job.done.catch(() => undefined)));
  }

  get running(): number {
    return this.jobs.size;
  }

  // --- jobs

  private track<T>(id: string, options: JobOptions, body: (job: Job) => Promise<T>): Promise<T> {
    const limit = this.options.syncTimeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new SyncTimeoutError(`the job on record ${id} did not finish within ${formatMs(limit)} (IMAGESYNC_SYNC_TIMEOUT)`)), limit);
    const signals = [timeout.signal, this.shutdown.signal, ...(options.signal ? [options.signal] : [])];
    const job: Job = { id, token: `${this.options.worker}:${randomUUID()}`, kill: AbortSignal.any(signals), cancel: new AbortController(), unsettled: false, released: false };
    setMaxListeners(0, job.kill);
    setMaxListeners(0, job.cancel.signal);
    // However the job ends, a lease it still holds is given up (see letGo).
    const done = body(job).finally(() => {
      clearTimeout(timer);
      return job.generation !== undefined && !job.released ? this.letGo(job) : undefined;
    });
    const entry = Object.assign(job, { done });
    this.jobs.add(entry);
    return done.finally(() => this.jobs.delete(entry));
  }

  /**
   * Waits until the record can be leased for this job, or until something makes the job
   * pointless: the record is gone or (for a sync) being deleted, or the job it joined finished.
   */
  private async take(job: Job, want: 'sync' | 'remove', joinUntil: number | undefined): Promise<{ leased: StoredRecord } | { settled: SyncOutcome }> {
    const { store } = this.options;
    // The generation of a job for the same intent that this one waited for.
    let joined: number | undefined;
    for (;;) {
      if (job.kill.aborted) return { settled: { kind: 'interrupted', record: await store.get(job.id) } };
      const record = await store.get(job.id);
      const settled = record ? this.pointless(record, want, joined) : { kind: 'gone' as const };
      if (settled) return { settled };
      const generation = record!.generation ?? 0;
      if (record!.lease_until === undefined || record!.lease_until < this.now()) {
        const leased = await store.acquireLease(job.id, job.token, this.leaseMs, want === 'sync' ? 'sync' : 'remove');
        if (!leased) continue;
        // The record may have changed between the read and the lease.
        const after = this.pointless(leased, want, joined);
        if (after) {
          await store.dropLease(job.id, job.token);
          return { settled: after };
        }
        job.generation = leased.lease_generation;
        return { leased };
      }
      if (record!.lease_generation === generation) {
        // A job for this very intent runs: wait for its outcome rather than do the work twice.
        joined = generation;
        if (joinUntil !== undefined && this.now() >= joinUntil) return { settled: { kind: 'pending', record: record! } };
      }
      try {
        await sleep(this.options.pollMs ?? 200, job.kill);
      } catch {
        // Stopped while waiting: reported at the top of the loop.
      }
    }
  }

  /** An outcome when there is nothing for this job to do on the record as it is now. */
  private pointless(record: StoredRecord, want: 'sync' | 'remove', joined: number | undefined): SyncOutcome | undefined {
    if (want === 'sync' && record.status === 'deleting') return { kind: 'deleting', record };
    // Not (or no longer) being deleted: a record made anew after a deletion is not this job's.
    if (want === 'remove' && record.status !== 'deleting') return { kind: 'gone' };
    // The job joined marked the record `syncing` when it took the lease: `synced` or `failed` now,
    // with the lease given up, is that job's outcome (not the record's older state).
    if (joined !== undefined && joined === (record.generation ?? 0) && record.lease_owner === undefined) {
      if (record.status === 'synced') return { kind: 'synced', record };
      if (record.status === 'failed') return { kind: 'failed', record, error: new RecordedFailure(record) };
    }
    return undefined;
  }

  private async runSync(job: Job, leased: StoredRecord): Promise<SyncOutcome> {
    const { store, log } = this.options;
    const started = this.now();
    const heartbeat = this.heartbeat(job);
    try {
      const copy = await copyImage(sourceOf(leased), destinationOf(leased), {
        clients: this.options.clients,
        concurrency: this.options.concurrency,
        limits: this.options.limits ?? DEFAULT_LIMITS,
        signal: AbortSignal.any([job.kill, job.cancel.signal]),
        fence: this.fence(job, (change) => (change.tag ? { pending_digest: change.tag } : {})),
      });
      const at = isoSeconds(this.now());
      const outcome: RecordChanges = {
        status: 'synced',
        image: copy.image,
        source_digest: copy.digest,
        checked_at: at,
        synced_at: copy.unchanged && leased.image === copy.image ? (leased.synced_at ?? at) : at,
      };
      const cleanup = replaced(leased, copy.digest);
      let record: StoredRecord | undefined;
      if (cleanup) {
        // The outcome first (the tag has moved), then the previous image goes, still under the lease.
        record = await store.renewLease(job.id, job.token, this.leaseMs, { ...outcome, cleanup }, ['error', 'pending_digest']);
        if (record) record = await this.removeReplaced(job, record);
      } else {
        record = await this.release(job, outcome, ['error', 'pending_digest', 'cleanup']);
      }
      log('info', 'sync', { id: job.id, outcome: copy.unchanged ? 'unchanged' : 'copied', image: copy.image, bytes: copy.bytesCopied, blobs: copy.blobs, ms: this.now() - started });
      if (!record) return this.superseded(job);
      return { kind: 'synced', record, copy };
    } catch (caught) {
      // Past its time the job fails like any other (the record says why); other stops leave it to the next worker.
      const timedOut = job.kill.reason instanceof SyncTimeoutError;
      const error = timedOut ? job.kill.reason : caught;
      if (!timedOut && (job.kill.aborted || job.cancel.signal.aborted)) {
        const reason = job.cancel.signal.aborted ? job.cancel.signal.reason : job.kill.reason;
        log('info', 'sync stopped', { id: job.id, reason: describeError(reason), ms: this.now() - started });
        return job.cancel.signal.aborted ? this.superseded(job) : { kind: 'interrupted', record: await store.get(job.id) };
      }
      const message = describeError(error);
      const failed: RecordChanges = { status: 'failed', error: message, checked_at: isoSeconds(this.now()) };
      // An unknown outcome keeps the lease until it runs out; otherwise the failure releases it.
      const record = job.unsettled ? await store.renewLease(job.id, job.token, this.leaseMs, failed) : await this.release(job, failed);
      log('warn', 'sync failed', { id: job.id, error: message, ms: this.now() - started });
      if (!record) return this.superseded(job);
      return { kind: 'failed', record, error };
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Removes the images a sync replaced where nothing else uses them; a failure leaves the plan for the next sync. */
  private async removeReplaced(job: Job, record: StoredRecord): Promise<StoredRecord | undefined> {
    const { store, log } = this.options;
    const plan = record.cleanup!;
    try {
      const resolved = await this.resolve(job, record, plan);
      if (!resolved) return undefined;
      const client = this.options.clients.get(destinationOf(record).registry);
      const left = await removalFor(client)(client, resolved.plan, { fence: this.fence(job, () => ({})), signal: job.kill, limits: this.options.limits });
      log('info', 'previous image removed', { id: job.id, images: plan.images.map((image) => image.digest), left });
      return await this.release(job, {}, ['cleanup']);
    } catch (error) {
      // The sync's outcome is written (the tag has moved); what is left to remove stays in the plan
      // for the next job, whatever stopped this one.
      log('warn', 'previous image not removed yet', { id: job.id, error: describeError(error) });
      if (job.kill.aborted || job.cancel.signal.aborted) return record;
      return this.release(job);
    }
  }

  private async runRemoval(job: Job, leased: StoredRecord): Promise<RemovalOutcome> {
    const { store, log } = this.options;
    const heartbeat = this.heartbeat(job);
    try {
      const destination = destinationOf(leased);
      let plan: Cleanup = deletionPlan(leased, destination.repository, destination.tag);
      const resolved = await this.resolve(job, leased, plan);
      if (!resolved) return { kind: 'gone' };
      plan = resolved.plan;
      const client = this.options.clients.get(destination.registry);
      const fence = this.fence(job, (change) => {
        if (!change.throwaway) return {};
        plan = { ...plan, throwaway: change.throwaway };
        return { cleanup: plan };
      });
      const left = await removalFor(client)(client, plan, { fence, signal: AbortSignal.any([job.kill, job.cancel.signal]), limits: this.options.limits });
      if (!(await store.deleteLeased(job.id, job.token))) return { kind: 'gone' };
      job.released = true;
      log('info', 'record deleted', { id: job.id, destination: leased.destination, left });
      return { kind: 'removed', left };
    } catch (error) {
      const stopped = job.kill.aborted || job.cancel.signal.aborted;
      if (stopped) return { kind: 'interrupted', record: await store.get(job.id) };
      log('warn', 'deletion unfinished', { id: job.id, error: describeError(error) });
      return { kind: 'failed', record: await store.get(job.id), error };
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * The plan with every image's contents read from the destination, written under the lease
   * before anything is removed. Undefined when the job lost the record.
   */
  private async resolve(job: Job, record: StoredRecord, plan: Cleanup): Promise<{ plan: Cleanup } | undefined> {
    if (plan.images.every((image) => image.manifests) && record.cleanup === plan) return { plan };
    const client = this.options.clients.get(destinationOf(record).registry);
    const images = [];
    for (const image of plan.images) {
      images.push(image.manifests ? image : { digest: image.digest, ...(await imageContents(client, plan.repository, image.digest, job.kill, this.options.limits)) });
    }
    const resolved = { ...plan, images };
    const written = await this.options.store.renewLease(job.id, job.token, this.leaseMs, { cleanup: resolved });
    if (!written) return undefined;
    return { plan: resolved };
  }

  /**
   * The job's fence: a conditional renewal right before each change (carrying what the record
   * must know beforehand), then the change under a signal that ends with the lease's window.
   */
  private fence(job: Job, before: (change: DestinationChange) => RecordChanges): Fence {
    // The last quarter of the lease is the margin against clocks that disagree between workers.
    const window = this.leaseMs - Math.floor(this.leaseMs / 4);
    return async (change, act) => {
      if (job.cancel.signal.aborted) throw job.cancel.signal.reason;
      if (job.kill.aborted) throw job.kill.reason;
      const held = await this.options.store.renewLease(job.id, job.token, this.leaseMs, before(change));
      if (!held) {
        const lost = new LeaseLostError(`record ${job.id} moved on before ${change.what}`);
        job.cancel.abort(lost);
        throw lost;
      }
      const late = new AbortController();
      const timer = setTimeout(() => late.abort(new ChangeTimeoutError(`${change.what} did not finish within ${window} ms, three quarters of IMAGESYNC_SYNC_LEASE`)), window);
      try {
        return await act(AbortSignal.any([job.kill, late.signal]));
      } catch (error) {
        // An answer, even an error, settles the change; anything else may still land.
        if (!(error instanceof RegistryError)) job.unsettled = true;
        throw error;
      } finally {
        clearTimeout(timer);
      }
    };
  }

  /** Renews the lease while the job runs; a failed renewal means the record moved on or was taken over. */
  private heartbeat(job: Job): ReturnType<typeof setInterval> {
    const every = Math.max(250, Math.min(5_000, Math.floor(this.leaseMs / 3)));
    return setInterval(() => {
      this.options.store.renewLease(job.id, job.token, this.leaseMs).then(
        (held) => held || job.cancel.abort(new LeaseLostError(`record ${job.id} moved on or was taken over`)),
        (error: unknown) => this.options.log('warn', 'lease renewal failed', { id: job.id, error: describeError(error) }),
      );
    }, every);
  }

  /** Writes the outcome and gives the lease up. */
  private async release(job: Job, changes?: RecordChanges, remove?: RemovableField[]): Promise<StoredRecord | undefined> {
    const record = await this.options.store.releaseLease(job.id, job.token, changes, remove);
    job.released = record !== undefined;
    return record;
  }

  /**
   * A job that ends without releasing (stopped, superseded, failed half way) gives its lease up,
   * unless a change of unknown outcome may still land: then the lease runs out first.
   */
  private async letGo(job: Job): Promise<void> {
    if (job.unsettled) return;
    await this.options.store.dropLease(job.id, job.token).catch(() => undefined);
  }

  /** The job lost its record: the record as it is now. */
  private async superseded(job: Job): Promise<SyncOutcome> {
    const current = await this.options.store.get(job.id);
    if (!current) return { kind: 'gone' };
    return current.status === 'deleting' ? { kind: 'deleting', record: current } : { kind: 'pending', record: current };
  }
}

/** How the registry deletes: its profile's own way (ECR, GHCR, Docker Hub), else the v2 API. */
function removalFor(client: RegistryClient): typeof removeImage {
  const own = client.profile.removeImage;
  return own ? own.bind(client.profile) : removeImage;
}

/** A failure another job recorded: its message is all there is. */
export class RecordedFailure extends Error {
  override readonly name = 'RecordedFailure';
  constructor(record: StoredRecord) {
    super(record.error ?? `the sync of record ${record.id} failed`);
  }
}

/**
 * After a sync pointed the tag at `digest`: the images of the record it replaced (the one it
 * advertised, one a stopped job may have pushed), added to a removal still pending.
 */
function replaced(record: StoredRecord, digest: string): Cleanup | undefined {
  const pending = record.cleanup && !record.cleanup.untag ? record.cleanup : undefined;
  const known = new Set(pending?.images.map((image) => image.digest));
  const added = [recordDigest(record), record.pending_digest].filter((d): d is string => d !== undefined && d !== digest && !known.has(d));
  const images = [...(pending?.images ?? []), ...[...new Set(added)].map((d) => ({ digest: d }))].filter((image) => image.digest !== digest);
  if (images.length === 0) return undefined;
  return { repository: pending?.repository ?? destinationOf(record).repository, images };
}

/** What deleting the record removes: its image, one a stopped job may have pushed, and any removal still pending. */
function deletionPlan(record: StoredRecord, repository: string, tag: string): Cleanup {
  if (record.cleanup?.untag) return record.cleanup;
  const images = [...(record.cleanup?.images ?? [])];
  for (const digest of [recordDigest(record), record.pending_digest]) {
    if (digest && !images.some((image) => image.digest === digest)) images.push({ digest });
  }
  return { repository, images, untag: tag };
}

function formatMs(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
