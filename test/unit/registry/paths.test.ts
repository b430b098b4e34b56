// What lib/registry does with what it builds into URLs and what a registry answers: path builders
// refuse components outside the grammar before any request, header digests are checked before
// use, a HEAD without a digest falls back to a GET, tag listings are checked and bounded, and
// every broken answer is a RegistryProtocolError naming the registry, the operation and the field.
import { describe, expect, it } from 'vitest';
import { InvalidReferenceError } from '../../../lib/reference/reference.ts';
import { blobPath, deleteBlob, getBlob, headBlob } from '../../../lib/registry/blob.ts';
import { RegistryClient } from '../../../lib/registry/client.ts';
import { NotFoundError, RegistryError, RegistryProtocolError } from '../../../lib/registry/errors.ts';
import { deleteManifest, getManifest, headManifest, manifestDigest, manifestPath, MAX_MANIFEST_BYTES, putManifest } from '../../../lib/registry/manifest.ts';
import { OCI_INDEX, OCI_MANIFEST } from '../../../lib/registry/media-types.ts';
import { deleteTag, listTags, tagsPath, type TagListLimits } from '../../../lib/registry/tag.ts';
import { mountBlob, putBlob, startUpload, uploadsPath } from '../../../lib/registry/upload.ts';
import { DigestMismatchError, digestOf } from '../../../lib/util/digest.ts';
import { bytes, fakeTransport, json, status } from '../fakes/transport.ts';

const REGISTRY = 'registry.example';
const D = `sha256:${'a'.repeat(64)}`;
const TRAVERSAL = `sha256:${'0'.repeat(64)}/../../../../../v2/mirror/app/manifests/v1`;

function client(answers: Parameters<typeof fakeTransport>[0]) {
  const transport = fakeTransport(answers);
  const registry = new RegistryClient(REGISTRY, {
    transport,
    isInsecure: () => false,
    retry: { retries: 0, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterMs: 0 },
  });
  return { registry, transport };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

function expectProtocolError(error: Error, field: string | undefined, problem: RegExp, operation?: RegExp): RegistryProtocolError {
  expect(error).toBeInstanceOf(RegistryProtocolError);
  const e = error as RegistryProtocolError;
  expect(e.registry).toBe(REGISTRY);
  expect(e.field).toBe(field);
  expect(e.problem).toMatch(problem);
  expect(e.message.startsWith(`${REGISTRY}: `)).toBe(true);
  if (field) expect(e.message).toContain(`: ${field}: `);
  if (operation) expect(e.operation).toMatch(operation);
  return e;
}

const encode = (value: unknown) => bytes(JSON.stringify(value));
const config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D, size: 2 };
const image = (layers: unknown[]) => encode({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers });
const manifestAnswer = (body: Uint8Array, headers: Record<string, string> = {}) =>
  new Response(body, { status: 200, headers: { 'content-type': OCI_MANIFEST, 'docker-content-digest': digestOf(body), ...headers } });

describe('path builders', () => {
  it('build the spec paths from valid components', () => {
    expect(manifestPath('team/app', 'v1')).toBe('/v2/team/app/manifests/v1');
    expect(manifestPath('library/busybox', D)).toBe(`/v2/library/busybox/manifests/${D}`);
    expect(blobPath('a/b/c', D)).toBe(`/v2/a/b/c/blobs/${D}`);
    expect(tagsPath('team/app')).toBe('/v2/team/app/tags/list');
    expect(uploadsPath('team/app')).toBe('/v2/team/app/blobs/uploads/');
  });

  const badRepositories = ['', '..', 'a/../b', '../../v2/x', 'a/./b', '/a', 'a/', 'a//b', 'a?x=1', 'a#f', 'A/b', 'a%2f..', 'a b', 'x'.repeat(256)];
  const badDigests = [TRAVERSAL, `${D}?x=1`, `${D}#f`, 'sha256:', ':x', `sha256:${'a'.repeat(63)}`, `sha256:${'A'.repeat(64)}`, `${D}/`, `sha256:${'a'.repeat(60)}%2f..`];
  const badTags = ['..', '.', '../x', 'a/b', 'x?y=1', 'x#y', '-x', 'a'.repeat(129), 'x\ny', 'x%2f'];

  it.each(badRepositories)('refuse the repository %j', (repository) => {
    for (const build of [() => manifestPath(repository, 'v1'), () => blobPath(repository, D), () => tagsPath(repository), () => uploadsPath(repository)]) {
      expect(build).toThrow(InvalidReferenceError);
    }
  });

  it.each(badDigests)('refuse the digest %j', (digest) => {
    expect(() => manifestPath('a', digest)).toThrow(InvalidReferenceError);
    expect(() => blobPath('a', digest)).toThrow(InvalidReferenceError);
  });

  it.each(badTags)('refuse the tag %j', (tag) => {
    expect(() => manifestPath('a', tag)).toThrow(InvalidReferenceError);
  });

  // Every operation goes through a builder: a bad component means no request at all.
  it.each<[label: string, call: (c: RegistryClient) => Promise<unknown>]>([
    ['headManifest with a traversal tag', (c) => headManifest(c, 'a', '../../x')],
    ['getManifest with a traversal digest', (c) => getManifest(c, 'a', TRAVERSAL)],
    ['putManifest with a bad repository', (c) => putManifest(c, 'a/../b', 'v1', { bytes: bytes('{}'), mediaType: OCI_MANIFEST, digest: D, json: {} })],
    ['deleteManifest with a tag instead of a digest', (c) => deleteManifest(c, 'a', 'v1')],
    ['deleteManifest with a traversal digest', (c) => deleteManifest(c, 'a', TRAVERSAL)],
    ['headBlob with a traversal digest', (c) => headBlob(c, 'a', TRAVERSAL)],
    ['getBlob with a query in the digest', (c) => getBlob(c, 'a', `${D}?x=1`)],
    ['deleteBlob with a bad repository', (c) => deleteBlob(c, '../x', D)],
    ['deleteTag with a traversal tag', (c) => deleteTag(c, 'a', '../../manifests/v1')],
    ['deleteTag with a digest instead of a tag', (c) => deleteTag(c, 'a', D)],
    ['listTags with a bad repository', (c) => listTags(c, 'a/..')],
    ['startUpload with a bad repository', (c) => startUpload(c, 'a?x')],
    ['mountBlob from a bad repository', (c) => mountBlob(c, 'a', D, '../b')],
    ['mountBlob with a bad digest', (c) => mountBlob(c, 'a', TRAVERSAL, 'b')],
    ['putBlob with a bad digest', (c) => putBlob(c, 'a', { location: `https://${REGISTRY}/v2/a/blobs/uploads/x` }, '../x', 0, new Uint8Array(0))],
  ])('%s: refused before any request', async (_label, call) => {
    const { registry, transport } = client([status(200)]);
    expect(await rejection(call(registry))).toBeInstanceOf(InvalidReferenceError);
    expect(transport.calls).toHaveLength(0);
  });
});

describe('Docker-Content-Digest on HEAD', () => {
  const body = image([]);
  const digest = digestOf(body);

  it('is the digest when well-formed: one HEAD, no GET', async () => {
    const { registry, transport } = client([status(200, { 'docker-content-digest': digest, 'content-type': OCI_MANIFEST, 'content-length': '123' })]);
    expect(await headManifest(registry, 'team/app', 'v1')).toEqual({ digest, mediaType: OCI_MANIFEST, size: 123 });
    expect(transport.calls.map((c) => c.method)).toEqual(['HEAD']);
  });

  it.each([
    ['a traversal', TRAVERSAL, /invalid character "\/"/],
    ['upper-case hex', `sha256:${'A'.repeat(64)}`, /lower-case/],
    ['a short value', 'sha256:abc', /64 hex digits/],
    ['an unverifiable algorithm', `md5:${'0'.repeat(32)}`, /unsupported digest algorithm/],
    ['no algorithm', 'a'.repeat(64), /algorithm:encoded/],
    ['an empty value', '', /empty digest/],
  ])('is refused when malformed (%s), never trusted', async (_label, header, problem) => {
    const { registry, transport } = client([status(200, { 'docker-content-digest': header })]);
    const error = await rejection(headManifest(registry, 'team/app', 'v1'));
    expectProtocolError(error, 'Docker-Content-Digest', problem, /^HEAD manifest team\/app:v1$/);
    expect(transport.calls).toHaveLength(1);
  });

  it('absent: falls back to a GET and hashes the bytes', async () => {
    const { registry, transport } = client([
      status(200, { 'content-type': OCI_MANIFEST }),
      new Response(body, { status: 200, headers: { 'content-type': OCI_MANIFEST } }),
    ]);
    expect(await headManifest(registry, 'team/app', 'v1')).toEqual({ digest, mediaType: OCI_MANIFEST, size: body.byteLength });
    expect(transport.calls.map((c) => [c.method, new URL(c.url).pathname])).toEqual([
      ['HEAD', '/v2/team/app/manifests/v1'],
      ['GET', '/v2/team/app/manifests/v1'],
    ]);
  });

  it('absent, and the manifest gone by the GET: absent', async () => {
    const { registry } = client([status(200), json({ errors: [{ code: 'MANIFEST_UNKNOWN' }] }, 404)]);
    expect(await headManifest(registry, 'team/app', 'v1')).toBeUndefined();
  });

  it('absent on a HEAD by digest: the digest asked for, no GET', async () => {
    const { registry, transport } = client([status(200)]);
    expect((await headManifest(registry, 'team/app', D))?.digest).toBe(D);
    expect(transport.calls).toHaveLength(1);
  });

  it('on a HEAD by digest, another value of the same algorithm is a lie', async () => {
    const { registry } = client([status(200, { 'docker-content-digest': `sha256:${'b'.repeat(64)}` })]);
    expectProtocolError(await rejection(headManifest(registry, 'team/app', D)), 'Docker-Content-Digest', /announces sha256:b+ for sha256:a+/);
  });

  it('on a HEAD by digest, the canonical digest of another algorithm is accepted', async () => {
    const sha512 = `sha512:${'c'.repeat(128)}`;
    const { registry } = client([status(200, { 'docker-content-digest': D })]);
    expect((await headManifest(registry, 'team/app', sha512))?.digest).toBe(sha512);
  });

  it('a 404 is absent; another status is the registry error', async () => {
    expect(await headManifest(client([status(404)]).registry, 'team/app', 'v1')).toBeUndefined();
    const error = await rejection(headManifest(client([status(500)]).registry, 'team/app', 'v1'));
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).status).toBe(500);
  });
});

describe('manifestDigest', () => {
  it('answers the digest from a HEAD', async () => {
    const { registry, transport } = client([status(200, { 'docker-content-digest': D, 'content-type': OCI_INDEX })]);
    expect(await manifestDigest(registry, 'team/app', 'v1')).toEqual({ digest: D, mediaType: OCI_INDEX });
    expect(transport.calls).toHaveLength(1);
  });

  it('for a missing manifest, answers the registry\'s own NotFoundError read from a GET body', async () => {
    const { registry, transport } = client([status(404), json({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }, 404)]);
    const lookup = await manifestDigest(registry, 'team/app', 'gone');
    expect('missing' in lookup).toBe(true);
    const missing = (lookup as { missing: NotFoundError }).missing;
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing.code).toBe('MANIFEST_UNKNOWN');
    expect(missing.message).toBe('registry.example: get manifest team/app:gone failed: 404 MANIFEST_UNKNOWN: manifest unknown');
    expect(transport.calls.map((c) => c.method)).toEqual(['HEAD', 'GET']);
  });

  it('a missing repository carries NAME_UNKNOWN', async () => {
    const { registry } = client([status(404), json({ errors: [{ code: 'NAME_UNKNOWN' }] }, 404)]);
    const lookup = await manifestDigest(registry, 'nobody/here', 'v1');
    expect((lookup as { missing: NotFoundError }).missing.code).toBe('NAME_UNKNOWN');
  });

  it('a HEAD 404 that the GET contradicts: the GET wins (digest of its bytes)', async () => {
    const body = image([]);
    const { registry } = client([status(404), manifestAnswer(body)]);
    expect(await manifestDigest(registry, 'team/app', 'v1')).toEqual({ digest: digestOf(body), mediaType: OCI_MANIFEST });
  });

  it('other failures are thrown, not reported as missing', async () => {
    const { registry } = client([status(404), json({ errors: [{ code: 'DENIED' }] }, 403)]);
    const error = await rejection(manifestDigest(registry, 'team/app', 'v1'));
    expect(error).not.toBeInstanceOf(NotFoundError);
    expect((error as RegistryError).code).toBe('DENIED');
  });
});

describe('getManifest: answers that break the protocol', () => {
  it('returns checked content for a supported type', async () => {
    const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${'b'.repeat(64)}`, size: 5 };
    const body = image([layer]);
    const manifest = await getManifest(client([manifestAnswer(body)]).registry, 'team/app', 'v1');
    expect(manifest.digest).toBe(digestOf(body));
    expect(manifest.content).toEqual({ kind: 'image', config, layers: [layer] });
  });

  it('leaves an unsupported type to the caller (no content, no error)', async () => {
    const body = encode({ schemaVersion: 1, fsLayers: [{ blobSum: '../x' }] });
    const manifest = await getManifest(client([manifestAnswer(body, { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' })]).registry, 'a', 'v1');
    expect(manifest.content).toBeUndefined();
    expect(manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v1+prettyjws');
  });

  it.each<[label: string, layers: unknown[], field: string, problem: RegExp]>([
    ['a traversal digest', [{ mediaType: 'application/x', digest: TRAVERSAL, size: 1 }], 'layers[0].digest', /invalid character "\/"/],
    ['a bad size', [{ mediaType: 'application/x', digest: D, size: -5 }], 'layers[0].size', /non-negative/],
    ['a bad media type', [{ mediaType: 'text/plain\r\nx: y', digest: D, size: 1 }], 'layers[0].mediaType', /RFC 6838/],
  ])('a descriptor with %s: RegistryProtocolError naming the registry, the manifest and the field', async (_label, layers, field, problem) => {
    const error = await rejection(getManifest(client([manifestAnswer(image(layers))]).registry, 'team/app', 'v1'));
    expectProtocolError(error, field, problem, /^get manifest team\/app:v1$/);
  });

  it('a body that is not JSON', async () => {
    const body = bytes('<html>captive portal</html>');
    const error = await rejection(getManifest(client([manifestAnswer(body)]).registry, 'team/app', 'v1'));
    expectProtocolError(error, undefined, /the manifest is not JSON/);
  });

  it('a JSON body that is not an object', async () => {
    const body = bytes('null');
    const error = await rejection(getManifest(client([manifestAnswer(body)]).registry, 'team/app', 'v1'));
    expectProtocolError(error, undefined, /not a JSON object/);
  });

  it('a Content-Length over the cap: refused before reading', async () => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({ pull: (c) => void (pulled++, c.enqueue(new Uint8Array(65536))) }, { highWaterMark: 0 });
    const answer = new Response(endless, { status: 200, headers: { 'content-type': OCI_MANIFEST, 'content-length': String(50 * 1024 * 1024) } });
    const error = await rejection(getManifest(client([answer]).registry, 'team/app', 'v1'));
    expectProtocolError(error, 'Content-Length', /52428800 bytes, more than the 4194304/);
    expect(pulled).toBeLessThanOrEqual(1);
  });

  it('a body over the cap without Content-Length: stops reading just past the cap', async () => {
    let sent = 0;
    const endless = new ReadableStream<Uint8Array>(
      {
        pull(c) {
          sent += 65536;
          c.enqueue(new Uint8Array(65536));
        },
      },
      { highWaterMark: 0 },
    );
    const error = await rejection(getManifest(client([new Response(endless, { status: 200, headers: { 'content-type': OCI_MANIFEST } })]).registry, 'team/app', 'v1'));
    expectProtocolError(error, undefined, /larger than the 4194304 bytes/);
    expect(sent).toBeLessThanOrEqual(MAX_MANIFEST_BYTES + 2 * 65536);
  });

  it('a malformed Docker-Content-Digest: refused before the body is trusted', async () => {
    const body = image([]);
    const error = await rejection(getManifest(client([manifestAnswer(body, { 'docker-content-digest': 'sha256:../../x' })]).registry, 'team/app', 'v1'));
    expectProtocolError(error, 'Docker-Content-Digest', /invalid/);
  });

  it('a well-formed Docker-Content-Digest that does not match the bytes', async () => {
    const error = await rejection(getManifest(client([manifestAnswer(image([]), { 'docker-content-digest': D })]).registry, 'team/app', 'v1'));
    expect(error).toBeInstanceOf(DigestMismatchError);
    expect(error.message).toContain(REGISTRY);
  });

  it('putManifest refuses a malformed digest reported by the destination', async () => {
    const body = image([]);
    const manifest = { bytes: body, mediaType: OCI_MANIFEST, digest: digestOf(body), json: {} };
    const error = await rejection(putManifest(client([status(201, { 'docker-content-digest': 'nonsense' })]).registry, 'team/app', 'v1', manifest));
    expectProtocolError(error, 'Docker-Content-Digest', /algorithm:encoded/, /^put manifest team\/app:v1$/);
  });
});

describe('listTags', () => {
  const limits: TagListLimits = { pages: 5, tags: 10, bytes: 4096 };
  const page = (tags: unknown, link?: string) => json({ name: 'team/app', tags }, 200, link ? { link } : {});

  it('reads pages along same-origin Links (relative and absolute)', async () => {
    const { registry, transport } = client([
      page(['a', 'b'], '</v2/team/app/tags/list?n=2&last=b>; rel="next"'),
      page(['c', 'd'], `<https://${REGISTRY}/v2/team/app/tags/list?n=2&last=d>; rel="next"`),
      page(['e']),
    ]);
    expect(await listTags(registry, 'team/app', undefined, limits)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(transport.calls.map((c) => c.url)).toEqual([
      `https://${REGISTRY}/v2/team/app/tags/list?n=1000`,
      `https://${REGISTRY}/v2/team/app/tags/list?n=2&last=b`,
      `https://${REGISTRY}/v2/team/app/tags/list?n=2&last=d`,
    ]);
  });

  it('tags null, no tags key and 404 are empty', async () => {
    expect(await listTags(client([page(null)]).registry, 'a')).toEqual([]);
    expect(await listTags(client([json({ name: 'a' })]).registry, 'a')).toEqual([]);
    expect(await listTags(client([json({ errors: [{ code: 'NAME_UNKNOWN' }] }, 404)]).registry, 'a')).toEqual([]);
  });

  it.each<[label: string, tags: unknown[], field: string, problem: RegExp]>([
    ['a traversal tag', ['v1', '../../manifests/x'], 'tags[1]', /invalid character "\/"/],
    ['a dot-dot tag', ['..'], 'tags[0]', /must start with a letter, digit or "_"/],
    ['a tag with a query', ['v1?x=1'], 'tags[0]', /invalid character "\?"/],
    ['a digest for a tag', ['v1', 'v2', D], 'tags[2]', /invalid character ":"/],
    ['a tag too long', ['a'.repeat(129)], 'tags[0]', /longer than 128/],
    ['a number', ['v1', 5], 'tags[1]', /not a string/],
    ['null in the list', [null], 'tags[0]', /not a string/],
  ])('refuses the whole listing for %s (deletion must see every tag)', async (_label, tags, field, problem) => {
    const error = await rejection(listTags(client([page(tags)]).registry, 'team/app'));
    expectProtocolError(error, field, problem, /^list tags of team\/app$/);
  });

  it.each<[label: string, answer: () => Response, field: string | undefined, problem: RegExp]>([
    ['a page that is not JSON', () => status(200, { 'content-type': 'text/html' }, '<html>'), undefined, /not JSON/],
    ['a page that is a JSON list', () => json(['a']), undefined, /not a JSON object/],
    ['tags that are not a list', () => page('v1'), 'tags', /not a list/],
    ['a Link to another origin', () => page(['a'], '<https://evil.example/v2/team/app/tags/list?last=a>; rel="next"'), 'Link', /another origin \(evil\.example\)/],
    ['a Link over plain http to the same host', () => page(['a'], `<http://${REGISTRY}/v2/team/app/tags/list?last=a>; rel="next"`), 'Link', /another origin/],
    ['a Link outside /v2/', () => page(['a'], '</admin/delete?all=1>; rel="next"'), 'Link', /not \/v2\/team\/app\/tags\/list/],
    ['a Link to another repository', () => page(['a'], '</v2/other/app/tags/list?last=a>; rel="next"'), 'Link', /not \/v2\/team\/app\/tags\/list/],
    ['a Link that climbs out with ..', () => page(['a'], '</v2/team/app/tags/../../../x/manifests/v1>; rel="next"'), 'Link', /not \/v2\/team\/app\/tags\/list/],
    ['a Link that is not a URL', () => page(['a'], '<http://[bad>; rel="next"'), 'Link', /not a URL/],
  ])('refuses %s', async (_label, answer, field, problem) => {
    const { registry, transport } = client([answer(), page(['never'])]);
    expectProtocolError(await rejection(listTags(registry, 'team/app', undefined, limits)), field, problem);
    expect(transport.calls).toHaveLength(1);
  });

  it('refuses a Link back to a page already read (a loop)', async () => {
    const { registry, transport } = client([page(['a'], '</v2/team/app/tags/list?n=1000>; rel="next"')]);
    expectProtocolError(await rejection(listTags(registry, 'team/app', undefined, limits)), 'Link', /already read/);
    expect(transport.calls).toHaveLength(1);
  });

  it('stops an endless chain of new pages at the page limit', async () => {
    const { registry, transport } = client((_request, index) => page([`t${index}`], `</v2/team/app/tags/list?last=t${index}>; rel="next"`));
    expectProtocolError(await rejection(listTags(registry, 'team/app', undefined, { ...limits, tags: 1000 })), 'Link', /more than 5 pages/);
    expect(transport.calls).toHaveLength(5);
  });

  it('stops at the tag limit', async () => {
    const tags = Array.from({ length: 11 }, (_, i) => `t${i}`);
    expectProtocolError(await rejection(listTags(client([page(tags)]).registry, 'team/app', undefined, limits)), undefined, /more than 10 tags/);
  });

  it('stops at the byte limit, counted over all pages', async () => {
    const big = Array.from({ length: 8 }, (_, i) => `${'x'.repeat(115)}${i}`);
    const { registry } = client((_request, index) => page(big.map((t) => `${t}${index}`), `</v2/team/app/tags/list?last=p${index}>; rel="next"`));
    expectProtocolError(await rejection(listTags(registry, 'team/app', undefined, { ...limits, tags: 1000 })), undefined, /larger than 4096 bytes/);
  });

  it('the default limits bound the listing too', async () => {
    const { registry, transport } = client((_request, index) => page([], `</v2/team/app/tags/list?last=p${index}>; rel="next"`));
    expectProtocolError(await rejection(listTags(registry, 'team/app')), 'Link', /more than 1000 pages/);
    expect(transport.calls).toHaveLength(1000);
  });
});

describe('uploads: the Location a registry hands out', () => {
  it('a 202 without Location is a protocol error naming the operation', async () => {
    const error = await rejection(startUpload(client([status(202)]).registry, 'team/app'));
    expectProtocolError(error, 'Location', /missing on a 202/, /^start upload to team\/app$/);
  });

  it('an unparsable Location is a protocol error, not a TypeError', async () => {
    const error = await rejection(startUpload(client([status(202, { location: 'http://[bad' })]).registry, 'team/app'));
    expectProtocolError(error, 'Location', /not a URL/);
  });

  it('a relative Location is resolved against the request; a garbage chunk minimum is ignored', async () => {
    const session = await startUpload(client([status(202, { location: '/v2/team/app/blobs/uploads/u1?_state=x', 'oci-chunk-min-length': '1e3' })]).registry, 'team/app');
    expect(session).toEqual({ location: `https://${REGISTRY}/v2/team/app/blobs/uploads/u1?_state=x`, chunkMinLength: undefined });
  });

  it('a mount answered 202 without a usable Location: upload normally (no session, no error)', async () => {
    expect(await mountBlob(client([status(202)]).registry, 'team/app', D, 'other/app')).toEqual({ mounted: false });
    expect(await mountBlob(client([status(202, { location: 'http://[bad' })]).registry, 'team/app', D, 'other/app')).toEqual({ mounted: false });
  });
});

describe('error bodies', () => {
  it('keep a registry code that looks like one, and replace anything else', async () => {
    const answer = json({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'a\nb' }, { code: 'X\r\nInjected: 1' }, { code: 7 }] }, 404);
    const lookup = await manifestDigest(client([status(404), answer]).registry, 'a', 'v1');
    const missing = (lookup as { missing: NotFoundError }).missing;
    expect(missing.errors).toEqual([
      { code: 'MANIFEST_UNKNOWN', message: 'a b' },
      { code: 'UNKNOWN', message: undefined },
      { code: 'UNKNOWN', message: undefined },
    ]);
    expect(missing.message).not.toMatch(/[\r\n]/);
  });
});
