// Deadlines: a registry that stalls (at either end of a blob) is named and the sync ends in
// seconds; a sync has an overall timeout; `serve` stops within its grace period, stopping its jobs
// and releasing their leases. Hostile registries on loopback, the real one as the other end.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/node/embedded-dynamodb.ts';
import { recordId } from '../../lib/api/ids.ts';
import { parseReference } from '../../lib/reference/reference.ts';
import { dynamoClient } from '../../lib/store/client.ts';
import { DynamoRecordStore } from '../../lib/store/dynamodb.ts';
import { paced, singleLayerImage, startHostileRegistry, type HostileRegistry } from '../harness/hostile-registry.ts';
import { pushImage } from '../harness/images.ts';
import { startProcess } from '../harness/processes.ts';
import { startRegistry, type RunningRegistry } from '../harness/registry.ts';
import { startApi, type RunningApi } from './api-support.ts';

let destination: RunningRegistry;
const hostiles: HostileRegistry[] = [];
const apis: RunningApi[] = [];

beforeAll(async () => {
  destination = await startRegistry();
});
afterAll(async () => {
  await Promise.all(apis.map((api) => api.stop()));
  await Promise.all(hostiles.map((hostile) => hostile.stop()));
  await destination?.stop();
});

/** A source whose layer is sent `chunk` bytes every `everyMs`. */
async function slowSource(layer: Uint8Array, chunk: number, everyMs: number): Promise<HostileRegistry> {
  const image = singleLayerImage(layer);
  const source = await startHostileRegistry({
    ...image,
    intercept: (req, res) => {
      if (req.method !== 'GET' || !req.url.endsWith(image.layerDigest)) return false;
      paced(res, layer, chunk, everyMs);
      return true;
    },
  });
  hostiles.push(source);
  return source;
}

async function api(env: Record<string, string>): Promise<RunningApi> {
  const started = await startApi({ env });
  apis.push(started);
  return started;
}

describe('stalls', () => {
  it('a source trickling a blob (one byte every 300 ms) is named, and the POST fails in seconds', async () => {
    const source = await slowSource(randomBytes(100_000), 1, 300);
    const service = await api({ IMAGESYNC_STALL_TIMEOUT: '1s' });
    const started = Date.now();
    const answer = await service.call('POST', '/v1/images', { source: `${source.host}/slow/app:v1`, destination: `${destination.host}/deadline/trickle:v1` });
    const took = Date.now() - started;
    expect(answer.status).toBe(502);
    expect(answer.json.detail).toContain(`${source.host} stalled: sending less than 16 KiB in 1 s`);
    expect(answer.json.detail).not.toContain(destination.host);
    // Four attempts at the blob, each cut after a second of trickle, and their backoff.
    expect(took).toBeLessThan(15_000);
    expect((await service.call('GET', `/v1/images/${recordId(parseReference(`${destination.host}/deadline/trickle:v1`))}`)).status).toBe(404);
  });

  it('a destination that stops reading an upload is named, not the source', async () => {
    const source = await startRegistry();
    try {
      await pushImage(source, 'deadline/big', 'v1', { format: 'oci', layers: 1, layerSize: 32 * 1024 * 1024 });
      // Takes the upload's headers, then never reads its body nor answers.
      const sink = await startHostileRegistry({
        intercept: (req, res) => {
          if (req.method === 'POST' && req.url.includes('/blobs/uploads/')) {
            res.writeHead(202, { location: '/v2/sink/app/blobs/uploads/1', 'content-length': 0 });
            res.end();
            return true;
          }
          return req.method === 'PUT' || req.method === 'PATCH';
        },
      });
      hostiles.push(sink);
      const service = await api({ IMAGESYNC_STALL_TIMEOUT: '1s' });
      const started = Date.now();
      const answer = await service.call('POST', '/v1/images', { source: `${source.host}/deadline/big:v1`, destination: `${sink.host}/sink/app:v1` });
      expect(answer.status).toBe(502);
      expect(answer.json.detail).toContain(`${sink.host} stalled: receiving less than 16 KiB in 1 s`);
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      await source.stop();
    }
  });
});

describe('IMAGESYNC_SYNC_TIMEOUT', () => {
  it('ends a sync that moves steadily but outlasts it: 502 sync-timeout, and the first sync leaves no record', async () => {
    // 64 KiB every 100 ms: far from stalling, but 4 MiB take six seconds.
    const source = await slowSource(randomBytes(4 * 1024 * 1024), 64 * 1024, 100);
    const service = await api({ IMAGESYNC_SYNC_TIMEOUT: '2s' });
    const destinationRef = `${destination.host}/deadline/timeout:v1`;
    const started = Date.now();
    const answer = await service.call('POST', '/v1/images', { source: `${source.host}/slow/app:v1`, destination: destinationRef });
    const took = Date.now() - started;
    expect(answer.status).toBe(502);
    expect(answer.json).toMatchObject({ type: 'urn:imagesync:problem:sync-timeout' });
    expect(answer.json.detail).toMatch(/did not finish within 2 s \(IMAGESYNC_SYNC_TIMEOUT\)/);
    expect(took).toBeGreaterThanOrEqual(2_000);
    expect(took).toBeLessThan(6_000);
    expect((await service.call('GET', `/v1/images/${recordId(parseReference(destinationRef))}`)).status).toBe(404);
  });
});

describe('IMAGESYNC_SHUTDOWN_GRACE', () => {
  let dir: string;
  let dynamo: EmbeddedDynamo;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagesync-shutdown-'));
    dynamo = await startEmbeddedDynamo(dir);
  });
  afterAll(async () => {
    await dynamo?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('SIGTERM with a sync running: the process exits after the grace period, the lease released', async () => {
    // 32 KiB every 100 ms of an 8 MiB layer: about 25 s, far longer than the grace.
    const source = await slowSource(randomBytes(8 * 1024 * 1024), 32 * 1024, 100);
    const server = await startProcess(process.execPath, ['dist/cli.mjs', 'serve', '--port', '0'], {
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        DOCKER_CONFIG: dir,
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        IMAGESYNC_API_TOKEN: 't',
        IMAGESYNC_SHUTDOWN_GRACE: '1s',
        IMAGESYNC_CHECK_INTERVAL: '24h',
      },
      ready: /imagesync (http:\/\/\S+)/,
    });
    try {
      const url = server.match[1]!;
      const destinationRef = `${destination.host}/deadline/shutdown:v1`;
      const created = await fetch(`${url}/v1/images?wait=false`, {
        method: 'POST',
        headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
        body: JSON.stringify({ source: `${source.host}/slow/app:v1`, destination: destinationRef }),
      });
      expect(created.status).toBe(202);
      const store = new DynamoRecordStore({ client: dynamoClient({}, { endpoint: dynamo.endpoint }), table: 'imagesync' });
      const id = recordId(parseReference(destinationRef));
      // The job has the lease and the blob is flowing.
      for (let i = 0; i < 100 && (await store.get(id))?.lease_owner === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await store.get(id))?.lease_owner).toBeDefined();
      const stopping = Date.now();
      server.child.kill('SIGTERM');
      const how = await server.exited;
      const took = Date.now() - stopping;
      expect(how).toBe(0);
      expect(took).toBeGreaterThanOrEqual(1_000);
      expect(took).toBeLessThan(5_000);
      expect(server.stdout()).toContain('"msg":"grace period over: stopping the jobs still running"');
      // Left for the next worker at once: still to sync, no lease to wait out.
      const record = await store.get(id);
      expect(record).toMatchObject({ status: 'syncing' });
      expect(record?.lease_owner).toBeUndefined();
    } finally {
      await server.stop();
    }
  });
});
