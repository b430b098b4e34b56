// The HTTP API (lib/api/app.ts) against a fake ImageService: routes, statuses, auth, bodies,
// request ids and logs. No store, no registry.
import { describe, expect, it } from 'vitest';
import { createApp, MAX_BODY_BYTES } from '../../../lib/api/app.ts';
import { recordId } from '../../../lib/api/ids.ts';
import type { InputPolicy } from '../../../lib/api/input.ts';
import { ConflictError } from '../../../lib/sync/errors.ts';
import type { LogFields, Logger } from '../../../lib/log.ts';
import { parseReference } from '../../../lib/reference/reference.ts';
import { RegistryError } from '../../../lib/registry/errors.ts';
import type { RecordPage, StoredRecord } from '../../../lib/store/types.ts';
import type { ImageService } from '../../../lib/sync/service.ts';
import { InvalidCursorError } from '../../../lib/store/types.ts';

const TOKEN = 'test-token-1';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const JSON_AUTH = { ...AUTH, 'content-type': 'application/json' };
const DIGEST = `sha256:${'ef'.repeat(32)}`;
const DEST = 'ghcr.io/team/busybox:1.36';
const ID = recordId(parseReference(DEST));
const OTHER_ID = 'f'.repeat(32);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function stored(overrides: Partial<StoredRecord> = {}): StoredRecord {
  return {
    id: ID,
    source: 'busybox:1.36',
    destination: DEST,
    image: `ghcr.io/team/busybox@${DIGEST}`,
    source_digest: DIGEST,
    status: 'synced',
    synced_at: '2026-11-27T10:00:00Z',
    checked_at: '2026-11-27T10:15:00Z',
    version: 3,
    created_at: '2026-11-27T10:00:00Z',
    updated_at: '2026-11-27T10:15:00Z',
    lease_owner: 'worker-secret-name',
    lease_until: 123,
    ...overrides,
  };
}

type Call = [method: string, ...args: unknown[]];
type Answer = { status: 200 | 201 | 202; record: StoredRecord } | undefined;

interface FakeBehaviour {
  create?: () => Answer;
  read?: () => StoredRecord | undefined;
  replace?: () => Answer;
  checkNow?: () => Answer;
  remove?: () => { outcome: 'removed'; left: string[] } | { outcome: 'pending'; record: StoredRecord } | { outcome: 'absent' };
  list?: () => RecordPage;
}

interface LogLine {
  level: string;
  msg: string;
  fields: LogFields;
}

function setup(behaviour: FakeBehaviour = {}, options: { tokens?: string[]; policy?: InputPolicy; now?: () => number } = {}) {
  const calls: Call[] = [];
  const logs: LogLine[] = [];
  const fake = {
    // The request's terms are opaque to the app: here they are just the wait flag, so calls show it.
    begin: (wait: boolean) => wait,
    async create(...args: unknown[]) {
      calls.push(['create', ...args]);
      return (behaviour.create ?? (() => ({ status: 201, record: stored() })))();
    },
    async read(...args: unknown[]) {
      calls.push(['read', ...args]);
      return (behaviour.read ?? (() => stored()))();
    },
    async replace(...args: unknown[]) {
      calls.push(['replace', ...args]);
      return (behaviour.replace ?? (() => ({ status: 200, record: stored() })))();
    },
    async checkNow(...args: unknown[]) {
      calls.push(['checkNow', ...args]);
      return (behaviour.checkNow ?? (() => ({ status: 200, record: stored() })))();
    },
    async remove(...args: unknown[]) {
      calls.push(['remove', ...args]);
      return (behaviour.remove ?? (() => ({ outcome: 'removed', left: [] })))();
    },
    async list(...args: unknown[]) {
      calls.push(['list', ...args]);
      return (behaviour.list ?? (() => ({ items: [stored()] })))();
    },
  };
  const log: Logger = (level, msg, fields = {}) => logs.push({ level, msg, fields });
  const app = createApp({
    service: fake as unknown as ImageService,
    tokens: options.tokens ?? [TOKEN],
    policy: options.policy ?? {},
    log,
    now: options.now,
  });
  const request = async (path: string, init: RequestInit = {}) => app.request(path, init);
  const requestLines = () => logs.filter((l) => l.msg === 'request');
  return { app, calls, logs, request, requestLines };
}

const body = (value: unknown) => JSON.stringify(value);
const SPEC = { source: 'busybox:1.36', destination: DEST };

async function problemOf(response: Response): Promise<Record<string, unknown>> {
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  return (await response.json()) as Record<string, unknown>;
}

describe('GET /healthz', () => {
  it('answers 200 {"ok":true} without auth', async () => {
    const { request, calls } = setup();
    const response = await request('/healthz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
    expect(calls).toEqual([]);
  });

  it('stays open when no token is configured', async () => {
    const { request } = setup({}, { tokens: [] });
    expect((await request('/healthz')).status).toBe(200);
  });
});

describe('auth', () => {
  it('answers 401 problem with www-authenticate: Bearer without a header, and calls nothing', async () => {
    const { request, calls } = setup();
    const response = await request('/v1/images');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    const problem = await problemOf(response);
    expect(problem).toMatchObject({ type: 'urn:imagesync:problem:unauthorized', status: 401, title: 'Unauthorized' });
    expect(calls).toEqual([]);
  });

  it.each([
    ['a wrong token', 'Bearer wrong'],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, -1)}`],
    ['the Basic scheme', `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`],
    ['the token alone', TOKEN],
  ])('answers 401 for %s', async (_, authorization) => {
    const { request, calls } = setup();
    const response = await request(`/v1/images/${ID}`, { headers: { authorization } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(calls).toEqual([]);
  });

  it('refuses writes without a token before reading the body', async () => {
    const { request, calls } = setup();
    const response = await request('/v1/images', { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(SPEC) });
    expect(response.status).toBe(401);
    expect(calls).toEqual([]);
  });

  it('accepts every token of a rotation', async () => {
    const { request } = setup({}, { tokens: ['old', 'new'] });
    expect((await request(`/v1/images/${ID}`, { headers: { authorization: 'Bearer old' } })).status).toBe(200);
    expect((await request(`/v1/images/${ID}`, { headers: { authorization: 'Bearer new' } })).status).toBe(200);
    expect((await request(`/v1/images/${ID}`, { headers: { authorization: 'Bearer older' } })).status).toBe(401);
  });

  it('accepts the scheme in lower case', async () => {
    const { request } = setup();
    expect((await request(`/v1/images/${ID}`, { headers: { authorization: `bearer ${TOKEN}` } })).status).toBe(200);
  });

  it('refuses every /v1 call with no-token-configured when the token list is empty', async () => {
    const { request, calls } = setup({}, { tokens: [] });
    const attempts: Array<[string, RequestInit]> = [
      ['/v1/images', {}],
      ['/v1/images', { headers: { authorization: 'Bearer anything' } }],
      ['/v1/images', { headers: { authorization: 'Bearer ' } }],
      [`/v1/images/${ID}`, { headers: { authorization: 'Bearer x' } }],
      ['/v1/images', { method: 'POST', headers: { authorization: 'Bearer x', 'content-type': 'application/json' }, body: body(SPEC) }],
      [`/v1/images/${ID}`, { method: 'DELETE', headers: { authorization: 'Bearer x' } }],
      ['/v1/no-such-route', {}],
    ];
    for (const [path, init] of attempts) {
      const response = await request(path, init);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      expect((await problemOf(response)).type).toBe('urn:imagesync:problem:no-token-configured');
    }
    expect(calls).toEqual([]);
  });

  it('does not reveal /v1 routes to an anonymous caller (401, not 404)', async () => {
    const { request } = setup();
    expect((await request('/v1/no-such-route')).status).toBe(401);
  });
});

describe('POST /v1/images', () => {
  it.each([201, 200, 202] as const)('passes the service status %i through with the public record', async (status) => {
    const record = stored({ status: status === 202 ? 'syncing' : 'synced' });
    const { request } = setup({ create: () => ({ status, record }) });
    const response = await request('/v1/images', { method: 'POST', headers: JSON_AUTH, body: body(SPEC) });
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const json = (await response.json()) as Record<string, unknown>;
    expect(json.status).toBe(record.status);
    expect(json.id).toBe(ID);
    for (const key of ['version', 'lease_owner', 'lease_until', 'created_at', 'updated_at']) expect(json).not.toHaveProperty(key);
  });

  it('hands the parsed spec to the service, strings as sent, waiting by default', async () => {
    const { request, calls } = setup();
    await request('/v1/images', { method: 'POST', headers: JSON_AUTH, body: body({ source: 'busybox:1.36', destination: 'GHCR.io/team/busybox:1.36' }) });
    expect(calls).toHaveLength(1);
    const [method, spec, wait] = calls[0]!;
    expect(method).toBe('create');
    expect(spec).toMatchObject({
      id: ID,
      source: 'busybox:1.36',
      destination: 'GHCR.io/team/busybox:1.36',
      sourceRef: { registry: 'docker.io', repository: 'library/busybox', tag: '1.36' },
      destinationRef: { registry: 'ghcr.io', repository: 'team/busybox', tag: '1.36' },
    });
    expect(wait).toBe(true);
  });

  it('passes ?wait=false as wait=false', async () => {
    const { request, calls } = setup({ create: () => ({ status: 202, record: stored({ status: 'syncing' }) }) });
    const response = await request('/v1/images?wait=false', { method: 'POST', headers: JSON_AUTH, body: body(SPEC) });
    expect(response.status).toBe(202);
    expect(calls[0]![2]).toBe(false);
  });

  it('waits for any other value of wait', async () => {
    const { request, calls } = setup();
    await request('/v1/images?wait=true', { method: 'POST', headers: JSON_AUTH, body: body(SPEC) });
    expect(calls[0]![2]).toBe(true);
  });

  it('answers 400 invalid-json for a body that is not JSON, without calling the service', async () => {
    const { request, calls } = setup();
    const response = await request('/v1/images', { method: 'POST', headers: JSON_AUTH, body: '{"source": "busybox",' });
    expect(response.status).toBe(400);
    expect(await problemOf(response)).toMatchObject({ type: 'urn:imagesync:problem:invalid-json', detail: 'the body is not valid JSON' });
    expect(calls).toEqual([]);
  });

  it('answers 400 for an empty body', async () => {
    const { request, calls } = setup();
    expect((await request('/v1/images', { method: 'POST', headers: JSON_AUTH, body: '' })).status).toBe(400);
    expect(calls).toEqual([]);
  });

  it('answers 400 invalid-body for unknown keys, without calling the service', async () => {
    const { request, calls } = setup();
    const response = await request('/v1/images', { method: 'POST', headers: JSON_AUTH, body: body({ ...SPEC, tag: 'x' }) });
    expect(response.status).toBe(400);
    expect(await problemOf(response)).toMatchObject({ type: 'urn:imagesync:problem:invalid-body', detail: 'unknown key "tag": only "source" and "destination" are accepted' });
    expect(calls).toEqual([]);
  });

  it('answers 403 for a registry outside the allowlist, without calling the service', async () => {
    const { request, calls } = setup({}, { policy: { allowed: (r) => r === 'ghcr.io' } });
    const response = await request('/v1/images', { method: 'POST', headers: JSON_AUTH, body: body(SPEC) });
    expect(response.status).toBe(403);
    expect((await problemOf(response)).type).toBe('urn:imagesync:problem:registry-not-allowed');
    expect(calls).toEqual([]);
  });

  it.each(['application/json', 'application/json; charset=utf-8', 'application/json;charset=UTF-8', 'APPLICATION/JSON', 'application/merge-patch+json', 'application/vnd.imagesync+json; charset=utf-8'])(
    'accepts content type %j',
    async (type) => {
      const { request, calls } = setup();
      const response = await request('/v1/images', { method: 'POST', headers: { ...AUTH, 'content-type': type }, body: body(SPEC) });
      expect(response.status).toBe(201);
      expect(calls).toHaveLength(1);
    },
  );

  it.each(['text/plain', 'text/json', 'application/jsonp', 'application/json-seq', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'])(
    'answers 415 for content type %j, without calling the service',
    async (type) => {
      const { request, calls } = setup();
      const response = await request('/v1/images', { method: 'POST', headers: { ...AUTH, 'content-type': type }, body: body(SPEC) });
      expect(response.status).toBe(415);
      const problem = await problemOf(response);
      expect(problem.type).toBe('urn:imagesync:problem:unsupported-media-type');
      expect(problem.detail).toBe(`the body must be application/json, not ${type.split(';')[0]}`);
      expect(calls).toEqual([]);
    },
  );

  it('answers 415 without a content type', async () => {
    const { request, calls } = setup();
    // A byte body gets no default content type (a string body would be text/plain).
    const response = await request('/v1/images', { method: 'POST', headers: AUTH, body: new TextEncoder().encode(body(SPEC)) });
    expect(response.status).toBe(415);
    expect((await problemOf(response)).detail).toBe('the body must be application/json');
    expect(calls).toEqual([]);
  });

  it('answers 413 for a body over 64 KiB, without calling the service', async () => {
    const { request, calls, logs } = setup();
    const big = body({ source: 'busybox', destination: 'x'.repeat(MAX_BODY_BYTES) });
    const response = await request('/v1/images', { method: 'POST', headers: JSON_AUTH, body: big });
    expect(response.status).toBe(413);
    expect(await problemOf(response)).toMatchObject({ type: 'urn:imagesync:problem:body-too-large', status: 413 });
    expect(calls).toEqual([]);
    expect(logs.filter((l) => l.msg === 'unexpected error')).toEqual([]);
  });

  it('answers 413 for a streamed body over 64 KiB without a content length', async () => {
    const { request, calls, logs } = setup();
    const bytes = new TextEncoder().encode(body({ source: 'busybox', destination: 'x'.repeat(MAX_BODY_BYTES) }));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 8192) controller.enqueue(bytes.slice(i, i + 8192));
        controller.close();
      },
    });
    const response = await request('/v1/images', { method: 'POST', headers: JSON_AUTH, body: stream, duplex: 'half' } as RequestInit);
    expect(response.status).toBe(413);
    expect(calls).toEqual([]);
    expect(logs.filter((l) => l.msg === 'unexpected error')).toEqual([]);
  });

  it('reads a body of exactly 64 KiB (the limit is inclusive)', async () => {
    const { request } = setup();
    const frame = body({ source: 'busybox', destination: 'ghcr.io/a/b:1', pad: '' });
    const exact = body({ source: 'busybox', destination: 'ghcr.io/a/b:1', pad: 'p'.repeat(MAX_BODY_BYTES - frame.length) });
    expect(new TextEncoder().encode(exact).length).toBe(MAX_BODY_BYTES);
    const response = await request('/v1/images', { method: 'POST', headers: JSON_AUTH, body: exact });
    // Read and parsed: refused for its unknown key, not for its size.
    expect(response.status).toBe(400);
    expect((await problemOf(response)).type).toBe('urn:imagesync:problem:invalid-body');
  });

  it('answers a conflict raised by the service as its problem', async () => {
    const { request } = setup({
      create: () => {
        throw new ConflictError('destination-taken', 'destination is already mirrored from alpine');
      },
    });
    const response = await request('/v1/images', { method: 'POST', headers: JSON_AUTH, body: body(SPEC) });
    expect(response.status).toBe(409);
    expect(await problemOf(response)).toMatchObject({ type: 'urn:imagesync:problem:destination-taken', detail: 'destination is already mirrored from alpine' });
  });

  it('answers a registry failure 502 naming the registry, and logs it as a warning', async () => {
    const { request, logs } = setup({
      create: () => {
        throw new RegistryError('ghcr.io', 'PUT manifest', 503, [{ code: 'UNAVAILABLE' }]);
      },
    });
    const response = await request('/v1/images', { method: 'POST', headers: JSON_AUTH, body: body(SPEC) });
    expect(response.status).toBe(502);
    const problem = await problemOf(response);
    expect(problem.type).toBe('urn:imagesync:problem:registry-failed');
    expect(problem.detail).toBe('ghcr.io: PUT manifest failed: 503 UNAVAILABLE');
    expect(logs.find((l) => l.msg === 'request failed')).toMatchObject({ level: 'warn', fields: { status: 502 } });
    expect(logs.filter((l) => l.msg === 'unexpected error')).toEqual([]);
  });
});

describe('GET /v1/images/{id}', () => {
  it('answers 200 with the public record', async () => {
    const { request, calls } = setup();
    const response = await request(`/v1/images/${ID}`, { headers: AUTH });
    expect(response.status).toBe(200);
    expect(await response.json()).toStrictEqual({
      id: ID,
      source: 'busybox:1.36',
      destination: DEST,
      image: `ghcr.io/team/busybox@${DIGEST}`,
      source_digest: DIGEST,
      status: 'synced',
      synced_at: '2026-11-27T10:00:00Z',
      checked_at: '2026-11-27T10:15:00Z',
    });
    expect(calls).toEqual([['read', ID, true]]);
  });

  it('answers 404 problem when the service has no record', async () => {
    const { request } = setup({ read: () => undefined });
    const response = await request(`/v1/images/${OTHER_ID}`, { headers: AUTH });
    expect(response.status).toBe(404);
    expect(await problemOf(response)).toMatchObject({ type: 'urn:imagesync:problem:not-found', status: 404, title: 'Not found' });
  });

  it.each(['not-an-id', 'A'.repeat(32), 'a'.repeat(31), 'a'.repeat(33), `${'a'.repeat(31)}g`, '%2e%2e'])(
    'answers 404 for %j without calling the service',
    async (id) => {
      const { request, calls } = setup();
      const response = await request(`/v1/images/${id}`, { headers: AUTH });
      expect(response.status).toBe(404);
      expect((await problemOf(response)).type).toBe('urn:imagesync:problem:not-found');
      expect(calls).toEqual([]);
    },
  );
});

describe('PUT /v1/images/{id}', () => {
  it('hands id, spec and wait to the service', async () => {
    const { request, calls } = setup();
    const response = await request(`/v1/images/${ID}?wait=false`, { method: 'PUT', headers: JSON_AUTH, body: body({ source: 'busybox:1.37', destination: DEST }) });
    expect(response.status).toBe(200);
    expect(calls).toHaveLength(1);
    expect(calls[0]![0]).toBe('replace');
    expect(calls[0]![1]).toBe(ID);
    expect(calls[0]![2]).toMatchObject({ id: ID, source: 'busybox:1.37', destination: DEST });
    expect(calls[0]![3]).toBe(false);
  });

  it('never answers 201 (a replace creates nothing)', async () => {
    const { request } = setup({ replace: () => ({ status: 201, record: stored() }) });
    const response = await request(`/v1/images/${ID}`, { method: 'PUT', headers: JSON_AUTH, body: body(SPEC) });
    expect(response.status).toBe(200);
  });

  it('passes 202 through', async () => {
    const { request } = setup({ replace: () => ({ status: 202, record: stored({ status: 'syncing' }) }) });
    const response = await request(`/v1/images/${ID}`, { method: 'PUT', headers: JSON_AUTH, body: body(SPEC) });
    expect(response.status).toBe(202);
    expect(((await response.json()) as { status: string }).status).toBe('syncing');
  });

  it('answers 404 when the service has no record', async () => {
    const { request } = setup({ replace: () => undefined });
    expect((await request(`/v1/images/${ID}`, { method: 'PUT', headers: JSON_AUTH, body: body(SPEC) })).status).toBe(404);
  });

  it('answers 404 for an id that is not a record id, without calling the service', async () => {
    const { request, calls } = setup();
    expect((await request('/v1/images/nope', { method: 'PUT', headers: JSON_AUTH, body: body(SPEC) })).status).toBe(404);
    expect(calls).toEqual([]);
  });

  it('validates the body like POST (400, nothing called)', async () => {
    const { request, calls } = setup();
    expect((await request(`/v1/images/${ID}`, { method: 'PUT', headers: JSON_AUTH, body: body({ source: 'busybox' }) })).status).toBe(400);
    expect((await request(`/v1/images/${ID}`, { method: 'PUT', headers: { ...AUTH, 'content-type': 'text/plain' }, body: body(SPEC) })).status).toBe(415);
    expect(calls).toEqual([]);
  });
});

describe('POST /v1/images/{id}/sync', () => {
  it('hands id and wait to the service and answers the record', async () => {
    const { request, calls } = setup();
    const response = await request(`/v1/images/${ID}/sync`, { method: 'POST', headers: AUTH });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { id: string }).id).toBe(ID);
    expect(calls).toEqual([['checkNow', ID, true]]);
  });

  it('passes ?wait=false as wait=false', async () => {
    const { request, calls } = setup();
    await request(`/v1/images/${ID}/sync?wait=false`, { method: 'POST', headers: AUTH });
    expect(calls).toEqual([['checkNow', ID, false]]);
  });

  it('never answers 201', async () => {
    const { request } = setup({ checkNow: () => ({ status: 201, record: stored() }) });
    expect((await request(`/v1/images/${ID}/sync`, { method: 'POST', headers: AUTH })).status).toBe(200);
  });

  it('passes 202 through', async () => {
    const { request } = setup({ checkNow: () => ({ status: 202, record: stored({ status: 'syncing' }) }) });
    expect((await request(`/v1/images/${ID}/sync`, { method: 'POST', headers: AUTH })).status).toBe(202);
  });

  it('answers 404 when the service has no record', async () => {
    const { request } = setup({ checkNow: () => undefined });
    const response = await request(`/v1/images/${ID}/sync`, { method: 'POST', headers: AUTH });
    expect(response.status).toBe(404);
    expect((await problemOf(response)).type).toBe('urn:imagesync:problem:not-found');
  });

  it('answers 404 for an id that is not a record id, without calling the service', async () => {
    const { request, calls } = setup();
    expect((await request('/v1/images/xyz/sync', { method: 'POST', headers: AUTH })).status).toBe(404);
    expect(calls).toEqual([]);
  });
});

describe('DELETE /v1/images/{id}', () => {
  it('answers 204 with an empty body and no left header when everything went', async () => {
    const { request, calls } = setup();
    const response = await request(`/v1/images/${ID}`, { method: 'DELETE', headers: AUTH });
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
    expect(response.headers.has('x-imagesync-left')).toBe(false);
    expect(calls).toEqual([['remove', ID, true]]);
  });

  it('says what was left in x-imagesync-left', async () => {
    const left = [`docker.io/me/busybox@${DIGEST} (docker.io: DELETE manifest failed: 405 UNSUPPORTED)`, 'second thing'];
    const { request } = setup({ remove: () => ({ outcome: 'removed', left }) });
    const response = await request(`/v1/images/${ID}`, { method: 'DELETE', headers: AUTH });
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
    expect(response.headers.get('x-imagesync-left')).toBe(left.join('; '));
  });

  it('bounds the x-imagesync-left header', async () => {
    const { request } = setup({ remove: () => ({ outcome: 'removed', left: ['x'.repeat(5000)] }) });
    const response = await request(`/v1/images/${ID}`, { method: 'DELETE', headers: AUTH });
    expect(response.status).toBe(204);
    expect(response.headers.get('x-imagesync-left')!.length).toBe(2000);
  });

  // Regression (found by these tests, fixed): the x-imagesync-left header is built from registry error messages (the OCI error
  // `message` a registry sends back, kept by RegistryError). Header values must be
  // Latin-1 (ByteString); a character above U+00FF (e.g. typographic quotes “…” or an
  // em dash in a registry's message) makes Headers.set throw a TypeError after the
  // service has already deleted the record. Input: remove() returns
  // left = ['… (ghcr.io: DELETE manifest failed: 405 UNSUPPORTED: “deletion disabled”)'].
  // Expected: 204 (the record is gone), the header escaped or stripped of such characters.
  // Actual: 500 internal error; a retry then answers 404.
  it('answers 204 when what was left contains characters outside Latin-1', async () => {
    const left = [`ghcr.io/me/busybox@${DIGEST} (ghcr.io: DELETE manifest failed: 405 UNSUPPORTED: “deletion disabled”)`];
    const { request } = setup({ remove: () => ({ outcome: 'removed', left }) });
    const response = await request(`/v1/images/${ID}`, { method: 'DELETE', headers: AUTH });
    expect(response.status).toBe(204);
  });

  it('answers 202 with the record while the deletion goes on in the background', async () => {
    const { request } = setup({ remove: () => ({ outcome: 'pending', record: stored({ status: 'deleting' }) }) });
    const response = await request(`/v1/images/${ID}`, { method: 'DELETE', headers: AUTH });
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ id: ID, status: 'deleting' });
  });

  it('answers 404 when there was no such record', async () => {
    const { request } = setup({ remove: () => ({ outcome: 'absent' }) });
    const response = await request(`/v1/images/${ID}`, { method: 'DELETE', headers: AUTH });
    expect(response.status).toBe(404);
    expect((await problemOf(response)).type).toBe('urn:imagesync:problem:not-found');
  });

  it('answers 404 for an id that is not a record id, without calling the service', async () => {
    const { request, calls } = setup();
    expect((await request('/v1/images/..', { method: 'DELETE', headers: AUTH })).status).toBe(404);
    expect((await request('/v1/images/ABCDEF', { method: 'DELETE', headers: AUTH })).status).toBe(404);
    expect(calls).toEqual([]);
  });
});

describe('GET /v1/images', () => {
  it('lists 100 by default, public records only, next_cursor null on the last page', async () => {
    const { request, calls } = setup({ list: () => ({ items: [stored(), stored({ id: OTHER_ID, status: 'failed', error: 'boom' })] }) });
    const response = await request('/v1/images', { headers: AUTH });
    expect(response.status).toBe(200);
    const json = (await response.json()) as { items: Array<Record<string, unknown>>; next_cursor: unknown };
    expect(Object.keys(json).sort()).toEqual(['items', 'next_cursor']);
    expect(json.next_cursor).toBeNull();
    expect(json.items).toHaveLength(2);
    expect(json.items[1]).toMatchObject({ id: OTHER_ID, status: 'failed', error: 'boom' });
    for (const item of json.items) expect(item).not.toHaveProperty('version');
    expect(calls).toEqual([['list', 100, undefined]]);
  });

  it('passes limit and cursor, and answers the next cursor', async () => {
    const { request, calls } = setup({ list: () => ({ items: [], nextCursor: 'page-3' }) });
    const response = await request('/v1/images?limit=5&cursor=page-2', { headers: AUTH });
    expect(await response.json()).toEqual({ items: [], next_cursor: 'page-3' });
    expect(calls).toEqual([['list', 5, 'page-2']]);
  });

  it('treats an empty cursor as none', async () => {
    const { request, calls } = setup();
    await request('/v1/images?cursor=', { headers: AUTH });
    expect(calls).toEqual([['list', 100, undefined]]);
  });

  it('accepts limits 1 and 1000', async () => {
    const { request, calls } = setup();
    expect((await request('/v1/images?limit=1', { headers: AUTH })).status).toBe(200);
    expect((await request('/v1/images?limit=1000', { headers: AUTH })).status).toBe(200);
    expect(calls).toEqual([
      ['list', 1, undefined],
      ['list', 1000, undefined],
    ]);
  });

  it.each(['0', '1001', '-1', '1.5', 'abc', '', '10abc'])('answers 400 invalid-limit for limit=%j without calling the service', async (limit) => {
    const { request, calls } = setup();
    const response = await request(`/v1/images?limit=${limit}`, { headers: AUTH });
    expect(response.status).toBe(400);
    expect(await problemOf(response)).toMatchObject({ type: 'urn:imagesync:problem:invalid-limit', detail: 'limit must be an integer from 1 to 1000' });
    expect(calls).toEqual([]);
  });

  it('answers 400 invalid-cursor for a cursor the store refuses', async () => {
    const { request } = setup({
      list: () => {
        throw new InvalidCursorError('not a cursor of this store');
      },
    });
    const response = await request('/v1/images?cursor=forged', { headers: AUTH });
    expect(response.status).toBe(400);
    expect((await problemOf(response)).type).toBe('urn:imagesync:problem:invalid-cursor');
  });
});

describe('unexpected errors', () => {
  it('answers 500 without the exception message, with the request id, and logs it', async () => {
    const secret = 'AKIAEXAMPLE password=hunter2';
    const { request, logs } = setup({
      read: () => {
        throw new Error(`connect failed for https://user:${secret}@store`);
      },
    });
    const response = await request(`/v1/images/${ID}`, { headers: { ...AUTH, 'x-request-id': 'req-500' } });
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('AKIAEXAMPLE');
    expect(text).not.toContain('connect failed');
    const problem = JSON.parse(text) as Record<string, unknown>;
    expect(problem).toMatchObject({ type: 'urn:imagesync:problem:internal', status: 500, request_id: 'req-500' });
    expect(problem.detail).toContain('req-500');
    const line = logs.find((l) => l.msg === 'unexpected error');
    expect(line).toBeDefined();
    expect(line!.level).toBe('error');
    expect(line!.fields.request_id).toBe('req-500');
    expect(String(line!.fields.error)).toContain('connect failed');
  });

  // Regression (found by these tests, fixed): Hono's compose only routes `instanceof Error` to app.onError; anything else thrown
  // (a string, a plain object: some SDKs and libraries do) escapes createApp altogether.
  // Input: service.remove throws the string 'a string'. Expected: 500
  // application/problem+json with the request id, an `unexpected error` line and the
  // `request` line. Actual: app.request rejects with 'a string' (no problem body, no log;
  // the Node/Lambda adapters answer their own plain 500).
  it('answers 500 for a thrown non-Error too', async () => {
    const { request, logs } = setup({
      remove: () => {
        throw 'a string';
      },
    });
    const response = await request(`/v1/images/${ID}`, { method: 'DELETE', headers: AUTH });
    expect(response.status).toBe(500);
    expect(logs.some((l) => l.msg === 'unexpected error')).toBe(true);
  });
});

describe('unknown routes', () => {
  it('answers 404 problem naming the method and path', async () => {
    const { request } = setup();
    const response = await request('/v1/nothing-here', { headers: AUTH });
    expect(response.status).toBe(404);
    expect(await problemOf(response)).toMatchObject({ type: 'urn:imagesync:problem:not-found', detail: 'no route for GET /v1/nothing-here' });
  });

  it('answers 404 outside /v1 too', async () => {
    const { request } = setup();
    expect((await request('/')).status).toBe(404);
  });
});

describe('request ids and the request log', () => {
  it('logs exactly one request line per request, with id, method, path, status and ms', async () => {
    const { request, requestLines, logs } = setup({
      read: () => {
        throw new Error('boom');
      },
    });
    const cases: Array<[string, RequestInit, number]> = [
      ['/healthz', {}, 200],
      ['/v1/images', {}, 401],
      [`/v1/images/${ID}`, { headers: AUTH }, 500],
      ['/v1/images/bad', { headers: AUTH }, 404],
      ['/v1/images', { method: 'POST', headers: JSON_AUTH, body: '{' }, 400],
      ['/v1/images', { method: 'POST', headers: JSON_AUTH, body: body(SPEC) }, 201],
      [`/v1/images/${ID}`, { method: 'DELETE', headers: AUTH }, 204],
      ['/v1/images', { method: 'POST', headers: JSON_AUTH, body: body({ source: 'busybox', destination: 'x'.repeat(MAX_BODY_BYTES) }) }, 413],
    ];
    for (const [path, init, status] of cases) {
      logs.length = 0;
      const response = await request(path, init);
      expect(response.status).toBe(status);
      const lines = requestLines();
      expect(lines).toHaveLength(1);
      const { fields, level } = lines[0]!;
      expect(level).toBe('info');
      expect(fields).toEqual({
        request_id: response.headers.get('x-request-id'),
        method: init.method ?? 'GET',
        path: path.split('?')[0],
        status,
        ms: expect.any(Number),
      });
    }
  });

  it('measures ms with the injected clock, rounded', async () => {
    const ticks = [1000, 1042.4];
    const { request, requestLines } = setup({}, { now: () => ticks.shift() ?? 9999 });
    await request('/healthz');
    expect(requestLines()[0]!.fields.ms).toBe(42);
  });

  it('gives every request a fresh UUID when none is sent', async () => {
    const { request } = setup();
    const a = (await request('/healthz')).headers.get('x-request-id');
    const b = (await request('/healthz')).headers.get('x-request-id');
    expect(a).toMatch(UUID);
    expect(b).toMatch(UUID);
    expect(a).not.toBe(b);
  });

  it('echoes a valid incoming x-request-id', async () => {
    const { request, requestLines } = setup();
    const id = 'abc-123.DEF:ghi_jkl';
    const ok = await request(`/v1/images/${ID}`, { headers: { ...AUTH, 'x-request-id': id } });
    expect(ok.headers.get('x-request-id')).toBe(id);
    const refused = await request('/v1/images', { headers: { 'x-request-id': id } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('x-request-id')).toBe(id);
    expect((await refused.json()) as Record<string, unknown>).toMatchObject({ request_id: id });
    expect(requestLines().map((l) => l.fields.request_id)).toEqual([id, id]);
  });

  it('keeps an id of exactly 128 characters', async () => {
    const { request } = setup();
    const id = 'a'.repeat(128);
    expect((await request('/healthz', { headers: { 'x-request-id': id } })).headers.get('x-request-id')).toBe(id);
  });

  it.each([
    ['too long', 'a'.repeat(129)],
    ['with spaces', 'abc def'],
    ['with a slash', 'a/b'],
    ['with quotes', '"abc"'],
    ['with a log-injection attempt', 'abc\\n{"level":"error"}'],
  ])('replaces an incoming id %s by a UUID', async (_, incoming) => {
    const { request, requestLines } = setup();
    const response = await request('/healthz', { headers: { 'x-request-id': incoming } });
    const echoed = response.headers.get('x-request-id');
    expect(echoed).toMatch(UUID);
    expect(requestLines()[0]!.fields.request_id).toBe(echoed);
  });
});
