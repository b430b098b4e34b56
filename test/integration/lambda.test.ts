// The built Lambda handler (dist/api.mjs) with Function URL events (payload format 2.0), its
// state in dynalite, and a loopback stand-in for the Lambda Invoke API that runs the
// asynchronous invocation finishing a sync that outlasted its request.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEmbeddedDynamo } from '../../functions/node/embedded-dynamodb.ts';
import { dynamoClient } from '../../lib/store/client.ts';
import { ensureTable } from '../../lib/store/table.ts';
import { pushImage } from '../harness/images.ts';
import { startLambdaStandIn, type LambdaStandIn } from '../harness/lambda-invoke.ts';
import { headManifest } from '../harness/registry-api.ts';
import { startRegistry, type RunningRegistry } from '../harness/registry.ts';

type Handler = (event: unknown, context: unknown) => Promise<any>;

let source: RunningRegistry;
let destination: RunningRegistry;
let dynamo: { endpoint: string; close(): Promise<void> };
let lambda: LambdaStandIn;
let dir: string;
let handler: Handler;
/** Asynchronous invocations wait for this gate, so the test sees the state between request and worker. */
let gate: Promise<void> = Promise.resolve();
const token = 'lambda-test-token';
/** What the handler logged: its JSON lines go to process.stdout, kept here instead of the test output. */
const logged: Record<string, unknown>[] = [];

beforeAll(async () => {
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: never[]) => {
    const text = String(chunk);
    if (!text.startsWith('{"time"')) return write(chunk, ...rest);
    for (const line of text.trim().split('\n')) logged.push(JSON.parse(line) as Record<string, unknown>);
    return true;
  }) as typeof process.stdout.write);
  [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
  dir = await mkdtemp(join(tmpdir(), 'imagesync-lambda-'));
  dynamo = await startEmbeddedDynamo(dir);
  await ensureTable(dynamoClient({}, { endpoint: dynamo.endpoint }), 'imagesync-lambda');
  lambda = await startLambdaStandIn(async (payload) => {
    await gate;
    return handler(payload, context());
  });
  // The function's environment, as serverless.yml sets it (plus loopback endpoints).
  Object.assign(process.env, {
    IMAGESYNC_API_TOKEN: `old-token,${token}`,
    IMAGESYNC_TABLE: 'imagesync-lambda',
    IMAGESYNC_REQUEST_BUDGET: '1ms',
    // Lambda reaches no loopback address unless listed: the test registries are.
    IMAGESYNC_ALLOWED_REGISTRIES: `${source.host},${destination.host}`,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_LAMBDA: lambda.url,
    AWS_LAMBDA_FUNCTION_NAME: 'imagesync-api',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
  handler = (await import(pathToFileURL(join(process.cwd(), 'dist/api.mjs')).href)).handler as Handler;
});
afterAll(async () => {
  vi.restoreAllMocks();
  await lambda?.idle();
  await lambda?.stop();
  await dynamo?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  await Promise.all([source?.stop(), destination?.stop()]);
});

function context() {
  return { awsRequestId: crypto.randomUUID(), getRemainingTimeInMillis: () => 900_000, functionName: 'imagesync-api' };
}

/** A Function URL request (payload format 2.0). */
function urlEvent(method: string, path: string, body?: unknown, headers: Record<string, string> = { authorization: `Bearer ${token}` }) {
  const [rawPath, rawQueryString = ''] = path.split('?');
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers: { host: 'abc.lambda-url.us-east-1.on.aws', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abc',
      domainName: 'abc.lambda-url.us-east-1.on.aws',
      domainPrefix: 'abc',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'curl/8' },
      requestId: crypto.randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

describe('dist/api.mjs handler', () => {
  it('answers a Function URL event', async () => {
    const health = await handler(urlEvent('GET', '/healthz', undefined, {}), context());
    expect(health.statusCode).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ ok: true });
  });

  it('refuses /v1 without a valid token (any of the rotated ones works)', async () => {
    const refused = await handler(urlEvent('GET', '/v1/images', undefined, { authorization: 'Bearer nope' }), context());
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['content-type']).toBe('application/problem+json');
    const old = await handler(urlEvent('GET', '/v1/images', undefined, { authorization: 'Bearer old-token' }), context());
    expect(old.statusCode).toBe(200);
  });

  it('answers 202 when the copy outlasts the budget, and an asynchronous invocation finishes it', async () => {
    const pushed = await pushImage(source, 'lambda/app', 'v1', { format: 'oci', layers: 2, layerSize: 300_000 });
    let open = () => {};
    gate = new Promise((resolve) => (open = resolve));
    const created = await handler(urlEvent('POST', '/v1/images', { source: `${source.host}/lambda/app:v1`, destination: `${destination.host}/lambda/app:v1` }), context());
    expect(created.statusCode).toBe(202);
    const record = JSON.parse(created.body);
    expect(record.status).toBe('syncing');
    // The handler asked Lambda to run the rest: an Event invocation of itself with the id.
    expect(lambda.invocations).toContainEqual({ functionName: 'imagesync-api', invocationType: 'Event', payload: { imagesync: 'sync', id: record.id } });
    open();
    await lambda.idle();
    expect((await headManifest(destination, 'lambda/app', 'v1')).digestHeader).toBe(pushed.digest);
    expect(logged).toContainEqual(expect.objectContaining({ msg: 'job handed off', id: record.id }));
    expect(logged).toContainEqual(expect.objectContaining({ msg: 'async job', id: record.id, outcome: 'synced' }));
    const read = await handler(urlEvent('GET', `/v1/images/${record.id}`), context());
    expect(JSON.parse(read.body)).toMatchObject({ status: 'synced', image: `${destination.host}/lambda/app@${pushed.digest}` });
  });

  it('deletes through the handler: past the budget, an asynchronous invocation finishes the deletion', async () => {
    await pushImage(source, 'lambda/gone', 'v1', { format: 'oci', layers: 1 });
    const created = await handler(urlEvent('POST', '/v1/images', { source: `${source.host}/lambda/gone:v1`, destination: `${destination.host}/lambda/gone:v1` }), context());
    const { id } = JSON.parse(created.body);
    await lambda.idle();
    expect((await headManifest(destination, 'lambda/gone', 'v1')).status).toBe(200);
    let open = () => {};
    gate = new Promise((resolve) => (open = resolve));
    // A budget of 1 ms: the deletion cannot finish in the request, so it is handed off.
    const deleted = await handler(urlEvent('DELETE', `/v1/images/${id}`), context());
    expect(deleted.statusCode).toBe(202);
    expect(JSON.parse(deleted.body)).toMatchObject({ id, status: 'deleting' });
    expect(lambda.invocations).toContainEqual({ functionName: 'imagesync-api', invocationType: 'Event', payload: { imagesync: 'sync', id } });
    open();
    await lambda.idle();
    expect((await handler(urlEvent('GET', `/v1/images/${id}`), context())).statusCode).toBe(404);
    expect((await headManifest(destination, 'lambda/gone', 'v1')).status).toBe(404);
  });
});
