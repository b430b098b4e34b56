// What happens to a job (a sync or a deletion) that outlasts the request that started it. The API
// answers 202 and hands the running job over: `serve` keeps it running in-process; on Lambda the
// process freezes once the handler returns, so the job is stopped and an asynchronous invocation
// finishes it.
import type { Logger } from '../log.ts';
import type { RemovalOutcome, SyncOutcome } from './engine.ts';

export interface Job {
  readonly id: string;
  readonly done: Promise<SyncOutcome | RemovalOutcome>;
  abort(reason?: unknown): void;
}

export interface Continuation {
  handOff(job: Job): Promise<void>;
}

/** Keeps handed-off jobs running in this process; `drain` waits for them (graceful shutdown). */
export class InProcessContinuation implements Continuation {
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly log: Logger) {}

  async handOff(job: Job): Promise<void> {
    const tracked = job.done
      .catch((error: unknown) => this.log('error', 'background job crashed', { id: job.id, error: String(error) }))
      .finally(() => this.running.delete(tracked));
    this.running.add(tracked);
  }

  get size(): number {
    return this.running.size;
  }

  /** Resolves once every handed-off job has ended, or after `ms`: true when they all did. */
  async drain(ms = Number.POSITIVE_INFINITY): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<false>((resolve) => {
      if (Number.isFinite(ms)) timer = setTimeout(() => resolve(false), ms);
    });
    try {
      return await Promise.race([Promise.all(this.running).then(() => true as const), late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Stops the job here and, when it stopped with work left (its lease given up, the record still
 * `syncing` or `deleting`), invokes a worker to finish it. A job that was only waiting for
 * another one's outcome leaves nothing to do.
 */
export class AsyncInvokeContinuation implements Continuation {
  constructor(
    private readonly invoke: (payload: { imagesync: 'sync'; id: string }) => Promise<void>,
    private readonly log: Logger,
  ) {}

  async handOff(job: Job): Promise<void> {
    job.abort(new Error('handed off to an asynchronous invocation'));
    const outcome = await job.done.catch(() => undefined);
    if (outcome?.kind !== 'interrupted') return;
    await this.invoke({ imagesync: 'sync', id: job.id });
    this.log('info', 'job handed off', { id: job.id });
  }
}
