// RegistryClient's URL policy and credential scope, and chunked uploads, against fake transports.
import { describe, expect, it } from 'vitest';
import { basicAuthorization, type Credential } from '../../../lib/auth/credentials.ts';
import { RegistryClient } from '../../../lib/registry/client.ts';
import { AuthenticationError } from '../../../lib/registry/errors.ts';
import { distribution, type RegistryProfile } from '../../../lib/registry/profiles/profile.ts';
import { putBlobChunked } from '../../../lib/registry/upload.ts';
import { RefusedUrlError } from '../../../lib/transport/errors.ts';
import { digestOf } from '../../../lib/util/digest.ts';
import { byOrigin, chunkedStream, concat, deferred, fakeTransport, flushMicrotasks, json, pattern, readChunks, status } from '../fakes/transport.ts';

const basic = { kind: 'basic' as const, username: 'u', password: 'p' };

interface ClientOptions {
  insecure?: string[];
  credential?: Credential;
  checkUrl?: (url: URL) => void;
  profile?: RegistryProfile;
}

function client(answers: Parameters<typeof fakeTransport>[0], options: ClientOptions = {}) {
  const transport = fakeTransport(answers);
  const credential = 'credential' in options ? options.credential : basic;
  const registry = new RegistryClient('registry.example', {
    transport,
    credentials: () => credential,
    checkUrl: options.checkUrl,
    isInsecure: (host) => (options.insecure ?? []).includes(host),
    retry: { retries: 0, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterMs: 0 },
    profiles: options.profile ? () => options.profile! : undefined,
  });
  return { registry, transport };
}

describe('RegistryClient', () => {
  it('uses https unless the host is insecure', () => {
    expect(client([status(200)]).registry.baseUrl).toBe('https://registry.example');
    expect(client([status(200)], { insecure: ['registry.example'] }).registry.baseUrl).toBe('http://registry.example');
  });

  it('refuses a redirect to plain http on a host that is not insecure', async () => {
    const { registry, transport } = client([status(307, { location: 'http://storage.example/blob' }), status(200)]);
    const error = await registry.send({ method: 'GET', path: '/v2/a/blobs/sha256:x', scopes: [] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RefusedUrlError);
    expect((error as Error).message).toMatch(/refusing plain http to storage\.example/);
    // The http URL was never contacted.
    expect(transport.calls.map((c) => c.url)).toEqual(['https://registry.example/v2/a/blobs/sha256:x']);
  });

  it('refuses other schemes outright', async () => {
    const { registry } = client([status(302, { location: 'file:///etc/passwd' })]);
    await expect(registry.send({ method: 'GET', path: '/v2/', scopes: [] })).rejects.toThrow(/refusing file: URL/);
  });

  it('sends credentials to its own origin only: not to an upload location elsewhere', async () => {
    const { registry, transport } = client([
      status(401, { 'www-authenticate': 'Basic realm="r"' }),
      status(202),
      status(201),
    ]);
    await registry.send({ method: 'POST', path: '/v2/a/blobs/uploads/', scopes: ['repository:a:push'] });
    await registry.send({ method: 'PUT', path: 'https://uploads.example/session?x=1', scopes: ['repository:a:push'] });
    expect(transport.calls.map((c) => [c.url, c.headers.authorization])).toEqual([
      ['https://registry.example/v2/a/blobs/uploads/', undefined],
      ['https://registry.example/v2/a/blobs/uploads/', 'Basic dTpw'],
      ['https://uploads.example/session?x=1', undefined],
    ]);
  });

  it('a registry named with its default port is its own origin: it gets credentials and its challenges are learned', async () => {
    const transport = fakeTransport([status(401, { 'www-authenticate': 'Basic realm="r"' }), status(200)]);
    const registry = new RegistryClient('registry.example:443', { transport, credentials: () => basic, isInsecure: () => false, retry: { retries: 0, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterMs: 0 } });
    expect((await registry.send({ method: 'GET', path: '/v2/', scopes: [] })).status).toBe(200);
    expect(transport.calls.map((c) => c.headers.authorization)).toEqual([undefined, 'Basic dTpw']);
  });

  it('refuses an upload location with plain http on a host that is not insecure', async () => {
    const { registry, transport } = client([status(201)]);
    await expect(registry.send({ method: 'PUT', path: 'http://uploads.example/s', scopes: [] })).rejects.toThrow(RefusedUrlError);
    expect(transport.calls).toHaveLength(0);
  });
});

const REGISTRY = 'https://registry.example';
const STORAGE = 'https://storage.example';
const EVIL = 'https://evil.example';
const AUTH = 'https://auth.example';
const PASSWORD = 'Pa55-w0rd-do-not-leak';
const alice: Credential = { kind: 'basic', username: 'alice', password: PASSWORD };
const BASIC_ALICE = basicAuthorization('alice', PASSWORD);
/** Object storage (or a hostile host) that answers 401 with a challenge of its own. */
const foreign401 = () => status(401, { 'www-authenticate': `Bearer realm="${EVIL}/token",service="evil"` }, '{"errors":[{"code":"DENIED"}]}');
const seen = (calls: { url: string; headers: Record<string, string> }[]) => calls.map((c) => [new URL(c.url).origin, c.headers.authorization]);

// Regression: a blob GET redirected to another origin that answered 401 with its own Bearer
// challenge made the client adopt that challenge and send the registry's Basic credentials to
// the foreign realm.
describe('RegistryClient: only the registry\'s own 401 teaches a challenge', () => {
  it('a 401 from a foreign redirect target is returned as it is; the next request still sends Basic and no foreign realm is asked', async () => {
    const { registry, transport } = client(
      byOrigin({
        [REGISTRY]: (req) =>
          req.headers.authorization === BASIC_ALICE ? status(307, { location: `${STORAGE}/blob?sig=1` }) : status(401, { 'www-authenticate': 'Basic realm="r"' }),
        [STORAGE]: foreign401,
        [EVIL]: () => json({ token: 'stolen' }),
      }),
      { credential: alice },
    );
    const first = await registry.send({ method: 'GET', path: '/v2/a/blobs/sha256:x', scopes: ['repository:a:pull'] });
    expect(first.status).toBe(401);
    expect(first.url).toBe(`${STORAGE}/blob?sig=1`);
    const second = await registry.send({ method: 'GET', path: '/v2/b/blobs/sha256:y', scopes: ['repository:b:pull'] });
    expect(second.status).toBe(401);
    expect(seen(transport.calls)).toEqual([
      [REGISTRY, undefined],
      [REGISTRY, BASIC_ALICE],
      [STORAGE, undefined],
      [REGISTRY, BASIC_ALICE],
      [STORAGE, undefined],
    ]);
  });

  it('a first answer redirected to a foreign 401 starts no token fetch and no retry', async () => {
    const { registry, transport } = client(
      byOrigin({
        [REGISTRY]: () => status(302, { location: `${STORAGE}/blob` }),
        [STORAGE]: foreign401,
        [EVIL]: () => json({ token: 'stolen' }),
      }),
      { credential: alice },
    );
    const response = await registry.send({ method: 'GET', path: '/v2/a/blobs/sha256:x', scopes: ['repository:a:pull'] });
    expect(response.status).toBe(401);
    expect(seen(transport.calls)).toEqual([
      [REGISTRY, undefined],
      [STORAGE, undefined],
    ]);
  });

  it('a 401 after a redirect within the registry\'s origin is the registry\'s: learned and retried', async () => {
    const { registry, transport } = client(
      byOrigin({
        [REGISTRY]: (req) => {
          if (new URL(req.url).pathname.endsWith('/x')) return status(307, { location: '/v2/a/blobs/y' });
          return req.headers.authorization === BASIC_ALICE ? status(200, {}, 'blob') : status(401, { 'www-authenticate': 'Basic realm="r"' });
        },
      }),
      { credential: alice },
    );
    const response = await registry.send({ method: 'GET', path: '/v2/a/blobs/x', scopes: ['repository:a:pull'] });
    expect(response.status).toBe(200);
    expect(transport.calls.map((c) => [new URL(c.url).pathname, c.headers.authorization])).toEqual([
      ['/v2/a/blobs/x', undefined],
      ['/v2/a/blobs/y', undefined],
      ['/v2/a/blobs/x', BASIC_ALICE],
      ['/v2/a/blobs/y', BASIC_ALICE],
    ]);
  });

  it('the error for a foreign 401 names who answered, not refused credentials, and no URL query', async () => {
    const { registry } = client(byOrigin({ [REGISTRY]: () => status(307, { location: `${STORAGE}/blob?sig=SIGNATURE` }), [STORAGE]: foreign401 }), { credential: alice });
    const response = await registry.send({ method: 'GET', path: '/v2/a/blobs/sha256:x', scopes: ['repository:a:pull'] });
    const error = await registry.error('get blob a@sha256:x', response);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.message).toContain('answered by storage.example, not registry.example');
    expect(error.message).not.toContain('credentials');
    expect(error.message).not.toContain('SIGNATURE');
  });
});

describe('RegistryClient: token realms', () => {
  const bearer401 = () => status(401, { 'www-authenticate': `Bearer realm="${AUTH}/token",service="registry.example"` });

  it.each<[label: string, credential: Credential, secret: string]>([
    ['basic', alice, PASSWORD],
    ['identity', { kind: 'identity', token: 'refresh-SECRET-77' }, 'refresh-SECRET-77'],
  ])('a realm redirecting to another origin: %s credentials never reach it, the request fails clearly', async (_label, credential, secret) => {
    const { registry, transport } = client(
      byOrigin({
        [REGISTRY]: bearer401,
        [AUTH]: () => status(307, { location: `${EVIL}/token` }),
        [EVIL]: () => json({ token: 'stolen' }),
      }),
      { credential },
    );
    const error = await registry.send({ method: 'GET', path: '/v2/a/manifests/v1', scopes: ['repository:a:pull'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RefusedUrlError);
    expect((error as Error).message).toMatch(/auth\.example.*evil\.example/);
    expect((error as Error).message).not.toContain(secret);
    expect(transport.calls.map((c) => new URL(c.url).origin)).toEqual([REGISTRY, AUTH]);
  });

  // Regression: after one failed token fetch, every request to the registry failed in
  // authorization() without the registry being asked again, until restart.
  it.each<[label: string, refusal: 'checkUrl' | '403']>([
    ['refused by checkUrl', 'checkUrl'],
    ['answering 403', '403'],
  ])('after a realm %s, the next request goes to the registry again, and recovers once the realm works', async (_label, refusal) => {
    let refusing = true;
    const { registry, transport } = client(
      byOrigin({
        [REGISTRY]: (req) => (req.headers.authorization === 'Bearer good' ? status(200) : bearer401()),
        [AUTH]: () => (refusing && refusal === '403' ? status(403) : json({ token: 'good' })),
      }),
      {
        credential: alice,
        checkUrl: (url) => {
          if (refusing && refusal === 'checkUrl' && url.origin === AUTH) throw new RefusedUrlError('refusing auth.example');
        },
      },
    );
    const atRegistry = () => transport.calls.filter((c) => c.url.startsWith(REGISTRY)).length;
    await expect(registry.send({ method: 'HEAD', path: '/v2/a/manifests/v1', scopes: ['repository:a:pull'] })).rejects.toThrow();
    expect(atRegistry()).toBe(1);
    await expect(registry.send({ method: 'HEAD', path: '/v2/b/manifests/v1', scopes: ['repository:b:pull'] })).rejects.toThrow();
    expect(atRegistry()).toBe(2);
    refusing = false;
    const response = await registry.send({ method: 'HEAD', path: '/v2/c/manifests/v1', scopes: ['repository:c:pull'] });
    expect(response.status).toBe(200);
    expect(transport.calls.slice(-3).map((c) => [new URL(c.url).origin, c.headers.authorization])).toEqual([
      [REGISTRY, undefined],
      [AUTH, BASIC_ALICE],
      [REGISTRY, 'Bearer good'],
    ]);
  });

  it('parallel requests share one failing token fetch; afterwards the registry is asked again', async () => {
    const answer = deferred<Response>();
    const { registry, transport } = client(
      byOrigin({
        [REGISTRY]: bearer401,
        [AUTH]: () => answer.promise,
      }),
      { credential: alice },
    );
    const sends = Array.from({ length: 3 }, () => registry.send({ method: 'HEAD', path: '/v2/a/manifests/v1', scopes: ['repository:a:pull'] }));
    const settled = Promise.allSettled(sends);
    await flushMicrotasks(100);
    answer.resolve(status(403));
    expect((await settled).map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(transport.calls.filter((c) => c.url.startsWith(AUTH))).toHaveLength(1);
    const before = transport.calls.length;
    await expect(registry.send({ method: 'HEAD', path: '/v2/a/manifests/v1', scopes: ['repository:a:pull'] })).rejects.toBeInstanceOf(AuthenticationError);
    expect(transport.calls.slice(before).map((c) => new URL(c.url).origin)).toEqual([REGISTRY, AUTH]);
  });
});

describe('putBlobChunked', () => {
  // Byte-sized chunks: a profile whose bounds let them through.
  const tiny: RegistryProfile = { ...distribution, upload: { ...distribution.upload, minChunk: 1 } };

  async function upload(size: number, chunkSize: number, minLength?: number, profile = tiny) {
    const data = pattern(size);
    const digest = digestOf(data);
    const received: Uint8Array[] = [];
    const ranges: string[] = [];
    const { registry, transport } = client(async (request) => {
      if (request.method === 'PATCH') {
        ranges.push(request.headers['content-range']!);
        received.push(concat(await readChunks(request.body as ReadableStream<Uint8Array>)));
        return status(202, { location: `/v2/a/blobs/uploads/s?n=${ranges.length}` });
      }
      return status(201);
    }, { profile });
    await putBlobChunked(registry, 'a', { location: 'https://registry.example/v2/a/blobs/uploads/s?n=0', chunkMinLength: minLength }, digest, size, chunkedStream(data, [333, 1000, 7]), chunkSize);
    return { data, digest, received, ranges, calls: transport.calls };
  }

  it('sends consecutive Content-Range chunks, then the closing PUT with the digest on the last location', async () => {
    const { data, digest, received, ranges, calls } = await upload(10_000, 4096);
    expect(ranges).toEqual(['0-4095', '4096-8191', '8192-9999']);
    expect(received.map((c) => c.byteLength)).toEqual([4096, 4096, 1808]);
    expect(concat(received)).toEqual(data);
    expect(calls.map((c) => c.headers['content-length'])).toEqual(['4096', '4096', '1808', '0']);
    // Each PATCH goes to the Location the previous answer gave; the PUT appends the digest as text.
    expect(calls.map((c) => c.url)).toEqual([
      'https://registry.example/v2/a/blobs/uploads/s?n=0',
      'https://registry.example/v2/a/blobs/uploads/s?n=1',
      'https://registry.example/v2/a/blobs/uploads/s?n=2',
      `https://registry.example/v2/a/blobs/uploads/s?n=3&digest=${encodeURIComponent(digest)}`,
    ]);
  });

  it('honours OCI-Chunk-Min-Length over a smaller chunk size', async () => {
    const { ranges } = await upload(10_000, 1000, 6000);
    expect(ranges).toEqual(['0-5999', '6000-9999']);
  });

  it("keeps chunks within the profile's bounds (ECR: every chunk but the last at least its minimum)", async () => {
    const bounded: RegistryProfile = { ...distribution, upload: { ...distribution.upload, minChunk: 3000, maxChunk: 4000 } };
    expect((await upload(10_000, 1000, undefined, bounded)).ranges).toEqual(['0-2999', '3000-5999', '6000-8999', '9000-9999']);
    expect((await upload(10_000, 9000, undefined, bounded)).ranges).toEqual(['0-3999', '4000-7999', '8000-9999']);
  });

  it('refuses a blob that would need more chunks than the registry takes, before sending any', async () => {
    const capped: RegistryProfile = { ...distribution, upload: { ...distribution.upload, minChunk: 1, maxChunk: 1000, maxChunks: 5 } };
    await expect(upload(10_000, 1000, undefined, capped)).rejects.toThrow(/10000 bytes need more than 5 chunks of 1000 bytes/);
  });
});
