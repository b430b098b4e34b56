// Lambda entry of the HTTP API (dist/api.mjs, `handler`): Function URL events go to the Hono app;
// `{"imagesync":"sync","id"}` events are the asynchronous invocations that finish syncs which
// outlasted their request. Everything is built once per container, at the first invocation.
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { handle, type LambdaContext, type LambdaEvent } from 'hono/aws-lambda';
import { readSettings } from '../../lib/config/settings.ts';
import { jsonLogger, type Logger } from '../../lib/log.ts';
import { createServer, type Server } from '../../lib/server.ts';
import { AsyncInvokeContinuation } from '../../lib/sync/continuation.ts';
import { lambdaCoreParts } from './core-parts.ts';

interface SyncEvent {
  imagesync: 'sync';
  id: string;
}

interface Runtime {
  server: Server;
  continuation: AsyncInvokeContinuation;
  log: Logger;
  http: ReturnType<typeof handle>;
}

/** Time kept back at the end of an invocation: enough to answer, release the lease, hand off. */
const RESERVE_MS = 15_000;

let runtime: Promise<Runtime> | undefined;

export async function handler(event: LambdaEvent | SyncEvent, context: LambdaContext): Promise<unknown> {
  const current = await (runtime ??= start());
  if (isSyncEvent(event)) return finishSync(current, event.id, context);
  return current.http(event as LambdaEvent, context);
}

/** When work in this invocation must stop: its end, less what answering and handing off take. */
function stopAt(context: LambdaContext): number {
  return Date.now() + context.getRemainingTimeInMillis() - RESERVE_MS;
}

async function start(): Promise<Runtime> {
  const env = process.env;
  const settings = readSettings(env);
  const log = jsonLogger((line) => process.stdout.write(`${line}\n`));
  const lambda = new LambdaClient({});
  const functionName = env.AWS_LAMBDA_FUNCTION_NAME;
  const continuation = new AsyncInvokeContinuation(async (payload) => {
    if (!functionName) throw new Error('AWS_LAMBDA_FUNCTION_NAME is not set: cannot hand the sync off');
    await lambda.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: new TextEncoder().encode(JSON.stringify(payload)) }));
  }, log);
  const server = createServer({
    ...(await lambdaCoreParts(env, settings, log, 'lambda')),
    continuation,
    // Each request's own invocation sets its deadline (nothing left of it: 202 and a hand-off at once).
    deadlineOf: (c) => {
      const context = (c.env as { lambdaContext?: LambdaContext } | undefined)?.lambdaContext;
      return context ? stopAt(context) : undefined;
    },
  });
  if (settings.tokens.length === 0) log('error', 'IMAGESYNC_API_TOKEN is not set: every /v1 call is refused');
  return { server, continuation, log, http: handle(server.app) };
}

/** An asynchronous invocation: finish the record's job until the invocation's end is near, then pass it on again. */
async function finishSync({ server, continuation, log }: Runtime, id: string, context: LambdaContext): Promise<{ outcome: string }> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(new Error('invocation time running out')), Math.max(0, stopAt(context) - Date.now()));
  try {
    const record = await server.store.get(id);
    const done = record?.status === 'deleting' ? server.engine.remove(id, { signal: stop.signal, joinUntil: Date.now() }) : server.engine.sync(id, { signal: stop.signal, joinUntil: Date.now() });
    const outcome = await done;
    // Still not done (a very large image): the next invocation goes on from what arrived.
    if (outcome.kind === 'interrupted') await continuation.handOff({ id, done: Promise.resolve(outcome), abort: () => {} });
    log('info', 'async job', { id, outcome: outcome.kind });
    return { outcome: outcome.kind };
  } finally {
    clearTimeout(timer);
  }
}

function isSyncEvent(event: unknown): event is SyncEvent {
  return typeof event === 'object' && event !== null && (event as SyncEvent).imagesync === 'sync' && typeof (event as SyncEvent).id === 'string';
}
