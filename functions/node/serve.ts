// `imagesync serve`: the HTTP API on Node, with the embedded DynamoDB-compatible store
// (dynalite, persisted under IMAGESYNC_DATA_DIR) unless AWS_ENDPOINT_URL_DYNAMODB names another,
// and handed-off syncs kept running in this process.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { serve as serveNode } from '@hono/node-server';
import type { CommandContext } from '../../lib/cli/copy-command.ts';
import { UsageError } from '../../lib/cli/errors.ts';
import { loadRegistryAuth } from '../../lib/config/registry-auth.ts';
import { readSettings } from '../../lib/config/settings.ts';
import { jsonLogger } from '../../lib/log.ts';
import { createServer } from '../../lib/server.ts';
import { dynamoClient } from '../../lib/store/client.ts';
import { DynamoRecordStore } from '../../lib/store/dynamodb.ts';
import { ensureTable } from '../../lib/store/table.ts';
import { InProcessContinuation } from '../../lib/sync/continuation.ts';
import { startEmbeddedDynamo } from './embedded-dynamodb.ts';

export async function serve(args: string[], context: CommandContext): Promise<number> {
  const { values } = parseArgs({ args, options: { port: { type: 'string', default: '8787' }, host: { type: 'string', default: '127.0.0.1' } } });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number, not ${values.port}`);
  const settings = readSettings(context.env);
  const generated = settings.tokens.length === 0;
  if (generated) settings.tokens = [randomBytes(24).toString('base64url')];
  const log = jsonLogger(context.stdout);

  const external = context.env.AWS_ENDPOINT_URL_DYNAMODB;
  const embedded = external ? undefined : await startEmbeddedDynamo(settings.dataDir);
  const client = dynamoClient(context.env, { endpoint: embedded?.endpoint });
  await ensureTable(client, settings.table);
  const store = new DynamoRecordStore({ client, table: settings.table });
  const continuation = new InProcessContinuation(log);
  const { app } = createServer({
    settings,
    transport: context.transport,
    credentials: await loadRegistryAuth(context.env),
    store,
    continuation,
    log,
    owner: `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
    userAgent: context.userAgent,
  });

  const server = serveNode({ fetch: app.fetch, port, hostname: values.host });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  const listening = typeof address === 'object' && address ? `http://${values.host}:${address.port}` : `http://${values.host}:${port}`;
  context.stderr(`imagesync ${listening} (state: ${embedded ? `embedded, ${settings.dataDir}` : external}, table ${settings.table})`);
  if (generated) context.stderr(`API token (set IMAGESYNC_API_TOKEN to choose your own): ${settings.tokens[0]}`);
  log('info', 'listening', { url: listening, store: embedded ? 'embedded' : 'external', table: settings.table });

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  log('info', 'stopping', { running_syncs: continuation.size });
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await continuation.drain();
  await embedded?.close();
  return 0;
}
