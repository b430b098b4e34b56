// Lambda entry of the scheduled check (dist/check.mjs, `handler`), run by EventBridge: one run
// over the table, stopped cleanly before the invocation's time runs out; the next run starts
// with the records this one did not reach (the stalest first).
import type { LambdaContext } from 'hono/aws-lambda';
import { readSettings } from '../../lib/config/settings.ts';
import { jsonLogger } from '../../lib/log.ts';
import { createCore, type Core } from '../../lib/server.ts';
import type { CheckSummary } from '../../lib/check/run.ts';
import { lambdaCoreParts } from './core-parts.ts';

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
  return createCore(await lambdaCoreParts(env, settings, jsonLogger((line) => process.stdout.write(`${line}\n`)), 'lambda-check'));
}
