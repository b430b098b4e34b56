// The check as users run it: `node dist/cli.mjs check` (killed half way, then run again),
// `dist/check.mjs` as EventBridge invokes it, and the timer of `serve`.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { startEmbeddedDynamo } from '../../functions/node/embedded-dynamodb.ts';
import { recordId } from '../../lib/api/ids.ts';
import { parseReference } from '../../lib/reference/reference.ts';
import { dynamoClient } from '../../lib/store/client.ts';
import { DynamoRecordStore } from '../../lib/store/dynamodb.ts';
import { ensureTable } from '../../lib/store/table.ts';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.ts';
import { pushImage } from '../harness/images.ts';
import { headManifest } from '../harness/registry-api.ts';
import { startRegistry, type RunningRegistry } from '../harness/registry.ts';
import { copy, expectCopied } from './support.ts';

let source: RunningRegistry;
let destination: RunningRegistry;
let proxy: FaultProxy;
let dynamo: { endpoint: string; close(): Promise<void> };
let store: DynamoRecordStore;
let home: string;
const table = 'imagesync-check';

beforeAll(async () => {
  [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
  proxy = await startFaultProxy(destination.url);
  home = await mkdtemp(join(tmpdir(), 'imagesync-check-'));
  dynamo = await startEmbeddedDynamo(join(home, 'store'));
  const client = dynamoClient({}, { endpoint: dynamo.endpoint });
  await ensureTable(client, table);
  store = new DynamoRecordStore({ client, table });
});
afterAll(async () => {
  await dynamo?.close();
  await proxy?.stop();
  await Promise.all([source?.stop(), destination?.stop()]);
  if (home) await rm(home, { recursive: true, force: true });
});

/** A record in sync with what is in the registries now, as the API would have left it. */
async function syncedRecord(repo: string, destinationHost: string) {
  const pushed = await pushImage(source, repo, 'v1', { format: 'oci', layers: 1 });
  const sourceRef = `${source.host}/${repo}:v1`;
  const destinationRef = `${destinationHost}/${repo}:v1`;
  const { result } = await copy(sourceRef, destinationRef);
  const id = recordId(parseReference(destinationRef));
  await store.create({ id, source: sourceRef, destination: destinationRef, status: 'synced', image: result.image, source_digest: pushed.digest, synced_at: '2026-01-01T00:00:00Z', checked_at: '2026-01-01T00:00:00Z' });
  return { id, pushed };
}

function runCheck(env: Record<string, string> = {}, onSpawn?: (kill: () => void) => void) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['dist/cli.mjs', 'check'], {
      env: { PATH: process.env.PATH!, HOME: home, AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, IMAGESYNC_TABLE: table, IMAGESYNC_SYNC_LEASE: '2s', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    onSpawn?.(() => child.kill('SIGKILL'));
    child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('node dist/cli.mjs check', () => {
  it('killed half way through a sync: the next check completes it and the destination is consistent', async () => {
    const { id, pushed: old } = await syncedRecord('proc/killed', proxy.host);
    // The source tag moves to a larger image.
    const fresh = await pushImage(source, 'proc/killed', 'v1', { format: 'oci', layers: 3, layerSize: 3_000_000 });
    let kill = () => {};
    // Killed the moment the first blob upload starts streaming.
    proxy.fail({ match: (r) => (r.method === 'PUT' && r.url.includes('/blobs/uploads/') ? (kill(), false) : false), times: 1, action: { status: 500 } });
    const killed = await runCheck({}, (k) => (kill = k));
    expect(killed.signal).toBe('SIGKILL');
    // Half made: the tag still points at the old image, the record still says so (a sync under
    // way: `syncing`), under a dead lease.
    expect((await headManifest(destination, 'proc/killed', 'v1')).digestHeader).toBe(old.digest);
    const stuck = await store.get(id);
    expect(stuck).toMatchObject({ status: 'syncing', source_digest: old.digest, image: expect.stringContaining(old.digest) });
    expect(stuck!.lease_owner).toMatch(/:check:/);

    // Until the dead worker's lease runs out, a new check leaves the record alone.
    const early = await runCheck();
    expect(JSON.parse(early.stdout)).toMatchObject({ checked: 1, skipped: 1 });
    // Skipped is not failed.
    expect(early.code, early.stderr).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const next = await runCheck();
    expect(next.code, next.stderr).toBe(0);
    expect(JSON.parse(next.stdout.trim()), next.stderr).toMatchObject({ checked: 1, synced: 1, failed: 0 });
    expect(next.stderr).toContain('"msg":"check finished"');
    await expectCopied(fresh, source, 'proc/killed', destination, 'proc/killed', 'v1');
    expect(await store.get(id)).toMatchObject({ status: 'synced', source_digest: fresh.digest });
    expect((await store.get(id))!.lease_owner).toBeUndefined();
    proxy.clear();
    await store.delete(id);
  }, 60_000);

  it('exits 1 when a record failed, and prints the summary all the same', async () => {
    // The source tag was never pushed: the check marks the record failed.
    const sourceRef = `${source.host}/proc/gone:v1`;
    const destinationRef = `${destination.host}/proc/gone:v1`;
    const digest = `sha256:${'0'.repeat(64)}`;
    const id = recordId(parseReference(destinationRef));
    await store.create({ id, source: sourceRef, destination: destinationRef, status: 'synced', image: `${destination.host}/proc/gone@${digest}`, source_digest: digest, synced_at: '2026-01-01T00:00:00Z', checked_at: '2026-01-01T00:00:00Z' });
    try {
      const run = await runCheck();
      expect(run.code, run.stderr).toBe(1);
      expect(JSON.parse(run.stdout.trim())).toMatchObject({ checked: 1, failed: 1 });
      expect(await store.get(id)).toMatchObject({ status: 'failed', error: `source image ${sourceRef} not found` });
    } finally {
      await store.delete(id);
    }
  });
});

describe('dist/check.mjs', () => {
  it('runs one check for an EventBridge event and answers the summary', async () => {
    const { id } = await syncedRecord('proc/lambda', destination.host);
    const moved = await pushImage(source, 'proc/lambda', 'v1', { format: 'docker', layers: 1 });
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      IMAGESYNC_TABLE: table,
      // Lambda reaches no loopback address unless listed: the test registries are.
      IMAGESYNC_ALLOWED_REGISTRIES: `${source.host},${destination.host}`,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    // The handler logs JSON lines to process.stdout: kept here, not in the test output.
    const logged: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: never[]) =>
      String(chunk).startsWith('{"time"') ? (logged.push(String(chunk)), true) : write(chunk, ...rest)) as typeof process.stdout.write);
    onTestFinished(() => void vi.restoreAllMocks());
    const { handler } = (await import(pathToFileURL(join(process.cwd(), 'dist/check.mjs')).href)) as { handler: (event: unknown, context: unknown) => Promise<Record<string, number>> };
    const event = { version: '0', id: crypto.randomUUID(), 'detail-type': 'Scheduled Event', source: 'aws.events', time: new Date().toISOString(), region: 'us-east-1', resources: [], detail: {} };
    const summary = await handler(event, { getRemainingTimeInMillis: () => 300_000 });
    expect(summary).toMatchObject({ checked: 1, synced: 1, failed: 0 });
    expect(logged.some((line) => line.includes('"msg":"check finished"'))).toBe(true);
    expect((await headManifest(destination, 'proc/lambda', 'v1')).digestHeader).toBe(moved.digest);
    // Almost no time left: nothing is started, nothing is half made.
    const rushed = await handler(event, { getRemainingTimeInMillis: () => 1_000 });
    expect(rushed).toMatchObject({ checked: 0, not_reached: 1 });
    await store.delete(id);
  });
});

describe("serve's timer", () => {
  it('runs the check every IMAGESYNC_CHECK_INTERVAL', async () => {
    const dataDir = join(home, 'serve');
    const child = spawn(process.execPath, ['dist/cli.mjs', 'serve', '--port', '0'], {
      env: { PATH: process.env.PATH!, HOME: home, IMAGESYNC_DATA_DIR: dataDir, IMAGESYNC_API_TOKEN: 't', IMAGESYNC_CHECK_INTERVAL: '1s' },
    });
    try {
      let stderr = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr.on('data', (c: Buffer) => {
          stderr += c;
          const m = /imagesync (http:\/\/\S+)/.exec(stderr);
          if (m) resolve(m[1]!);
        });
        child.once('exit', () => reject(new Error(stderr)));
      });
      const call = (method: string, path: string, body?: unknown) =>
        fetch(`${url}${path}`, { method, headers: { authorization: 'Bearer t', 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined }).then((r) => r.json() as Promise<any>);
      await pushImage(source, 'proc/timer', 'v1', { format: 'oci', layers: 1 });
      const created = await call('POST', '/v1/images', { source: `${source.host}/proc/timer:v1`, destination: `${destination.host}/proc/timer:v1` });
      const moved = await pushImage(source, 'proc/timer', 'v1', { format: 'oci', layers: 1 });
      let record = created;
      for (let i = 0; i < 50 && record.source_digest !== moved.digest; i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        record = await call('GET', `/v1/images/${created.id}`);
      }
      expect(record).toMatchObject({ status: 'synced', source_digest: moved.digest });
      expect((await headManifest(destination, 'proc/timer', 'v1')).digestHeader).toBe(moved.digest);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }, 60_000);
});
