// `node dist/cli.mjs serve`, what `npm start` runs: it prints where it listens and a generated
// token, keeps state in the embedded store under IMAGESYNC_DATA_DIR across restarts, fails fast
// and clearly when it cannot start, and `npx deno run -A functions/deno.ts` serves the same API
// against an external DynamoDB. Every server runs in a process group of its own, stopped whole.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedDynamo } from '../../functions/node/embedded-dynamodb.ts';
import { serve } from '../../functions/node/serve.ts';
import { readTextFile } from '../../functions/node/read-file.ts';
import type { CommandContext } from '../../lib/cli/context.ts';
import { dynamoClient } from '../../lib/store/client.ts';
import { DynamoRecordStore } from '../../lib/store/dynamodb.ts';
import { pushImage } from '../harness/images.ts';
import { startProcess, type Started as Process } from '../harness/processes.ts';
import { headManifest } from '../harness/registry-api.ts';
import { startRegistry, type RunningRegistry } from '../harness/registry.ts';

let source: RunningRegistry;
let destination: RunningRegistry;
let home: string;

beforeAll(async () => {
  [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
  home = await mkdtemp(join(tmpdir(), 'imagesync-serve-'));
});
afterAll(async () => {
  await Promise.all([source?.stop(), destination?.stop()]);
  if (home) await rm(home, { recursive: true, force: true });
});

interface Started {
  running: Process;
  url: string;
  token?: string;
  stderr: () => string;
}

/** Starts a server process (in a group of its own) and waits for the lines saying where it listens. */
async function start(command: string, args: string[], env: Record<string, string>): Promise<Started> {
  const listening = /imagesync (http:\/\/127\.0\.0\.1:\d+)/;
  // A generated token is printed after the address; the newline says it is complete.
  const generated = /imagesync (http:\/\/127\.0\.0\.1:\d+)[^]*API token \(set IMAGESYNC_API_TOKEN to choose your own\): (\S+)\n/;
  const running = await startProcess(command, args, { env: { PATH: process.env.PATH!, HOME: home, ...env }, ready: env.IMAGESYNC_API_TOKEN ? listening : generated });
  return { running, url: running.match[1]!, token: running.match[2], stderr: running.stderr };
}

async function stop(server: Started): Promise<number | string> {
  return server.running.stop();
}

/** Runs the CLI to its end, expected soon: a process still running after `limitMs` is killed with its group. */
function runToExit(args: string[], env: Record<string, string>, limitMs = 20_000): Promise<{ code: number | string; stderr: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ['dist/cli.mjs', ...args], { env: { PATH: process.env.PATH!, HOME: home, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stderr = '';
  child.stdout.resume();
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      process.kill(-child.pid!, 'SIGKILL');
      resolve({ code: `still running after ${limitMs} ms`, stderr, ms: Date.now() - started });
    }, limitMs);
    // 'close': exited, and its stderr read to the end.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? 'unknown', stderr, ms: Date.now() - started });
    });
  });
}

/** A port some other process holds, on 127.0.0.1. */
async function takenPort(): Promise<{ port: number; release: () => Promise<void> }> {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  return { port: (holder.address() as AddressInfo).port, release: () => new Promise((resolve) => holder.close(() => resolve())) };
}

async function call(server: Started, token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, json: (response.status === 204 ? undefined : await response.json()) as any };
}

describe('node dist/cli.mjs serve', () => {
  it('prints its address and a generated token, and keeps records across restarts', async () => {
    const dataDir = join(home, 'state');
    const pushed = await pushImage(source, 'serve/app', 'v1', { format: 'oci', layers: 1 });
    const first = await start(process.execPath, ['dist/cli.mjs', 'serve', '--port', '0'], { IMAGESYNC_DATA_DIR: dataDir });
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const created = await call(first, first.token!, 'POST', '/v1/images', { source: `${source.host}/serve/app:v1`, destination: `${destination.host}/serve/app:v1` });
    expect(created.status).toBe(201);
    expect((await call(first, 'wrong', 'GET', `/v1/images/${created.json.id}`)).status).toBe(401);
    expect(await stop(first)).toBe(0);

    const second = await start(process.execPath, ['dist/cli.mjs', 'serve', '--port', '0'], { IMAGESYNC_DATA_DIR: dataDir, IMAGESYNC_API_TOKEN: 'chosen-token' });
    expect(second.token).toBeUndefined();
    const read = await call(second, 'chosen-token', 'GET', `/v1/images/${created.json.id}`);
    expect(read).toEqual({ status: 200, json: created.json });
    expect(read.json.image).toBe(`${destination.host}/serve/app@${pushed.digest}`);
    expect(await stop(second)).toBe(0);
  });

  it('keeps its state in the DynamoDB named by AWS_ENDPOINT_URL_DYNAMODB instead, creating the table', async () => {
    const dynamo = await startEmbeddedDynamo(join(home, 'external-store'));
    try {
      await pushImage(source, 'serve/external', 'v1', { format: 'oci', layers: 1 });
      const dataDir = join(home, 'unused');
      const server = await start(process.execPath, ['dist/cli.mjs', 'serve', '--port', '0'], {
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        IMAGESYNC_TABLE: 'external-table',
        IMAGESYNC_DATA_DIR: dataDir,
        IMAGESYNC_API_TOKEN: 't',
      });
      try {
        expect(server.stderr()).toContain(`state: ${dynamo.endpoint}, table external-table`);
        const created = await call(server, 't', 'POST', '/v1/images', { source: `${source.host}/serve/external:v1`, destination: `${destination.host}/serve/external:v1` });
        expect(created.status).toBe(201);
        const store = new DynamoRecordStore({ client: dynamoClient({}, { endpoint: dynamo.endpoint }), table: 'external-table' });
        expect(await store.get(created.json.id)).toMatchObject({ status: 'synced', image: created.json.image });
      } finally {
        await stop(server);
      }
      // Nothing went to the embedded store's directory.
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      await dynamo.close();
    }
  });

  it('says clearly when the data directory is in use by another server', async () => {
    const dataDir = join(home, 'locked');
    const first = await start(process.execPath, ['dist/cli.mjs', 'serve', '--port', '0'], { IMAGESYNC_DATA_DIR: dataDir, IMAGESYNC_API_TOKEN: 't' });
    try {
      const second = await runToExit(['serve', '--port', '0'], { IMAGESYNC_DATA_DIR: dataDir, IMAGESYNC_API_TOKEN: 't' });
      expect(second.code).toBe(1);
      expect(second.stderr.trim().split('\n')).toEqual([`imagesync: the data directory ${dataDir} is in use by another imagesync process`]);
    } finally {
      await stop(first);
    }
  });

  it('a port in use: exits 1 at once with one line suggesting --port, and leaves the data directory to the next server', async () => {
    const dataDir = join(home, 'port-taken');
    const taken = await takenPort();
    try {
      const run = await runToExit(['serve', '--port', String(taken.port)], { IMAGESYNC_DATA_DIR: dataDir, IMAGESYNC_API_TOKEN: 't' });
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr.trim().split('\n')).toEqual([`imagesync: port ${taken.port} on 127.0.0.1 is in use by another process: choose another with --port N (0 picks a free one)`]);
      // It opened the embedded store before it tried the port; closing that is quick.
      expect(run.ms).toBeLessThan(10_000);
    } finally {
      await taken.release();
    }
    const next = await start(process.execPath, ['dist/cli.mjs', 'serve', '--port', '0'], { IMAGESYNC_DATA_DIR: dataDir, IMAGESYNC_API_TOKEN: 't' });
    expect(await stop(next)).toBe(0);
  });

  it('a port in use: the failed start releases the embedded store within the process', async () => {
    // In this process, a store left open would still hold its LevelDB lock (and its worker thread).
    const dataDir = join(home, 'port-taken-in-process');
    const taken = await takenPort();
    const stderr: string[] = [];
    const context: CommandContext = {
      env: { IMAGESYNC_DATA_DIR: dataDir, IMAGESYNC_API_TOKEN: 't' },
      stdout: () => {},
      stderr: (line) => stderr.push(line),
      stderrIsTTY: false,
      readFile: readTextFile,
      transport: () => Promise.reject(new Error('no registry traffic expected')),
      userAgent: 'imagesync-test',
    };
    let failure: unknown;
    try {
      failure = await serve(['--port', String(taken.port)], context).then(() => 'started', (error: unknown) => error);
    } finally {
      await taken.release();
    }
    // Opening the same directory again fails with "in use" while the first store is still open.
    const reopened = await startEmbeddedDynamo(dataDir);
    await reopened.close();
    expect(failure).toMatchObject({ name: 'ConfigError', message: expect.stringContaining('--port') });
    expect(stderr).toEqual([]);
  });
});

describe('npx deno run -A functions/deno.ts', () => {
  it('creates, reads and deletes against the registry and an external DynamoDB', async () => {
    const dynamo = await startEmbeddedDynamo(join(home, 'deno-store'));
    try {
      const pushed = await pushImage(source, 'deno/api', 'v1', { format: 'docker', layers: 1 });
      const deno = await start('npx', ['deno', 'run', '-A', 'functions/deno.ts', '--port', '0'], {
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        IMAGESYNC_API_TOKEN: 'deno-token',
        IMAGESYNC_TABLE: 'imagesync-deno',
      });
      try {
        const created = await call(deno, 'deno-token', 'POST', '/v1/images', { source: `${source.host}/deno/api:v1`, destination: `${destination.host}/deno/api:v1` });
        expect(created.status).toBe(201);
        expect(created.json.image).toBe(`${destination.host}/deno/api@${pushed.digest}`);
        expect((await headManifest(destination, 'deno/api', 'v1')).digestHeader).toBe(pushed.digest);
        expect((await call(deno, 'deno-token', 'GET', `/v1/images/${created.json.id}`)).json).toEqual(created.json);
        expect((await call(deno, 'deno-token', 'DELETE', `/v1/images/${created.json.id}`)).status).toBe(204);
        expect((await call(deno, 'deno-token', 'GET', `/v1/images/${created.json.id}`)).status).toBe(404);
        expect((await headManifest(destination, 'deno/api', 'v1')).status).toBe(404);
      } finally {
        await stop(deno);
      }
    } finally {
      await dynamo.close();
    }
  }, 120_000);
});
