// Randomized schedules of POST, PUT, DELETE, /sync and GET on one record (with and without
// ?wait=false, in-process check runs among them), against real registries and a deliberately slow
// source, in one process and across two `serve` processes sharing one store. Once everything is
// quiet, the contract's invariants must hold:
// - a `synced` record's tag resolves to the digest in `image` (its source's), every manifest and
//   blob present;
// - a record that is gone has its tag gone (or named in X-Imagesync-Left), and it stays gone;
// - no answer is a 5xx or an unexpected status.
// Schedules are seeded: INVARIANT_SEED and INVARIANT_SCHEDULES choose them, and a failure names
// the seed and the schedule (its operations and their times) so it can be replayed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/node/embedded-dynamodb.ts';
import { recordId } from '../../lib/api/ids.ts';
import { parseReference } from '../../lib/reference/reference.ts';
import { dynamoClient } from '../../lib/store/client.ts';
import { DynamoRecordStore } from '../../lib/store/dynamodb.ts';
import type { RecordStore } from '../../lib/store/types.ts';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.ts';
import { pushImage, pushIndex, type PushedImage, type PushedIndex } from '../harness/images.ts';
import { startProcess, type Started } from '../harness/processes.ts';
import { getManifest, headManifest } from '../harness/registry-api.ts';
import { rawFetch } from '../harness/raw-client.ts';
import { startRegistry, type RunningRegistry } from '../harness/registry.ts';
import { startApi, type RunningApi } from './api-support.ts';

const SEED = Number(process.env.INVARIANT_SEED ?? 20261129);
const SCHEDULES = Number(process.env.INVARIANT_SCHEDULES ?? 200);
/** Schedules run at once, each on a record (and destination repository) of its own. */
const LANES = 12;
const QUIET_LIMIT_MS = 30_000;

type Kind = 'post' | 'put' | 'delete' | 'sync' | 'get' | 'check';
type SourceName = 'fast' | 'slow1' | 'slow2';
interface Op {
  at: number;
  kind: Kind;
  source: SourceName;
  wait: boolean;
}

/** mulberry32: small, seedable, good enough to pick operations. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function schedule(seed: number, index: number, kinds: Kind[]): Op[] {
  const next = random(seed ^ Math.imul(index + 1, 0x9e3779b1));
  const pick = <T,>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
  const count = 3 + Math.floor(next() * 4);
  return Array.from({ length: count }, () => ({
    at: Math.floor(next() * 600),
    kind: pick(kinds),
    source: pick(['fast', 'slow1', 'slow2'] as const),
    wait: next() < 0.7,
  })).sort((a, b) => a.at - b.at);
}

const ACCEPTED: Record<Kind, number[]> = {
  post: [200, 201, 202, 409],
  put: [200, 202, 404, 409],
  delete: [202, 204, 404],
  sync: [200, 202, 404, 409],
  get: [200, 404],
  check: [],
};

interface World {
  source: RunningRegistry;
  slow: FaultProxy;
  destination: RunningRegistry;
  references: Record<SourceName, string>;
  digests: Record<SourceName, string>;
}

let world: World;

beforeAll(async () => {
  const [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
  // The slow source: every request waits a little, so syncs overlap with what comes next.
  const slow = await startFaultProxy(source.url, { latencyMs: 40 });
  const fast: PushedImage = await pushImage(source, 'inv/fast', 'v1', { format: 'oci', layers: 2, layerSize: 20_000 });
  const slow1: PushedImage = await pushImage(source, 'inv/slow', 'v1', { format: 'docker', layers: 3, layerSize: 20_000 });
  const slow2: PushedIndex = await pushIndex(source, 'inv/slow', 'v2', { format: 'oci', layers: 2, layerSize: 20_000, sharedLayer: true });
  world = {
    source,
    slow,
    destination,
    references: { fast: `${source.host}/inv/fast:v1`, slow1: `${slow.host}/inv/slow:v1`, slow2: `${slow.host}/inv/slow:v2` },
    digests: { fast: fast.digest, slow1: slow1.digest, slow2: slow2.digest },
  };
});

afterAll(async () => {
  await world?.slow.stop();
  await Promise.all([world?.source.stop(), world?.destination.stop()]);
});

/** One way to reach the service: in-process, or one of two `serve` processes picked at random. */
interface Service {
  call(method: string, path: string, body?: unknown): Promise<{ status: number; text: string; left: string | null }>;
  check?(): Promise<unknown>;
  /** Nothing of this process is still running (in-process only; processes are judged by the record). */
  idle?(): boolean;
  /** How long the record must stay the same to count as quiet. */
  settleMs: number;
  store: RecordStore;
}

async function runSchedule(service: Service, lane: number, index: number, ops: Op[]): Promise<string[]> {
  // Per variant (the schedule numbers differ) and lane: no two stores ever share a repository.
  const repository = `inv/v${Math.floor(index / 10_000)}lane${lane}`;
  const destination = `${world.destination.host}/${repository}:t`;
  const id = recordId(parseReference(destination));
  const problems: string[] = [];
  let lastLeft: string | null = null;
  const started = Date.now();
  await Promise.all(
    ops.map(async (op) => {
      await new Promise((resolve) => setTimeout(resolve, op.at));
      const query = op.wait ? '' : '?wait=false';
      const body = { source: world.references[op.source], destination };
      let answer: { status: number; text: string; left: string | null } | undefined;
      if (op.kind === 'check') {
        await service.check?.();
        return;
      }
      if (op.kind === 'post') answer = await service.call('POST', `/v1/images${query}`, body);
      if (op.kind === 'put') answer = await service.call('PUT', `/v1/images/${id}${query}`, body);
      if (op.kind === 'delete') answer = await service.call('DELETE', `/v1/images/${id}`);
      if (op.kind === 'sync') answer = await service.call('POST', `/v1/images/${id}/sync${query}`);
      if (op.kind === 'get') answer = await service.call('GET', `/v1/images/${id}`);
      if (!ACCEPTED[op.kind].includes(answer!.status)) problems.push(`${op.kind} at ${op.at} ms answered ${answer!.status}: ${answer!.text.slice(0, 300)}`);
      if (op.kind === 'delete' && answer!.status === 204) lastLeft = answer!.left;
    }),
  );
  // Quiet: no job of ours runs and the record is settled, the same for a while.
  let stableSince: number | undefined;
  let previous = '';
  for (;;) {
    const record = await service.store.get(id);
    const settled = !record || ((record.status === 'synced' || record.status === 'failed') && record.lease_owner === undefined);
    const state = JSON.stringify(record ?? null);
    if (settled && (service.idle?.() ?? true) && state === previous) {
      stableSince ??= Date.now();
      if (Date.now() - stableSince >= service.settleMs) break;
    } else {
      stableSince = undefined;
    }
    previous = state;
    if (Date.now() - started > QUIET_LIMIT_MS) {
      problems.push(`not quiet after ${QUIET_LIMIT_MS} ms: ${state}`);
      return problems;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  problems.push(...(await invariants(service.store, id, repository, lastLeft)));
  return problems.map((p) => `schedule ${index} (seed ${SEED}) on ${repository}: ${p}\n  ops: ${JSON.stringify(ops)}`);
}

async function invariants(store: RecordStore, id: string, repository: string, left: string | null): Promise<string[]> {
  const problems: string[] = [];
  const record = await store.get(id);
  const tag = await headManifest(world.destination, repository, 't');
  if (!record) {
    if (tag.status !== 404 && !(left ?? '').includes(`${repository}:t`)) problems.push(`the record is gone but its tag resolves to ${tag.digestHeader}`);
    return problems;
  }
  if (record.status !== 'synced') return problems;
  const digest = record.image?.split('@')[1];
  const name = (Object.keys(world.references) as SourceName[]).find((key) => world.references[key] === record.source);
  if (tag.digestHeader !== digest) problems.push(`synced with image ${digest} but the tag resolves to ${tag.digestHeader}`);
  if (record.source_digest !== digest || (name && world.digests[name] !== digest)) {
    problems.push(`synced from ${record.source} (digest ${name && world.digests[name]}) but advertises ${digest} (source_digest ${record.source_digest})`);
  }
  if (digest) problems.push(...(await missingParts(repository, digest)));
  return problems;
}

/** Every manifest and blob of the image at the destination, by digest. */
async function missingParts(repository: string, digest: string): Promise<string[]> {
  const manifest = await getManifest(world.destination, repository, digest);
  if (manifest.status !== 200) return [`manifest ${digest} is missing (${manifest.status})`];
  const json = JSON.parse(new TextDecoder().decode(manifest.bytes)) as { manifests?: { digest: string }[]; config?: { digest: string }; layers?: { digest: string }[] };
  if (json.manifests) return (await Promise.all(json.manifests.map((child) => missingParts(repository, child.digest)))).flat();
  const missing: string[] = [];
  for (const blob of [json.config!, ...json.layers!]) {
    const head = await rawFetch(world.destination, `/v2/${repository}/blobs/${blob.digest}`, { method: 'HEAD' }, `repository:${repository}:pull`);
    if (head.status !== 200) missing.push(`blob ${blob.digest} of ${digest} is missing (${head.status})`);
  }
  return missing;
}

async function runAll(service: Service, kinds: Kind[], first: number): Promise<{ problems: string[]; statuses: Record<string, number> }> {
  const problems: string[] = [];
  const statuses: Record<string, number> = {};
  const counted: Service = {
    ...service,
    call: async (method, path, body) => {
      const answer = await service.call(method, path, body);
      const key = `${method} ${path.includes('/sync') ? 'sync' : path.split('?')[0] === '/v1/images' ? 'images' : 'id'} ${answer.status}`;
      statuses[key] = (statuses[key] ?? 0) + 1;
      return answer;
    },
  };
  const only = process.env.INVARIANT_ONLY === undefined ? undefined : Number(process.env.INVARIANT_ONLY);
  const indexes = Array.from({ length: SCHEDULES }, (_, i) => first + i).filter((i) => only === undefined || i === only);
  await Promise.all(
    Array.from({ length: LANES }, async (_, lane) => {
      for (let k = lane; k < indexes.length; k += LANES) problems.push(...(await runSchedule(counted, lane, indexes[k]!, schedule(SEED, indexes[k]!, kinds))));
    }),
  );
  return { problems, statuses };
}

function apiCaller(url: string, token: string): Service['call'] {
  return async (method, path, body) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, text: await response.text(), left: response.headers.get('x-imagesync-left') };
  };
}

/**
 * Ten /sync calls at once after the source tag moved: one copy. Every blob of the new image is
 * fetched from the (slow) source at most once, and the tag and the record end on the new image.
 */
async function concurrentSyncs(service: Service, repository: string): Promise<void> {
  const destination = `${world.destination.host}/${repository}:t`;
  const reference = `${world.slow.host}/${repository}:v1`;
  await pushImage(world.source, repository, 'v1', { format: 'oci', layers: 1 });
  const created = await service.call('POST', '/v1/images', { source: reference, destination });
  expect(created.status).toBe(201);
  const id = recordId(parseReference(destination));
  const moved = await pushImage(world.source, repository, 'v1', { format: 'oci', layers: 3, layerSize: 200_000 });
  const before = world.slow.requests.length;
  const answers = await Promise.all(Array.from({ length: 10 }, () => service.call('POST', `/v1/images/${id}/sync`)));
  for (const answer of answers) expect([200, 202], answer.text).toContain(answer.status);
  for (let i = 0; i < 200; i++) {
    const record = await service.store.get(id);
    if (record?.status === 'synced' && record.source_digest === moved.digest && !record.lease_owner) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(await service.store.get(id)).toMatchObject({ status: 'synced', source_digest: moved.digest });
  expect((await headManifest(world.destination, repository, 't')).digestHeader).toBe(moved.digest);
  const blobGets = world.slow.requests.slice(before).filter((r) => r.method === 'GET' && r.url.includes('/blobs/sha256:'));
  const perBlob = new Map<string, number>();
  for (const get of blobGets) perBlob.set(get.url, (perBlob.get(get.url) ?? 0) + 1);
  expect(perBlob.size).toBe(4); // three layers and the config
  expect([...perBlob.values()].every((n) => n === 1)).toBe(true);
}

describe('in one process', () => {
  let api: RunningApi;
  beforeAll(async () => {
    // A short budget so that some answers are 202 and their jobs go on in the background.
    api = await startApi({ env: { IMAGESYNC_REQUEST_BUDGET: '300ms' } });
  });
  afterAll(async () => {
    await api?.stop();
  });

  it(`${SCHEDULES} random schedules of POST, PUT, DELETE, /sync, GET and check runs leave every record true`, async () => {
    const service: Service = {
      call: apiCaller(api.url, api.token),
      check: () => api.server.check(),
      idle: () => api.continuation.size === 0 && api.server.engine.running === 0,
      settleMs: 100,
      store: api.store,
    };
    const { problems, statuses } = await runAll(service, ['post', 'post', 'put', 'put', 'delete', 'delete', 'sync', 'get', 'check'], 0);
    console.log(`invariants, one process, seed ${SEED}: ${JSON.stringify(statuses)}`);
    expect(problems).toEqual([]);
  }, 600_000);

  it('ten /sync calls at once after the source moved copy each blob once', async () => {
    await concurrentSyncs({ call: apiCaller(api.url, api.token), store: api.store, settleMs: 0 }, 'inv/moving1');
  });
});

describe('across two processes sharing one store', () => {
  let dir: string;
  let dynamo: EmbeddedDynamo;
  let store: DynamoRecordStore;
  const servers: Started[] = [];
  const token = 'invariant-token';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagesync-invariants-'));
    dynamo = await startEmbeddedDynamo(dir);
    store = new DynamoRecordStore({ client: dynamoClient({}, { endpoint: dynamo.endpoint }), table: 'imagesync' });
    const env = {
      PATH: process.env.PATH,
      HOME: dir,
      DOCKER_CONFIG: dir,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      IMAGESYNC_API_TOKEN: token,
      IMAGESYNC_REQUEST_BUDGET: '300ms',
      // Each process's scheduled check runs among the requests too.
      IMAGESYNC_CHECK_INTERVAL: '3s',
    };
    for (let i = 0; i < 2; i++) servers.push(await startProcess(process.execPath, [process.env.INVARIANT_CLI ?? 'dist/cli.mjs', 'serve', '--port', '0'], { env, ready: /imagesync (http:\/\/\S+)/ }));
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await dynamo?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(`${SCHEDULES} random schedules spread over both processes leave every record true`, async () => {
    const callers = servers.map((server) => apiCaller(server.match[1]!, token));
    let turn = 0;
    // Jobs in the processes cannot be seen from here: the record must stay put for a while.
    const service: Service = { call: (method, path, body) => callers[turn++ % callers.length]!(method, path, body), store, settleMs: 600 };
    const { problems, statuses } = await runAll(service, ['post', 'post', 'put', 'put', 'delete', 'delete', 'sync', 'get'], 10_000);
    console.log(`invariants, two processes, seed ${SEED}: ${JSON.stringify(statuses)}`);
    expect(problems).toEqual([]);
  }, 600_000);

  it('ten /sync calls at once, spread over both processes, copy each blob once', async () => {
    const callers = servers.map((server) => apiCaller(server.match[1]!, token));
    let turn = 0;
    await concurrentSyncs({ call: (method, path, body) => callers[turn++ % callers.length]!(method, path, body), store, settleMs: 0 }, 'inv/moving2');
  });
});
