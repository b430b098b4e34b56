// What happens to a sync that outlasts the request that started it. The API answers 202 and
// hands the running job over: `serve` keeps it running in-process; on Lambda the process freezes
// once the handler returns, so the job is stopped and an asynchronous invocation finishes it.
import type { Logger } from '../log.ts';
import type { SyncOutcome } from './engine.ts';

export interface SyncJob {
  readonly id: string;
  readonly done: Promise<SyncOutcome>;
  abort(reason?: unknown): void;
}

export interface Continuation {
  handOff(job: SyncJob): Promise<void>;
}

/** Keeps handed-off jobs running in this process; `drain` waits for them (graceful shutdown). */
export class InProcessContinuation implements Continuation {
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly log: Logger) {}

  async handOff(job: SyncJob): Promise<void> {
    const tracked = job.done
      .catch((error: unknown) => this.log('error', 'background sync crashed', { id: job.id, error: String(error) }))
      .finally(() => this.running.delete(tracked));
    this.running.add(tracked);
  }

  get size(): number {
    return this.running.size;
  }

  async drain(): Promise<void> {
    await Promise.all(this.running);
  }
}

/** Stops the job here (its lease released, the record still `syncing`) and invokes a worker. */
export class AsyncInvokeContinuation implements Continuation {
  constructor(
    private readonly invoke: (payload: { imagesync: 'sync'; id: string }) => Promise<void>,
    private readonly log: Logger,
  ) {}

  async handOff(job: SyncJob): Promise<void> {
    job.abort(new Error('handed off to an asynchronous invocation'));
    await job.done.catch(() => undefined);
    await this.invoke({ imagesync: 'sync', id: job.id });
    this.log('info', 'sync handed off', { id: job.id });
  }
}
