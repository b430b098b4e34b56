// Bad input gets the documented 4xx as application/problem+json with a reason, and nothing is
// written: no record, no copy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushImage } from '../harness/images.ts';
import { listRepositories } from '../harness/registry-api.ts';
import { startRegistry, type RunningRegistry } from '../harness/registry.ts';
import { startApi, type ApiAnswer, type RunningApi } from './api-support.ts';

let source: RunningRegistry;
let destination: RunningRegistry;
let api: RunningApi;
let good: { source: string; destination: string };

beforeAll(async () => {
  [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
  // Only the two test registries are allowed.
  api = await startApi({ env: { IMAGESYNC_ALLOWED_REGISTRIES: `${source.host},${destination.host}` } });
  await pushImage(source, 'input/app', 'v1', { format: 'oci', layers: 1 });
  good = { source: `${source.host}/input/app:v1`, destination: `${destination.host}/input/app:v1` };
});
afterAll(async () => {
  await api?.stop();
  await Promise.all([source?.stop(), destination?.stop()]);
});

async function expectNothingWritten(): Promise<void> {
  expect((await api.call('GET', '/v1/images')).json.items).toEqual([]);
  expect(await listRepositories(destination)).toEqual([]);
}

function expectProblem(answer: ApiAnswer, status: number, type: string, detail: string | RegExp): void {
  expect(answer.status).toBe(status);
  expect(answer.headers.get('content-type')).toBe('application/problem+json');
  expect(answer.json).toMatchObject({ type: `urn:imagesync:problem:${type}`, status, title: expect.any(String) });
  if (typeof detail === 'string') expect(answer.json.detail).toBe(detail);
  else expect(answer.json.detail).toMatch(detail);
  expect(answer.json.request_id).toBe(answer.headers.get('x-request-id'));
}

describe('bad input on POST /v1/images', () => {
  it('invalid JSON: 400', async () => {
    expectProblem(await api.call('POST', '/v1/images', '{"source": "a",'), 400, 'invalid-json', 'the body is not valid JSON');
    await expectNothingWritten();
  });

  it.each([
    ['an array', '[]', 'the body must be a JSON object with "source" and "destination"'],
    ['a string', '"x"', 'the body must be a JSON object with "source" and "destination"'],
    ['no destination', () => JSON.stringify({ source: good.source }), 'destination is required'],
    ['a number source', () => JSON.stringify({ source: 7, destination: good.destination }), 'source must be a string'],
    ['an empty source', () => JSON.stringify({ source: '', destination: good.destination }), 'source must not be empty'],
    ['an unknown key', () => JSON.stringify({ ...good, platform: 'linux/amd64' }), 'unknown key "platform": only "source" and "destination" are accepted'],
  ])('%s: 400 with the reason', async (_what, body, detail) => {
    expectProblem(await api.call('POST', '/v1/images', typeof body === 'function' ? body() : body), 400, 'invalid-body', detail);
    await expectNothingWritten();
  });

  it.each([
    ['source', 'Upper/Case:v1', 'invalid-source', 'source: invalid reference "Upper/Case:v1": repository name must be lowercase'],
    ['source', 'a b', 'invalid-source', /^source: invalid reference "a b": /],
    ['destination', 'host:5000/a:b:c', 'invalid-destination', /^destination: invalid reference "host:5000\/a:b:c": invalid tag "b:c"/],
  ])('a malformed %s reference: 400 naming what is wrong', async (field, value, type, detail) => {
    expectProblem(await api.call('POST', '/v1/images', { ...good, [field]: value }), 400, type, detail);
    await expectNothingWritten();
  });

  it('a destination pinned by digest: 400', async () => {
    const answer = await api.call('POST', '/v1/images', { ...good, destination: `${destination.host}/input/app@sha256:${'a'.repeat(64)}` });
    expectProblem(answer, 400, 'invalid-destination', /must be a tag, not a digest/);
    await expectNothingWritten();
  });

  it('a body over 64 KiB: 413', async () => {
    const answer = await api.call('POST', '/v1/images', JSON.stringify({ ...good, padding: 'x'.repeat(70 * 1024) }));
    expectProblem(answer, 413, 'body-too-large', 'the body is larger than 65536 bytes');
    await expectNothingWritten();
  });

  it.each([['text/plain'], ['application/x-www-form-urlencoded'], ['']])('content type %j: 415', async (type) => {
    const answer = await api.call('POST', '/v1/images', JSON.stringify(good), type ? { 'content-type': type } : { 'content-type': '' });
    expectProblem(answer, 415, 'unsupported-media-type', /^the body must be application\/json/);
    await expectNothingWritten();
  });

  it('application/json with a charset is fine', async () => {
    const answer = await api.call('POST', '/v1/images?wait=false', JSON.stringify({ ...good, source: `${source.host}/input/app:missing` }), { 'content-type': 'application/json; charset=utf-8' });
    // Got past the media type check: the missing source is what it refuses.
    expectProblem(answer, 422, 'source-not-found', /not found/);
    await expectNothingWritten();
  });

  it.each([
    ['no Authorization header', {}, 'unauthorized'],
    ['a wrong token', { authorization: 'Bearer wrong' }, 'unauthorized'],
    ['Basic instead of Bearer', { authorization: 'Basic dTpw' }, 'unauthorized'],
  ])('%s: 401 with a Bearer challenge', async (_what, headers, type) => {
    const response = await fetch(`${api.url}/v1/images`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(good) });
    const answer: ApiAnswer = { status: response.status, headers: response.headers, text: '', json: await response.json() };
    expectProblem(answer, 401, type, 'a valid "Authorization: Bearer <token>" header is required');
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    await expectNothingWritten();
  });

  it.each([
    ['source', 'ghcr.io/owner/app:v1', 'source registry ghcr.io is not in IMAGESYNC_ALLOWED_REGISTRIES'],
    ['destination', '169.254.169.254/latest/meta-data:x', 'destination registry 169.254.169.254 is not in IMAGESYNC_ALLOWED_REGISTRIES'],
    ['source', 'busybox', 'source registry docker.io is not in IMAGESYNC_ALLOWED_REGISTRIES'],
  ])('a %s registry outside the allowlist: 403', async (field, value, detail) => {
    expectProblem(await api.call('POST', '/v1/images', { ...good, [field]: value }), 403, 'registry-not-allowed', detail);
    await expectNothingWritten();
  });
});

describe('bad input elsewhere', () => {
  it('PUT with an unknown key: 400 and the record unchanged', async () => {
    const created = await api.call('POST', '/v1/images', good);
    expect(created.status).toBe(201);
    try {
      const answer = await api.call('PUT', `/v1/images/${created.json.id}`, { ...good, extra: 1 });
      expectProblem(answer, 400, 'invalid-body', 'unknown key "extra": only "source" and "destination" are accepted');
      expect((await api.call('GET', `/v1/images/${created.json.id}`)).json).toEqual(created.json);
    } finally {
      await api.call('DELETE', `/v1/images/${created.json.id}`);
    }
  });

  it('an unknown route: 404 problem', async () => {
    expectProblem(await api.call('GET', '/v2/whatever'), 404, 'not-found', 'no route for GET /v2/whatever');
  });

  it('the token never comes back in an answer or a log line', async () => {
    await api.call('GET', '/v1/images');
    await api.call('GET', `/v1/images/${'0'.repeat(32)}`);
    expect(JSON.stringify(api.logs)).not.toContain(api.token);
  });
});
