// Deno entry: `npx deno run -A functions/deno.ts` serves the same HTTP API with Deno.serve and
// Deno's fetch as registry transport. State lives in the DynamoDB named by
// AWS_ENDPOINT_URL_DYNAMODB (the embedded store is Node-only). Options: --port N --host H.
import process from 'node:process';
import { lookup } from 'node:dns/promises';
import { parseArgs } from 'node:util';
import { loadRegistryAuth } from '../lib/config/registry-auth.ts';
import { readTextFile } from './node/read-file.ts';
import { readSettings } from '../lib/config/settings.ts';
import { jsonLogger } from '../lib/log.ts';
import { createServer } from '../lib/server.ts';
import { dynamoClient } from '../lib/store/client.ts';
import { DynamoRecordStore } from '../lib/store/dynamodb.ts';
import { ensureTable } from '../lib/store/table.ts';
import { InProcessContinuation } from '../lib/sync/continuation.ts';
import { serviceGuard } from '../lib/transport/address-guard.ts';
import { fetchTransport } from '../lib/transport/fetch.ts';

declare const Deno: {
  serve(
    options: { port: number; hostname: string; onListen?: (address: { hostname: string; port: number }) => void },
    handler: (request: Request) => Response | Promise<Response>,
  ): { finished: Promise<void>; shutdown(): Promise<void> };
};

let values: { port: string; host: string };
try {
  ({ values } = parseArgs({ args: process.argv.slice(2), options: { port: { type: 'string', default: '8787' }, host: { type: 'string', default: '127.0.0.1' } } }));
} catch (error) {
  console.error(`imagesync: ${(error as Error).message.split('. ')[0]} (options: --port N --host H)`);
  process.exit(2);
}
const port = Number(values.port);
if (!/^\d{1,5}$/.test(values.port) || port > 65535) {
  console.error(`imagesync: --port must be a port number, not ${JSON.stringify(values.port)}`);
  process.exit(2);
}
const env = process.env;
const log = jsonLogger((line) => console.log(line));
if (!env.AWS_ENDPOINT_URL_DYNAMODB) {
  console.error('imagesync: set AWS_ENDPOINT_URL_DYNAMODB to the DynamoDB to use (the embedded store needs Node: npm start)');
  process.exit(2);
}
const settings = readSettings(env);
const generated = settings.tokens.length === 0;
if (generated) settings.tokens = [crypto.randomUUID().replaceAll('-', '')];
const client = dynamoClient(env);
await ensureTable(client, settings.table);
const continuation = new InProcessContinuation(log);
const { app, engine, check } = createServer({
  settings,
  transport: fetchTransport({ guard: { check: serviceGuard(settings.allowed, true), resolve: async (name) => (await lookup(name, { all: true })).map((a) => a.address) } }),
  credentials: await loadRegistryAuth(env, readTextFile),
  store: new DynamoRecordStore({ client, table: settings.table }),
  continuation,
  log,
  worker: `deno:${process.pid}:${crypto.randomUUID().slice(0, 6)}`,
  userAgent: `imagesync/${(await import('../lib/version.ts')).VERSION} deno`,
});
const server = Deno.serve(
  {
    port,
    hostname: values.host!,
    onListen: ({ hostname, port }) => {
      console.error(`imagesync http://${hostname}:${port} (Deno; state: ${env.AWS_ENDPOINT_URL_DYNAMODB}, table ${settings.table})`);
      if (generated) console.error(`API token (set IMAGESYNC_API_TOKEN to choose your own): ${settings.tokens[0]}`);
    },
  },
  app.fetch,
);

// The scheduled check, in-process as with `serve`: shortly after start, then every
// IMAGESYNC_CHECK_INTERVAL; never two runs at once.
const stopChecks = new AbortController();
let checking: Promise<unknown> | undefined;
const tick = () => {
  checking ??= check({ signal: stopChecks.signal })
    .catch((error: unknown) => log('error', 'check failed', { error: String(error) }))
    .finally(() => (checking = undefined));
};
const first = setTimeout(tick, Math.min(5_000, settings.checkIntervalMs));
const every = setInterval(tick, settings.checkIntervalMs);

// A bounded stop, as on Node: no new requests, IMAGESYNC_SHUTDOWN_GRACE for running jobs, then
// they are stopped (leases released) and the process exits.
const shutDown = async () => {
  log('info', 'stopping', { running_jobs: engine.running, grace_ms: settings.shutdownGraceMs });
  clearTimeout(first);
  clearInterval(every);
  stopChecks.abort(new Error('shutting down'));
  const late = (ms: number) => new Promise<false>((resolve) => setTimeout(() => resolve(false), ms));
  const finished = await Promise.race([Promise.all([server.shutdown(), continuation.drain()]).then(() => true), late(settings.shutdownGraceMs)]);
  if (!finished) {
    log('warn', 'grace period over: stopping the jobs still running', { running_jobs: engine.running });
    await Promise.race([engine.stop(new Error('the service is shutting down')), late(5_000)]);
  }
  client.destroy();
  process.exit(0);
};
process.once('SIGTERM', () => void shutDown());
process.once('SIGINT', () => void shutDown());
