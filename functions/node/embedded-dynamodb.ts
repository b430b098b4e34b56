// The DynamoDB of `serve` when AWS_ENDPOINT_URL_DYNAMODB is unset: dynalite on a loopback port,
// persisted in LevelDB under the data directory, running in a worker thread of its own so that
// its LevelDB and JSON work uses the second core instead of queueing behind API requests
// (measured: GET throughput under 50 clients up by a third). The store code talks to it
// through the same SDK client as to AWS.
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ConfigError } from '../../lib/config/errors.ts';

/** The part of `level` (dynalite's own dependency) used to test the directory lock. */
interface LevelModule {
  Level: new (location: string) => { open(): Promise<void>; close(): Promise<void> };
}

export interface EmbeddedDynamo {
  /** http://127.0.0.1:PORT, for dynamoClient(env, { endpoint }). */
  endpoint: string;
  close(): Promise<void>;
}

// Loaded at run time, not imported: dynalite is CommonJS without types, and it pulls in a native
// LevelDB binding that cannot be bundled; only `serve` in local mode needs it.
const nodeRequire = createRequire(import.meta.url);

export async function startEmbeddedDynamo(dataDir: string): Promise<EmbeddedDynamo> {
  const path = join(dataDir, 'dynamodb');
  await mkdir(path, { recursive: true });
  const dynaliteMain = nodeRequire.resolve('dynalite');
  await checkNotLocked(createRequire(dynaliteMain)('level') as LevelModule, path, dataDir);

  const worker = new Worker(workerSource, { eval: true, workerData: { dynaliteMain, path } });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (message: { port: number }) => resolve(message.port));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the embedded store stopped at start (exit ${code})`)));
  });

  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        worker.once('message', (message: { closed?: boolean; error?: string }) => (message.error ? reject(new Error(message.error)) : resolve()));
        worker.postMessage('close');
      }).then(() => worker.terminate().then(() => undefined));
      return closing;
    },
  };
}

/** The worker: dynalite listening on a free loopback port; 'close' closes it (and LevelDB's LOCK). */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const dynalite = require(workerData.dynaliteMain);
// Tables become ACTIVE at once: no waiting on a fake CREATING state at startup.
const server = dynalite({ path: workerData.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (message) => {
  if (message !== 'close') return;
  server.close((error) => parentPort.postMessage(error ? { error: String(error) } : { closed: true }));
  // SDK clients keep idle keep-alive sockets open; they would hold close() up.
  server.closeIdleConnections();
});
`;

/**
 * dynalite opens LevelDB in the background and, when that fails, throws an uncaught
 * "Database is not open" from its request handler on the first request, which kills the process.
 * So open the database once ourselves first: LevelDB's LOCK (held by another process, or by
 * another store in this one) shows up here as LEVEL_LOCKED, and can be reported clearly.
 * A process that takes the lock between this check and dynalite's own open is not caught.
 */
async function checkNotLocked(level: LevelModule, path: string, dataDir: string): Promise<void> {
  const db = new level.Level(path);
  try {
    await db.open();
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    if (cause?.code === 'LEVEL_LOCKED') throw new ConfigError(`the data directory ${dataDir} is in use by another imagesync process`);
    const detail = typeof cause?.message === 'string' ? cause.message : (error as Error).message;
    throw new Error(`cannot open the embedded store in ${path}: ${detail}`);
  }
  await db.close();
}
