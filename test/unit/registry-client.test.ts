// RegistryClient's URL policy and credential scope, and chunked uploads, against fake transports.
import { describe, expect, it } from 'vitest';
import { RegistryClient } from '../../lib/registry/client.ts';
import { putBlobChunked } from '../../lib/registry/upload.ts';
import { RefusedUrlError } from '../../lib/transport/errors.ts';
import { digestOf } from '../../lib/util/digest.ts';
import { chunkedStream, concat, fakeTransport, pattern, readChunks, status } from './fakes.ts';

const basic = { kind: 'basic' as const, username: 'u', password: 'p' };

function client(answers: Parameters<typeof fakeTransport>[0], options: { insecure?: string[] } = {}) {
  const transport = fakeTransport(answers);
  const registry = new RegistryClient('registry.example', {
    transport,
    credentials: () => basic,
    isInsecure: (host) => (options.insecure ?? []).includes(host),
    retry: { retries: 0, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterMs: 0 },
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

  it('refuses an upload location with plain http on a host that is not insecure', async () => {
    const { registry, transport } = client([status(201)]);
    await expect(registry.send({ method: 'PUT', path: 'http://uploads.example/s', scopes: [] })).rejects.toThrow(RefusedUrlError);
    expect(transport.calls).toHaveLength(0);
  });
});

describe('putBlobChunked', () => {
  async function upload(size: number, chunkSize: number, minLength?: number) {
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
    });
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
});
