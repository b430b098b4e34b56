// Lambda entry of the scheduled check (dist/check.mjs, `handler`), run by EventBridge: one run
// over the table, stopped cleanly before the invocation's time runs out; the next run starts
// with the records this one did not reach (the stalest first).
import type { LambdaContext } from 'hono/aws-lambda';
import { loadRegistryAuth } from '../../lib/config/registry-auth.ts';
import { readSettings } from '../../lib/config/settings.ts';
import { jsonLogger } from '../../lib/log.ts';
import { createCore, type Core } from '../../lib/server.ts';
import { dynamoClient } from '../../lib/store/client.ts';
import { DynamoRecordStore } from '../../lib/store/dynamodb.ts';
import type { CheckSummary } from '../../lib/check/run.ts';
import { serviceGuard } from '../../lib/transport/address-guard.ts';
import { nodeTransport } from '../node/transport.ts';

/** Kept back at the end of the invocation: syncs stop, leases are released, the summary is logged. */
const RESERVE_MS = 20_000;

let core: Promise<Core> | undefined;

export async function handler(_event: unknown, context: LambdaContext): Promise<CheckSummary> {
  const deadline = Date.now() + context.getRemainingTimeInMillis() - RESERVE_MS;
  const ready = await (core ??= start());
  return ready.check({ deadline });
}

async function start(): Promise<Core> {
  const env = process.env;
  const settings = readSettings(env);
  return createCore({
    settings,
    transport: nodeTransport({ guard: serviceGuard(settings.allowed, false) }),
    credentials: await loadRegistryAuth(env),
    store: new DynamoRecordStore({ client: dynamoClient(env), table: settings.table }),
    log: jsonLogger((line) => process.stdout.write(`${line}\n`)),
    owner: `lambda-check:${env.AWS_LAMBDA_LOG_STREAM_NAME ?? 'local'}:${crypto.randomUUID().slice(0, 8)}`,
  });
}
