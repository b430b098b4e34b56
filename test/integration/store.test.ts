// The DynamoDB record store against a real dynalite (the embedded store of `serve`), in a temp dir:
// conditional writes under concurrency, pagination, leases, persistence and the directory lock.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/node/embedded-dynamodb.ts';
import { dynamoClient, isLoopbackUrl } from '../../lib/store/client.ts';
import { DynamoRecordStore, InvalidCursorError } from '../../lib/store/dynamodb.ts';
import { ensureTable } from '../../lib/store/table.ts';
import { StoreError, type StoredRecord } from '../../lib/store/types.ts';

let dataDir: string;
let dynamo: EmbeddedDynamo;
let client: DynamoDBClient;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'imagesync-store-'));
  dynamo = await startEmbeddedDynamo(dataDir);
  client = dynamoClient({}, { endpoint: dynamo.endpoint });
});

afterAll(async () => {
  client?.destroy();
  await dynamo?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const tables = new WeakMap<DynamoRecordStore, string>();

/** A store on a table of its own, so tests that count records see only theirs. */
async function freshStore(now?: () => number): Promise<DynamoRecordStore> {
  const table = `t-${randomUUID()}`;
  await ensureTable(client, table);
  const store = new DynamoRecordStore({ client, table, now });
  tables.set(store, table);
  return store;
}

function storeTable(store: DynamoRecordStore): string {
  return tables.get(store)!;
}

function record(id: string, source = 'docker.io/library/busybox:1.36') {
  return { id, source, destination: `registry.example/team/${id}:1`, status: 'syncing' as const };
}

async function readAll(page: (cursor?: string) => Promise<{ items: StoredRecord[]; nextCursor?: string }>): Promise<{ sizes: number[]; ids: string[] }> {
  const sizes: number[] = [];
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const result = await page(cursor);
    sizes.push(result.items.length);
    ids.push(...result.items.map((item) => item.id));
    cursor = result.nextCursor;
  } while (cursor !== undefined);
  return { sizes, ids };
}

describe('ensureTable', () => {
  it('creates the table once, then finds it', async () => {
    const table = `t-${randomUUID()}`;
    expect(await ensureTable(client, table)).toBe('created');
    expect(await ensureTable(client, table)).toBe('exists');
  });

  it('lets two racing callers both succeed, one of them creating', async () => {
    const table = `t-${randomUUID()}`;
    const results = await Promise.all([ensureTable(client, table), ensureTable(client, table)]);
    expect(results.filter((r) => r === 'created')).toHaveLength(1);
    expect(results.filter((r) => r === 'exists')).toHaveLength(1);
  });

  it('refuses a table with another key', async () => {
    const table = `t-${randomUUID()}`;
    await client.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await expect(ensureTable(client, table)).rejects.toThrow(StoreError);
  });
});

describe('DynamoRecordStore', () => {
  let store: DynamoRecordStore;
  beforeAll(async () => {
    store = await freshStore();
  });

  it('creates a record once and returns the existing one afterwards', async () => {
    const first = await store.create({ ...record('create-twice'), image: undefined });
    expect(first.created).toBe(true);
    expect(first.record.version).toBe(1);
    expect(first.record.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(first.record.updated_at).toBe(first.record.created_at);
    expect('image' in first.record).toBe(false);
    expect(await store.get('create-twice')).toEqual(first.record);

    const second = await store.create(record('create-twice', 'docker.io/library/alpine:3'));
    expect(second).toEqual({ created: false, record: first.record });
  });

  it('lets exactly one of twenty concurrent creates win', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.create(record('create-race', `docker.io/library/app:${i}`))));
    const winners = results.filter((r) => r.created);
    expect(winners).toHaveLength(1);
    for (const result of results) expect(result.record).toEqual(winners[0]!.record);
    expect(await store.get('create-race')).toEqual(winners[0]!.record);
  });

  it('answers undefined for a record that is not there', async () => {
    expect(await store.get('missing')).toBeUndefined();
  });

  it('updates with the right version and refuses a stale one', async () => {
    const { record: created } = await store.create(record('update'));
    const updated = await store.update('update', 1, { status: 'synced', image: 'registry.example/team/update@sha256:abc', synced_at: '2026-11-27T10:00:00Z' });
    expect(updated).toMatchObject({ id: 'update', status: 'synced', image: 'registry.example/team/update@sha256:abc', version: 2, created_at: created.created_at });
    expect(await store.get('update')).toEqual(updated);

    expect(await store.update('update', 1, { status: 'failed', error: 'stale' })).toBeUndefined();
    expect(await store.get('update')).toEqual(updated);
  });

  it('does not create a record by updating a missing one', async () => {
    expect(await store.update('never-created', 1, { status: 'synced' })).toBeUndefined();
    expect(await store.acquireLease('never-created', 'worker', 60_000)).toBeUndefined();
    expect(await store.get('never-created')).toBeUndefined();
  });

  it('loses no update among twenty concurrent read-modify-write increments', async () => {
    await store.create({ ...record('counter'), error: '0' });
    const increment = async (): Promise<number> => {
      for (let attempts = 1; ; attempts++) {
        const current = (await store.get('counter'))!;
        const written = await store.update('counter', current.version, { error: String(Number(current.error) + 1) });
        if (written) return attempts;
      }
    };
    const attempts = await Promise.all(Array.from({ length: 20 }, increment));
    const final = (await store.get('counter'))!;
    expect(final.error).toBe('20');
    expect(final.version).toBe(21);
    expect(attempts.some((n) => n > 1)).toBe(true); // the writes did contend
  });

  it('removes fields', async () => {
    await store.create({ ...record('remove'), status: 'failed', error: 'boom', checked_at: '2026-11-27T10:00:00Z' });
    const updated = await store.update('remove', 1, { status: 'synced' }, ['error', 'checked_at']);
    expect(updated).toBeDefined();
    expect(updated!.status).toBe('synced');
    expect('error' in updated!).toBe(false);
    expect('checked_at' in updated!).toBe(false);
    expect(await store.get('remove')).toEqual(updated);
    await expect(store.update('remove', 2, { error: 'x' }, ['error'])).rejects.toThrow(TypeError);
  });

  it('deletes with and without a version', async () => {
    await store.create(record('delete-v'));
    expect(await store.delete('delete-v', 7)).toBe(false);
    expect(await store.get('delete-v')).toBeDefined();
    expect(await store.delete('delete-v', 1)).toBe(true);
    expect(await store.get('delete-v')).toBeUndefined();
    expect(await store.delete('delete-v', 1)).toBe(false);

    await store.create(record('delete-any'));
    expect(await store.delete('delete-any')).toBe(true);
    expect(await store.get('delete-any')).toBeUndefined();
    expect(await store.delete('delete-any')).toBe(false);
  });

  it('answers a StoreError naming the operation and the AWS error, without credentials', async () => {
    const missing = new DynamoRecordStore({ client, table: `t-${randomUUID()}` });
    const error = await missing.get('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toMatch(/GetItem.*ResourceNotFoundException/);
    expect((error as Error).message).not.toContain('imagesync-local');
    await expect(missing.update('x', 1, { status: 'synced' })).rejects.toThrow(/UpdateItem \(update\).*ResourceNotFoundException/);
  });
});

describe('listing', () => {
  let store: DynamoRecordStore;
  const ids = Array.from({ length: 25 }, (_, i) => `rec-${String(i).padStart(2, '0')}`);
  beforeAll(async () => {
    store = await freshStore();
    await Promise.all(ids.map((id) => store.create(record(id))));
  });

  it('pages 25 records by 10 as 10, 10, 5, each record once', async () => {
    const { sizes, ids: seen } = await readAll((cursor) => store.list(10, cursor));
    expect(sizes).toEqual([10, 10, 5]);
    expect([...seen].sort()).toEqual(ids);
  });

  it('returns one page without a cursor when everything fits', async () => {
    const page = await store.list(100);
    expect(page.items).toHaveLength(25);
    expect(page.nextCursor).toBeUndefined();
  });

  it('hands out a cursor only when another page has items: 25 by 25 is one page, 25 by 5 is five', async () => {
    const exact = await store.list(25);
    expect(exact.items).toHaveLength(25);
    expect(exact.nextCursor).toBeUndefined();
    const { sizes } = await readAll((cursor) => store.list(5, cursor));
    expect(sizes).toEqual([5, 5, 5, 5, 5]);
  });

  it('refuses a cursor it did not hand out', async () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    for (const bad of ['', 'not a cursor!', b64('not json'), b64('[]'), b64('{"id":5}'), b64('{"id":"a","x":1}'), b64('null')]) {
      await expect(store.list(10, bad), bad).rejects.toThrow(InvalidCursorError);
    }
  });

  it('keeps reading through empty pages that carry a LastEvaluatedKey', async () => {
    // DynamoDB may answer a Scan with no items and a key to go on from. Provoke that on dynalite:
    // one item evaluated per request, and a filter hiding rec-07.
    const filtering = dynamoClient({}, { endpoint: dynamo.endpoint });
    let scans = 0;
    filtering.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ScanCommand') {
          scans++;
          Object.assign(args.input as object, {
            Limit: 1,
            FilterExpression: '#id <> :hidden',
            ExpressionAttributeNames: { '#id': 'id' },
            ExpressionAttributeValues: { ':hidden': 'rec-07' },
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'emptyScanPages' },
    );
    const filtered = new DynamoRecordStore({ client: filtering, table: storeTable(store) });
    const { sizes, ids: seen } = await readAll((cursor) => filtered.list(10, cursor));
    filtering.destroy();
    expect(sizes).toEqual([10, 10, 4]);
    expect([...seen].sort()).toEqual(ids.filter((id) => id !== 'rec-07'));
    expect(scans).toBeGreaterThanOrEqual(25);
  });

  it('covers every record exactly once over four scan segments', async () => {
    const seen: string[] = [];
    for (let segment = 0; segment < 4; segment++) {
      seen.push(...(await readAll((cursor) => store.scanSegment(segment, 4, cursor, 3))).ids);
    }
    expect(seen).toHaveLength(25);
    expect([...seen].sort()).toEqual(ids);
  });
});

describe('large records', () => {
  it('fills pages that DynamoDB cuts short at 1 MB', async () => {
    const counting = dynamoClient({}, { endpoint: dynamo.endpoint });
    let scans = 0;
    counting.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ScanCommand') scans++;
        return next(args);
      },
      { step: 'initialize', name: 'countScans' },
    );
    const table = `t-${randomUUID()}`;
    await ensureTable(counting, table);
    const store = new DynamoRecordStore({ client: counting, table });
    const big = 'x'.repeat(300 * 1024); // four of these fill a 1 MB Scan page
    const ids = Array.from({ length: 12 }, (_, i) => `big-${String(i).padStart(2, '0')}`);
    for (const id of ids) await store.create({ ...record(id), status: 'failed', error: big });

    const { sizes, ids: seen } = await readAll((cursor) => store.list(10, cursor));
    counting.destroy();
    expect(sizes).toEqual([10, 2]);
    expect([...seen].sort()).toEqual(ids);
    expect(scans).toBeGreaterThanOrEqual(4); // 4 + 4 + 2, then 2
  });
});

describe('leases', () => {
  let clock = Date.parse('2026-11-27T10:00:00Z');
  let store: DynamoRecordStore;
  beforeAll(async () => {
    store = await freshStore(() => clock);
  });

  it('goes to one job at a time: nobody else (not even the holder again) while valid, another after expiry', async () => {
    await store.create(record('lease'));
    const first = await store.acquireLease('lease', 'job-a', 60_000);
    expect(first).toMatchObject({ lease_owner: 'job-a', lease_until: clock + 60_000, lease_generation: 0, generation: 0, version: 2 });

    clock += 30_000;
    expect(await store.acquireLease('lease', 'job-b', 60_000)).toBeUndefined();
    expect(await store.acquireLease('lease', 'job-a', 60_000)).toBeUndefined();

    clock += 30_001;
    const taken = await store.acquireLease('lease', 'job-b', 60_000);
    expect(taken).toMatchObject({ lease_owner: 'job-b', lease_until: clock + 60_000, version: 3 });
    // The job that lost it is fenced out of every write under the lease.
    expect(await store.renewLease('lease', 'job-a', 60_000)).toBeUndefined();
    expect(await store.releaseLease('lease', 'job-a', { status: 'synced' })).toBeUndefined();
    expect(await store.dropLease('lease', 'job-a')).toBe(false);
    expect(await store.deleteLeased('lease', 'job-a')).toBe(false);
    expect(await store.get('lease')).toMatchObject({ lease_owner: 'job-b', version: 3 });
  });

  it('is leased for the current generation, and a new generation fences the holder out', async () => {
    await store.create({ ...record('fence'), generation: 4 });
    const held = (await store.acquireLease('fence', 'job-a', 60_000))!;
    expect(held).toMatchObject({ generation: 4, lease_generation: 4 });
    const renewed = await store.renewLease('fence', 'job-a', 60_000, { pending_digest: 'sha256:abc' });
    expect(renewed).toMatchObject({ pending_digest: 'sha256:abc', lease_owner: 'job-a', version: held.version + 1 });

    // A new intent (as PUT with a new source or DELETE write it): the job's lease no longer counts.
    const moved = (await store.update('fence', renewed!.version, { generation: 5, status: 'deleting' }))!;
    expect(await store.renewLease('fence', 'job-a', 60_000, { status: 'synced' })).toBeUndefined();
    expect(await store.releaseLease('fence', 'job-a', { status: 'synced' })).toBeUndefined();
    expect(await store.deleteLeased('fence', 'job-a')).toBe(false);
    expect(await store.get('fence')).toEqual(moved);
    // Giving it up is all the stale job can do; then the next job leases generation 5.
    expect(await store.dropLease('fence', 'job-a')).toBe(true);
    expect(await store.acquireLease('fence', 'job-b', 60_000)).toMatchObject({ lease_owner: 'job-b', lease_generation: 5 });
    expect(await store.deleteLeased('fence', 'job-b')).toBe(true);
    expect(await store.get('fence')).toBeUndefined();
  });

  it('is released only by its holder, with the changes', async () => {
    await store.create({ ...record('release'), error: 'earlier failure' });
    const held = (await store.acquireLease('release', 'job-a', 60_000))!;

    expect(await store.releaseLease('release', 'job-b', { status: 'failed' })).toBeUndefined();
    expect(await store.get('release')).toEqual(held);

    const released = await store.releaseLease('release', 'job-a', { status: 'synced', image: 'registry.example/team/release@sha256:abc' }, ['error']);
    expect(released).toMatchObject({ status: 'synced', image: 'registry.example/team/release@sha256:abc', version: held.version + 1 });
    for (const field of ['lease_owner', 'lease_until', 'lease_generation', 'error']) expect(released).not.toHaveProperty(field);
    expect(await store.releaseLease('release', 'job-a')).toBeUndefined();

    // Released: anyone may take it at once.
    expect(await store.acquireLease('release', 'job-b', 1_000)).toMatchObject({ lease_owner: 'job-b' });
  });

  it('is renewed only by its holder', async () => {
    await store.create(record('renew'));
    await store.acquireLease('renew', 'job-a', 10_000);
    clock += 5_000;
    expect(await store.renewLease('renew', 'job-a', 10_000)).toMatchObject({ lease_until: clock + 10_000 });
    expect(await store.renewLease('renew', 'job-b', 10_000)).toBeUndefined();
    clock += 9_000; // within the renewed lease, past the original one
    expect(await store.acquireLease('renew', 'job-b', 10_000)).toBeUndefined();
    expect(await store.dropLease('renew', 'job-a')).toBe(true);
    expect(await store.renewLease('renew', 'job-a', 10_000)).toBeUndefined();
    expect(await store.get('renew')).not.toHaveProperty('lease_owner');
  });

  it('keeps lease fields out of ordinary writes', async () => {
    await store.create(record('internal'));
    const current = (await store.get('internal'))!;
    await expect(store.update('internal', current.version, { lease_owner: 'sneaky' } as never)).rejects.toThrow(/lease_owner is not a record field/);
  });

  it('reads a cleanup plan of 0.1 (one image) as a list of images', async () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    await DynamoDBDocumentClient.from(client).send(
      new PutCommand({
        TableName: storeTable(store),
        Item: { ...record('legacy'), version: 1, created_at: 'x', updated_at: 'x', cleanup: { repository: 'team/legacy', digest, manifests: [digest], blobs: ['sha256:b'], untag: '1' } },
      }),
    );
    expect((await store.get('legacy'))!.cleanup).toEqual({ repository: 'team/legacy', untag: '1', images: [{ digest, manifests: [digest], blobs: ['sha256:b'] }] });
  });

  it('expires in real time with the default clock', async () => {
    const realtime = await freshStore();
    await realtime.create(record('short'));
    // Long enough that the refusal below cannot race the expiry on a loaded machine.
    expect(await realtime.acquireLease('short', 'job-a', 1_000)).toBeDefined();
    expect(await realtime.acquireLease('short', 'job-b', 1_000)).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await realtime.acquireLease('short', 'job-b', 1_000)).toMatchObject({ lease_owner: 'job-b' });
  });
});

describe('embedded store', () => {
  it('keeps the data across a restart on the same directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imagesync-persist-'));
    try {
      let embedded = await startEmbeddedDynamo(dir);
      let local = dynamoClient({}, { endpoint: embedded.endpoint });
      expect(await ensureTable(local, 'imagesync')).toBe('created');
      const { record: created } = await new DynamoRecordStore({ client: local, table: 'imagesync' }).create(record('kept'));
      local.destroy();
      await embedded.close();

      embedded = await startEmbeddedDynamo(dir);
      local = dynamoClient({}, { endpoint: embedded.endpoint });
      try {
        expect(await ensureTable(local, 'imagesync')).toBe('exists');
        expect(await new DynamoRecordStore({ client: local, table: 'imagesync' }).get('kept')).toEqual(created);
      } finally {
        local.destroy();
        await embedded.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a data directory in use in this process', async () => {
    await expect(startEmbeddedDynamo(dataDir)).rejects.toThrow(`the data directory ${dataDir} is in use by another imagesync process`);
    // The running store is unaffected.
    expect(await ensureTable(client, `t-${randomUUID()}`)).toBe('created');
  });

  it('refuses a data directory locked by another process', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imagesync-locked-'));
    const holder = await holdLock(dir);
    try {
      await expect(startEmbeddedDynamo(dir)).rejects.toThrow(`the data directory ${dir} is in use by another imagesync process`);
    } finally {
      holder.kill();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('dynamoClient', () => {
  it('signs with dummy credentials for a loopback endpoint when the environment has none', async () => {
    const local = dynamoClient({ AWS_DEFAULT_REGION: 'eu-west-1' }, { endpoint: 'http://127.0.0.1:1' });
    expect(await local.config.region()).toBe('eu-west-1');
    expect((await local.config.credentials()).accessKeyId).toBe('imagesync-local');
    local.destroy();

    const viaEnv = dynamoClient({ AWS_ENDPOINT_URL_DYNAMODB: 'http://localhost:8000' });
    expect(await viaEnv.config.region()).toBe('us-east-1');
    expect((await viaEnv.config.credentials()).accessKeyId).toBe('imagesync-local');
    viaEnv.destroy();
  });

  it('treats only loopback endpoints as local', () => {
    for (const url of ['http://127.0.0.1:8000', 'http://127.1.2.3', 'http://localhost:4567', 'http://[::1]:8000']) expect(isLoopbackUrl(url), url).toBe(true);
    for (const url of ['https://dynamodb.eu-west-1.amazonaws.com', 'http://10.0.0.1:8000', 'http://127.0.0.1.example.com', 'not a url']) expect(isLoopbackUrl(url), url).toBe(false);
  });
});

/** Another process holding the LevelDB LOCK of `<dir>/dynamodb`, as a running `serve` would. */
async function holdLock(dir: string): Promise<ChildProcess> {
  const levelPath = createRequire(createRequire(import.meta.url).resolve('dynalite')).resolve('level');
  const script = `const { Level } = require(${JSON.stringify(levelPath)});
    const db = new Level(${JSON.stringify(join(dir, 'dynamodb'))});
    db.open().then(() => console.log('locked'), (e) => { console.error(e); process.exit(1); });
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (data: Buffer) => data.toString().includes('locked') && resolve());
    child.once('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
  });
  return child;
}
