// `node dist/cli.mjs serve`, what `npm start` runs: it prints where it listens and a generated
// token, keeps state in the embedded store under IMAGESYNC_DATA_DIR across restarts, and
// `npx deno run -A functions/deno.ts` serves the same API against an external DynamoDB.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { startEmbeddedDynamo } from '../../functions/node/embedded-dynamodb.ts';
import { dynamoClient } from '../../lib/store/client.ts';
import { DynamoRecordStore } from '../../lib/store/dynamodb.ts';
import { pushImage } from '../harness/images.ts';
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
  child: ChildProcess;
  url: string;
  token?: string;
  stderr: () => string;
}

/** Starts a server process and waits for the line saying where it listens. */
function start(command: string, args: string[], env: Record<string, string>): Promise<Started> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { PATH: process.env.PATH!, HOME: home, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`no listening line in 60 s: ${stderr}`)), 60_000);
    child.stdout!.resume();
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk;
      const listening = /imagesync (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      const generated = /API token \(set IMAGESYNC_API_TOKEN to choose your own\): (\S+)/.exec(stderr);
      if (listening && (env.IMAGESYNC_API_TOKEN || generated)) {
        clearTimeout(timer);
        resolve({ child, url: listening[1]!, token: generated?.[1], stderr: () => stderr });
      }
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
  });
}

async function stop(server: Started): Promise<number | null> {
  server.child.kill('SIGTERM');
  return new Promise((resolve) => server.child.once('exit', (code) => resolve(code)));
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
      const second = spawn(process.execPath, ['dist/cli.mjs', 'serve', '--port', '0'], { env: { PATH: process.env.PATH!, HOME: home, IMAGESYNC_DATA_DIR: dataDir, IMAGESYNC_API_TOKEN: 't' } });
      let stderr = '';
      second.stderr.on('data', (c: Buffer) => (stderr += c));
      const code = await new Promise<number | null>((resolve) => second.once('exit', resolve));
      expect(code).not.toBe(0);
      expect(stderr.trim().split('\n')).toEqual([`imagesync: the data directory ${dataDir} is in use by another imagesync process`]);
    } finally {
      await stop(first);
    }
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
