// `imagesync serve`: the HTTP API on Node, with the embedded DynamoDB-compatible store
// (dynalite, persisted under IMAGESYNC_DATA_DIR) unless AWS_ENDPOINT_URL_DYNAMODB names another,
// and handed-off syncs kept running in this process.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { serve as serveNode, type ServerType } from '@hono/node-server';
import type { CommandContext } from '../../lib/cli/context.ts';
import { UsageError } from '../../lib/cli/errors.ts';
import { ConfigError } from '../../lib/config/errors.ts';
import { readSettings } from '../../lib/config/settings.ts';
import { jsonLogger, type Logger } from '../../lib/log.ts';
import { createServer } from '../../lib/server.ts';
import { InProcessContinuation } from '../../lib/sync/continuation.ts';
import type { SyncEngine } from '../../lib/sync/engine.ts';
import { nodeCoreParts } from './core-parts.ts';

export async function serve(args: string[], context: CommandContext): Promise<number> {
  const { values } = parseArgs({ args, options: { port: { type: 'string', default: '8787' }, host: { type: 'string', default: '127.0.0.1' } } });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number, not ${values.port}`);
  const settings = readSettings(context.env);
  const generated = settings.tokens.length === 0;
  if (generated) settings.tokens = [randomBytes(24).toString('base64url')];
  const log = jsonLogger(context.stdout);

  const node = await nodeCoreParts(context, settings, log, 'serve');
  const continuation = new InProcessContinuation(log);
  let core: ReturnType<typeof createServer>;
  let server: ServerType;
  try {
    core = createServer({ ...node.parts, continuation });
    server = await listen(core.app.fetch, port, values.host!);
  } catch (error) {
    // The store's worker thread would keep the process alive, and its LevelDB lock the data
    // directory: both go before the error is reported.
    await within(node.close(), 5_000);
    throw error;
  }
  const { check, engine } = core;
  // Listened for before the address is announced: whoever reads it may ask for a stop at once.
  const stopRequested = new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  const address = server.address();
  const listening = typeof address === 'object' && address ? `http://${values.host}:${address.port}` : `http://${values.host}:${port}`;
  context.stderr(`imagesync ${listening} (state: ${node.store.description})`);
  if (generated) context.stderr(`API token (set IMAGESYNC_API_TOKEN to choose your own): ${settings.tokens[0]}`);
  log('info', 'listening', { url: listening, store: node.store.embedded ? 'embedded' : 'external', table: settings.table, check_interval_ms: settings.checkIntervalMs });

  // The scheduled check, in-process: once shortly after start (finishing what a previous process
  // left half done), then every IMAGESYNC_CHECK_INTERVAL; never two runs at once.
  const stopChecks = new AbortController();
  let running: Promise<unknown> | undefined;
  const tick = () => {
    running ??= check({ signal: stopChecks.signal })
      .catch((error: unknown) => log('error', 'check failed', { error: String(error) }))
      .finally(() => (running = undefined));
  };
  const first = setTimeout(tick, Math.min(5_000, settings.checkIntervalMs));
  const every = setInterval(tick, settings.checkIntervalMs);

  await stopRequested;
  clearTimeout(first);
  clearInterval(every);
  await shutDown({ log, grace: settings.shutdownGraceMs, running: () => running, stopChecks, server, continuation, engine });
  await within(node.close(), 5_000);
  return 0;
}

/** Listens on host:port; a failure the user can act on becomes one line that says how. */
async function listen(fetch: Parameters<typeof serveNode>[0]['fetch'], port: number, host: string): Promise<ServerType> {
  const server = serveNode({ fetch, port, hostname: host });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
  } catch (error) {
    throw listenError(error, host, port);
  }
  return server;
}

function listenError(error: unknown, host: string, port: number): unknown {
  switch ((error as { code?: unknown } | null)?.code) {
    case 'EADDRINUSE':
      return new ConfigError(`port ${port} on ${host} is in use by another process: choose another with --port N (0 picks a free one)`);
    case 'EACCES':
      return new ConfigError(`no permission to listen on ${host}:${port}: choose a port above 1023 with --port N`);
    case 'EADDRNOTAVAIL':
      return new ConfigError(`cannot listen on ${host}: not an address of this machine (see --host)`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ConfigError(`cannot listen on ${host}: no such host (see --host)`);
    default:
      return error;
  }
}

/**
 * A bounded stop: no new requests; running jobs get IMAGESYNC_SHUTDOWN_GRACE to finish; then they
 * are stopped (their leases released, records left `syncing` for the next worker) and requests
 * still open are answered or cut.
 */
async function shutDown(parts: {
  log: Logger;
  grace: number;
  running: () => Promise<unknown> | undefined;
  stopChecks: AbortController;
  server: ReturnType<typeof serveNode>;
  continuation: InProcessContinuation;
  engine: SyncEngine;
}): Promise<void> {
  const { log, grace, stopChecks, server, continuation, engine } = parts;
  const started = Date.now();
  log('info', 'stopping', { running_jobs: engine.running, grace_ms: grace });
  stopChecks.abort(new Error('shutting down'));
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  if ('closeIdleConnections' in server) server.closeIdleConnections();
  const finished = await within(Promise.all([continuation.drain(), parts.running(), closed]), grace);
  if (!finished) {
    log('warn', 'grace period over: stopping the jobs still running', { running_jobs: engine.running });
    await within(engine.stop(new Error('the service is shutting down')), 5_000);
    // Requests waiting on those jobs answer now; whatever is still open is cut.
    await within(closed, 2_000);
    if ('closeAllConnections' in server) server.closeAllConnections();
  }
  log('info', 'stopped', { ms: Date.now() - started });
}

/** True when `promise` settles within `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true as const, () => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
