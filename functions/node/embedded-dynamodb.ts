// The DynamoDB of `serve` when AWS_ENDPOINT_URL_DYNAMODB is unset: dynalite in-process on a
// loopback port, persisted in LevelDB under the data directory. The store code talks to it
// through the same SDK client as to AWS.
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ConfigError } from '../../lib/config/errors.ts';

interface DynaliteOptions {
  path: string;
  createTableMs: number;
  deleteTableMs: number;
  updateTableMs: number;
}

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
  const dynalite = nodeRequire(dynaliteMain) as (options: DynaliteOptions) => Server;
  await checkNotLocked(createRequire(dynaliteMain)('level') as LevelModule, path, dataDir);

  // Tables become ACTIVE at once: no waiting on a fake CREATING state at startup.
  const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close() {
      // dynalite's close waits for the HTTP server, then closes LevelDB (releasing its LOCK).
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error?: Error) => (error ? reject(error) : resolve()));
        // SDK clients keep idle keep-alive sockets open; they would hold close() up.
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

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
