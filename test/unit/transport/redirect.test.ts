import { describe, expect, it, vi } from 'vitest';
import { RefusedUrlError } from '../../../lib/transport/errors.ts';
import { withRedirects } from '../../../lib/transport/redirect.ts';
import { bytes, fakeTransport, request, status, streamOf, text } from '../fakes/transport.ts';

const START = 'https://registry.example/v2/team/app/blobs/sha256:abc';

function redirectThenOk(code: number, location: string) {
  return fakeTransport([status(code, { location }), status(200, {}, 'blob')]);
}

describe('withRedirects', () => {
  it.each([301, 302, 303, 307, 308])('follows %i to an absolute Location', async (code) => {
    const next = redirectThenOk(code, 'https://storage.example/bucket/object?sig=1');
    const response = await withRedirects(next)(request(START));
    expect(response.status).toBe(200);
    expect(await text(response)).toBe('blob');
    expect(next.calls.map((c) => c.url)).toEqual([START, 'https://storage.example/bucket/object?sig=1']);
  });

  it.each<[location: string, expected: string]>([
    ['/v2/other/blobs/x', 'https://registry.example/v2/other/blobs/x'],
    ['x', 'https://registry.example/v2/team/app/blobs/x'],
    ['../manifests/y', 'https://registry.example/v2/team/app/manifests/y'],
    ['?part=2', 'https://registry.example/v2/team/app/blobs/sha256:abc?part=2'],
    ['//cdn.example/z', 'https://cdn.example/z'],
  ])('resolves the relative Location %j against the request URL', async (location, expected) => {
    const next = redirectThenOk(307, location);
    await withRedirects(next)(request(START));
    expect(next.calls[1]!.url).toBe(expected);
  });

  it('resolves a relative Location against the URL of the hop that answered it, not the first', async () => {
    const next = fakeTransport([
      status(302, { location: 'https://cdn.example/a/b' }),
      status(302, { location: 'c' }),
      status(200),
    ]);
    await withRedirects(next)(request(START));
    expect(next.calls.map((c) => c.url)).toEqual([START, 'https://cdn.example/a/b', 'https://cdn.example/a/c']);
  });

  it.each([200, 201, 204, 304, 300, 404, 500])('returns a %i as it is, Location or not', async (code) => {
    const next = fakeTransport([status(code, { location: 'https://elsewhere.example/' }), status(200)]);
    const response = await withRedirects(next)(request(START));
    expect(response.status).toBe(code);
    expect(next.calls).toHaveLength(1);
  });

  it('returns a redirect status without Location as it is', async () => {
    const next = fakeTransport([status(302), status(200)]);
    const response = await withRedirects(next)(request(START));
    expect(response.status).toBe(302);
    expect(next.calls).toHaveLength(1);
  });

  describe('authorization', () => {
    it.each<[label: string, location: string]>([
      ['another host', 'https://storage.example/v2/team/app/blobs/sha256:abc'],
      ['another port', 'https://registry.example:8443/v2/team/app/blobs/sha256:abc'],
      ['another scheme', 'http://registry.example/v2/team/app/blobs/sha256:abc'],
      ['a subdomain', 'https://eu.registry.example/v2/x'],
    ])('is dropped when the redirect goes to %s', async (_label, location) => {
      const next = redirectThenOk(307, location);
      const headers = { authorization: 'Bearer secret-token', accept: 'application/json', 'x-keep': '1' };
      await withRedirects(next)(request(START, { headers }));
      expect(next.calls[0]!.headers.authorization).toBe('Bearer secret-token');
      expect(next.calls[1]!.headers.authorization).toBeUndefined();
      // Other headers travel on.
      expect(next.calls[1]!.headers).toMatchObject({ accept: 'application/json', 'x-keep': '1' });
    });

    it.each<[label: string, location: string]>([
      ['same origin, other path', 'https://registry.example/v2/other'],
      ['relative path', '/v2/other'],
      ['explicit default port', 'https://registry.example:443/v2/other'],
      ['host in upper case', 'https://REGISTRY.example/v2/other'],
    ])('is kept on the same origin (%s)', async (_label, location) => {
      const next = redirectThenOk(307, location);
      const headers = { authorization: 'Bearer secret-token' };
      await withRedirects(next)(request(START, { headers }));
      expect(next.calls[1]!.headers.authorization).toBe('Bearer secret-token');
    });

    it('is not restored when a later hop comes back to the first origin', async () => {
      const next = fakeTransport([
        status(302, { location: 'https://other.example/x' }),
        status(302, { location: 'https://registry.example/y' }),
        status(200),
      ]);
      await withRedirects(next)(request(START, { headers: { authorization: 'Bearer secret-token' } }));
      expect(next.calls.map((c) => c.headers.authorization)).toEqual(['Bearer secret-token', undefined, undefined]);
    });

    it('does not modify the caller\'s headers', async () => {
      const next = redirectThenOk(307, 'https://storage.example/x');
      const headers = { authorization: 'Bearer secret-token' };
      await withRedirects(next)(request(START, { headers }));
      expect(headers).toEqual({ authorization: 'Bearer secret-token' });
    });
  });

  describe('method and body', () => {
    it.each(['POST', 'PUT', 'PATCH', 'GET'])('303 turns %s into a GET without body and content headers', async (method) => {
      const next = redirectThenOk(303, '/v2/result');
      const headers = {
        'content-type': 'application/octet-stream',
        'content-length': '3',
        'content-range': '0-2',
        accept: 'application/json',
      };
      await withRedirects(next)(request(START, { method, headers, body: bytes('abc') }));
      const second = next.calls[1]!;
      expect(second.method).toBe('GET');
      expect(second.body).toBeUndefined();
      expect(second.headers).toEqual({ accept: 'application/json' });
    });

    it('303 after a streamed POST becomes a GET rather than an error', async () => {
      const next = redirectThenOk(303, '/v2/result');
      const response = await withRedirects(next)(request(START, { method: 'POST', body: streamOf([bytes('abc')]) }));
      expect(response.status).toBe(200);
      expect(next.calls[1]).toMatchObject({ method: 'GET', body: undefined });
    });

    it('303 keeps a HEAD a HEAD', async () => {
      const next = redirectThenOk(303, '/v2/result');
      await withRedirects(next)(request(START, { method: 'HEAD' }));
      expect(next.calls[1]!.method).toBe('HEAD');
    });

    it.each([301, 302])('%i turns a POST into a GET without body', async (code) => {
      const next = redirectThenOk(code, '/v2/result');
      await withRedirects(next)(request(START, { method: 'POST', body: bytes('abc'), headers: { 'content-type': 'text/plain' } }));
      expect(next.calls[1]).toMatchObject({ method: 'GET', body: undefined });
      expect(next.calls[1]!.headers['content-type']).toBeUndefined();
    });

    it.each<[code: number, method: string]>([
      [307, 'PUT'],
      [307, 'POST'],
      [307, 'PATCH'],
      [308, 'PUT'],
      [308, 'POST'],
      [301, 'PUT'],
      [302, 'PUT'],
    ])('%i keeps %s with its bytes body and content headers', async (code, method) => {
      const next = redirectThenOk(code, 'https://registry.example/v2/upload/2');
      const body = bytes('layer bytes');
      const headers = { 'content-type': 'application/octet-stream', 'content-length': String(body.length) };
      await withRedirects(next)(request(START, { method, body, headers }));
      const second = next.calls[1]!;
      expect(second.method).toBe(method);
      expect(second.body).toBe(body);
      expect(second.headers).toEqual({ 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
    });

    it.each<[code: number, method: string]>([
      [307, 'PUT'],
      [307, 'POST'],
      [308, 'PATCH'],
      [308, 'POST'],
      [301, 'PUT'],
      [302, 'PATCH'],
    ])('%i of a %s with a body to another origin is refused: the body is never forwarded there', async (code, method) => {
      const next = redirectThenOk(code, 'https://storage.example/upload?sig=SIGNATURE');
      const error = await withRedirects(next)(request(START, { method, body: bytes('manifest or form') })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RefusedUrlError);
      expect((error as Error).message).toContain('registry.example');
      expect((error as Error).message).toContain('storage.example');
      expect((error as Error).message).not.toContain('SIGNATURE');
      expect(next.calls).toHaveLength(1);
    });

    it('a 307 of a request without a body to another origin is followed', async () => {
      const next = redirectThenOk(307, 'https://storage.example/upload');
      const response = await withRedirects(next)(request(START, { method: 'PUT', headers: { 'content-length': '0' } }));
      expect(response.status).toBe(200);
      expect(next.calls[1]!.url).toBe('https://storage.example/upload');
    });

    it.each([303, 302])('a %i of a POST with a body to another origin becomes a GET without it, and is followed', async (code) => {
      const next = redirectThenOk(code, 'https://storage.example/result');
      await withRedirects(next)(request(START, { method: 'POST', body: bytes('secret form') }));
      expect(next.calls[1]).toMatchObject({ method: 'GET', url: 'https://storage.example/result', body: undefined });
    });

    it.each([307, 308])('a streamed body with %i throws RefusedUrlError instead of sending the stream twice', async (code) => {
      const next = redirectThenOk(code, 'https://other.example/upload');
      const body = streamOf([bytes('abc')]);
      await expect(withRedirects(next)(request(START, { method: 'PUT', body }))).rejects.toBeInstanceOf(RefusedUrlError);
      expect(next.calls).toHaveLength(1);
    });

    it('keeps the signal across hops', async () => {
      const controller = new AbortController();
      const next = fakeTransport([status(302, { location: '/a' }), status(303, { location: '/b' }), status(200)]);
      await withRedirects(next)(request(START, { signal: controller.signal }));
      expect(next.calls.map((c) => c.signal)).toEqual([controller.signal, controller.signal, controller.signal]);
    });
  });

  describe('crossOriginRedirect: refuse', () => {
    it.each([301, 302, 303, 307, 308])('a %i to another origin throws, naming both hosts but no query, and the target is never contacted', async (code) => {
      const next = redirectThenOk(code, 'https://foreign.example/token?sig=SIGNATURE');
      const first = request('https://auth.example/token?scope=repository:a:pull&account=alice', { headers: { authorization: 'Basic c2VjcmV0' } });
      const error = await withRedirects(next)({ ...first, crossOriginRedirect: 'refuse' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RefusedUrlError);
      const message = (error as Error).message;
      expect(message).toContain('auth.example');
      expect(message).toContain('foreign.example');
      for (const secret of ['SIGNATURE', 'alice', 'scope=', 'c2VjcmV0']) expect(message).not.toContain(secret);
      expect(next.calls).toHaveLength(1);
    });

    it('a redirect within the origin is followed, credentials and all', async () => {
      const next = redirectThenOk(307, '/token/v2');
      const response = await withRedirects(next)({ ...request(START, { headers: { authorization: 'Basic c2VjcmV0' } }), crossOriginRedirect: 'refuse' });
      expect(response.status).toBe(200);
      expect(next.calls[1]!.headers.authorization).toBe('Basic c2VjcmV0');
    });

    it('holds on every hop, also after a 303 turned the request into a GET', async () => {
      const next = fakeTransport([status(303, { location: '/step' }), status(302, { location: 'https://foreign.example/x' }), status(200)]);
      const first = request(START, { method: 'POST', body: bytes('refresh_token=SECRET') });
      await expect(withRedirects(next)({ ...first, crossOriginRedirect: 'refuse' })).rejects.toBeInstanceOf(RefusedUrlError);
      expect(next.calls.map((c) => new URL(c.url).host)).toEqual(['registry.example', 'registry.example']);
    });

    it('the default follows to another origin (without authorization)', async () => {
      const next = redirectThenOk(302, 'https://foreign.example/x');
      const response = await withRedirects(next)({ ...request(START, { headers: { authorization: 'Bearer t' } }), crossOriginRedirect: 'follow' });
      expect(response.status).toBe(200);
      expect(next.calls[1]!.headers.authorization).toBeUndefined();
    });
  });

  describe('the URL that answered', () => {
    it('a response without redirects is returned as it is: no url of its own', async () => {
      const answer = status(401, { 'www-authenticate': 'Basic realm="r"' });
      const response = await withRedirects(fakeTransport([answer]))(request(START));
      expect(response).toBe(answer);
    });

    it('after redirects, url is the last hop\'s URL, with status, headers and body intact', async () => {
      const next = fakeTransport([
        status(302, { location: 'https://cdn.example/a/b' }),
        status(307, { location: 'c?sig=1' }),
        status(401, { 'www-authenticate': 'Bearer realm="https://cdn.example/token"' }, 'denied'),
      ]);
      const response = await withRedirects(next)(request(START));
      expect(response.url).toBe('https://cdn.example/a/c?sig=1');
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="https://cdn.example/token"');
      expect(await text(response)).toBe('denied');
    });

    it('a redirect within the origin also tells its URL', async () => {
      const response = await withRedirects(redirectThenOk(307, '/v2/moved'))(request(START));
      expect(response.url).toBe('https://registry.example/v2/moved');
    });
  });

  describe('limits', () => {
    it('follows up to maxRedirects hops', async () => {
      const next = fakeTransport((_req, i) => (i < 3 ? status(302, { location: `/hop/${i + 1}` }) : status(200)));
      const response = await withRedirects(next, { maxRedirects: 3 })(request(START));
      expect(response.status).toBe(200);
      expect(next.calls).toHaveLength(4);
    });

    it('throws RefusedUrlError after one more, naming the first host', async () => {
      const next = fakeTransport((_req, i) => status(302, { location: `/hop/${i + 1}` }));
      const error = await withRedirects(next, { maxRedirects: 3 })(request(START)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RefusedUrlError);
      expect((error as Error).message).toContain('registry.example');
      expect(next.calls).toHaveLength(4);
    });

    it('stops an endless loop with the default limit', async () => {
      const next = fakeTransport(() => status(302, { location: START }));
      await expect(withRedirects(next)(request(START))).rejects.toBeInstanceOf(RefusedUrlError);
      expect(next.calls).toHaveLength(11);
    });

    it('discards the body of every redirect it follows', async () => {
      const cancel = vi.fn();
      const next = fakeTransport([new Response(new ReadableStream({ pull() {}, cancel }), { status: 302, headers: { location: '/x' } }), status(200)]);
      await withRedirects(next)(request(START));
      expect(cancel).toHaveBeenCalled();
    });
  });

  describe('checkUrl', () => {
    it('is called with each target as a URL', async () => {
      const next = fakeTransport([
        status(302, { location: 'https://cdn.example/a' }),
        status(307, { location: '/b?x=1' }),
        status(200),
      ]);
      const seen: string[] = [];
      await withRedirects(next, { checkUrl: (url) => void seen.push(url.href) })(request(START));
      expect(seen).toEqual(['https://cdn.example/a', 'https://cdn.example/b?x=1']);
    });

    it('is not called when there is no redirect', async () => {
      const checkUrl = vi.fn();
      await withRedirects(fakeTransport([status(200)]), { checkUrl })(request(START));
      expect(checkUrl).not.toHaveBeenCalled();
    });

    it('stops the chain when it throws, and the target is never contacted', async () => {
      const next = fakeTransport([
        status(302, { location: 'https://cdn.example/a' }),
        status(302, { location: 'http://169.254.169.254/latest/meta-data' }),
        status(200),
      ]);
      const refusal = new RefusedUrlError('refusing plain http');
      const checkUrl = (url: URL) => {
        if (url.protocol === 'http:') throw refusal;
      };
      await expect(withRedirects(next, { checkUrl })(request(START))).rejects.toBe(refusal);
      expect(next.calls.map((c) => c.url)).toEqual([START, 'https://cdn.example/a']);
    });
  });
});
