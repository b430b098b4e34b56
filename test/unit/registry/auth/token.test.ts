import { describe, expect, it } from 'vitest';
import { basicAuthorization, type Credential } from '../../../../lib/auth/credentials.ts';
import { fetchToken, type TokenRequest } from '../../../../lib/registry/auth/token.ts';
import { AuthenticationError, NotFoundError, RegistryError } from '../../../../lib/registry/errors.ts';
import { RefusedUrlError } from '../../../../lib/transport/errors.ts';
import { withRedirects } from '../../../../lib/transport/redirect.ts';
import { fakeTransport, json, status } from '../../fakes/transport.ts';

const T0 = 1_700_000_000_000;
const REALM = 'https://auth.example/token';
const PASSWORD = 'Pa55-w0rd-do-not-leak';
const basic: Credential = { kind: 'basic', username: 'alice', password: PASSWORD };

function tokenRequest(overrides: Partial<TokenRequest> = {}): TokenRequest {
  return { registry: 'registry.example', realm: REALM, service: 'registry.example', scopes: ['repository:team/app:pull'], ...overrides };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

describe('fetchToken: the request', () => {
  it('anonymous: GET realm with service and scope, asking for JSON, without authorization', async () => {
    const transport = fakeTransport([json({ token: 't' })]);
    await fetchToken(transport, tokenRequest(), () => T0);
    expect(transport.calls).toHaveLength(1);
    const call = transport.calls[0]!;
    expect(call.method).toBe('GET');
    const url = new URL(call.url);
    expect(url.origin + url.pathname).toBe(REALM);
    expect(url.searchParams.get('service')).toBe('registry.example');
    expect(url.searchParams.getAll('scope')).toEqual(['repository:team/app:pull']);
    expect(call.headers.accept).toBe('application/json');
    expect(call.headers.authorization).toBeUndefined();
    expect(call.body).toBeUndefined();
  });

  it('one scope parameter per scope, and existing realm query parameters kept', async () => {
    const transport = fakeTransport([json({ token: 't' })]);
    await fetchToken(transport, tokenRequest({ realm: `${REALM}?account=x`, scopes: ['repository:a:pull', 'repository:b:pull,push'] }), () => T0);
    const url = new URL(transport.calls[0]!.url);
    expect(url.searchParams.get('account')).toBe('x');
    expect(url.searchParams.getAll('scope')).toEqual(['repository:a:pull', 'repository:b:pull,push']);
  });

  it('no service and no scopes: no such parameters', async () => {
    const transport = fakeTransport([json({ token: 't' })]);
    await fetchToken(transport, tokenRequest({ service: undefined, scopes: [] }), () => T0);
    expect(new URL(transport.calls[0]!.url).search).toBe('');
  });

  it('basic credential: sent as Basic authorization to the realm', async () => {
    const transport = fakeTransport([json({ token: 't' })]);
    await fetchToken(transport, tokenRequest({ credential: basic }), () => T0);
    expect(transport.calls[0]!.headers.authorization).toBe(basicAuthorization('alice', PASSWORD));
  });

  it('identity credential: POST form with grant_type=refresh_token, nothing in the URL', async () => {
    const transport = fakeTransport([json({ access_token: 'at' })]);
    const token = await fetchToken(
      transport,
      tokenRequest({ credential: { kind: 'identity', token: 'refresh-123' }, scopes: ['repository:a:pull', 'repository:b:push'] }),
      () => T0,
    );
    expect(token.token).toBe('at');
    const call = transport.calls[0]!;
    expect(call.method).toBe('POST');
    expect(call.url).toBe(REALM);
    expect(call.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(call.headers.authorization).toBeUndefined();
    expect(call.body).toBeInstanceOf(Uint8Array);
    const form = new URLSearchParams(new TextDecoder().decode(call.body as Uint8Array));
    expect(Object.fromEntries(form)).toEqual({
      grant_type: 'refresh_token',
      refresh_token: 'refresh-123',
      client_id: 'imagesync',
      service: 'registry.example',
      scope: 'repository:a:pull repository:b:push',
    });
  });

  it('identity credential without service or scopes leaves them out of the form', async () => {
    const transport = fakeTransport([json({ token: 't' })]);
    await fetchToken(transport, tokenRequest({ credential: { kind: 'identity', token: 'r' }, service: undefined, scopes: [] }), () => T0);
    const form = new URLSearchParams(new TextDecoder().decode(transport.calls[0]!.body as Uint8Array));
    expect(form.has('service')).toBe(false);
    expect(form.has('scope')).toBe(false);
  });

  it('passes the signal on', async () => {
    const transport = fakeTransport([json({ token: 't' })]);
    const controller = new AbortController();
    await fetchToken(transport, tokenRequest({ signal: controller.signal }), () => T0);
    expect(transport.calls[0]!.signal).toBe(controller.signal);
  });
});

describe('fetchToken: the answer', () => {
  it.each<[body: object, token: string]>([
    [{ token: 'a' }, 'a'],
    [{ access_token: 'b' }, 'b'],
    [{ token: 'a', access_token: 'b' }, 'a'],
    [{ token: '', access_token: 'b' }, 'b'],
  ])('%j → token %j', async (body, token) => {
    const result = await fetchToken(fakeTransport([json(body)]), tokenRequest(), () => T0);
    expect(result.token).toBe(token);
  });

  it.each<[expiresIn: unknown, usableSeconds: number]>([
    [undefined, 45], // default 60 s, renewed 15 s early
    [60, 45],
    [300, 270], // margin capped at 30 s
    [3600, 3570],
    [8, 6], // margin is a quarter for short lifetimes
    [0, 45],
    [-5, 45],
    ['300', 45],
    [null, 45],
  ])('expires_in %j → usable for %d s', async (expiresIn, usableSeconds) => {
    const result = await fetchToken(fakeTransport([json({ token: 't', expires_in: expiresIn })]), tokenRequest(), () => T0);
    expect(result.expiresAt).toBe(T0 + usableSeconds * 1000);
  });

  it('counts the lifetime from before the request was sent', async () => {
    let clock = T0;
    const transport = fakeTransport(() => {
      clock += 10_000;
      return json({ token: 't', expires_in: 300 });
    });
    const result = await fetchToken(transport, tokenRequest(), () => clock);
    expect(result.expiresAt).toBe(T0 + 270_000);
  });
});

describe('fetchToken: errors', () => {
  it('an answer that is not JSON → RegistryError TOKEN_INVALID', async () => {
    const error = await rejection(fetchToken(fakeTransport([status(200, { 'content-type': 'text/html' }, '<html>login</html>')]), tokenRequest(), () => T0));
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).not.toBeInstanceOf(AuthenticationError);
    expect((error as RegistryError).code).toBe('TOKEN_INVALID');
    expect(error.message).toContain('registry.example');
  });

  it.each([{}, { token: '' }, { token: 42 }, { access_token: null }, { expires_in: 300 }])('JSON without a usable token %j → TOKEN_INVALID', async (body) => {
    const error = await rejection(fetchToken(fakeTransport([json(body)]), tokenRequest(), () => T0));
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe('TOKEN_INVALID');
  });

  it('401 with credentials → AuthenticationError UNAUTHORIZED, without the password', async () => {
    const transport = fakeTransport([status(401, { 'www-authenticate': 'Basic realm="auth"' }, 'bad credentials')]);
    const error = await rejection(fetchToken(transport, tokenRequest({ credential: basic }), () => T0));
    expect(error).toBeInstanceOf(AuthenticationError);
    const auth = error as AuthenticationError;
    expect(auth.status).toBe(401);
    expect(auth.code).toBe('UNAUTHORIZED');
    expect(auth.registry).toBe('registry.example');
    expect(error.message).toContain('registry.example');
    expect(error.message).toContain('401');
    expect(error.message).not.toContain(PASSWORD);
    expect(error.message).not.toContain(basicAuthorization('alice', PASSWORD).slice('Basic '.length));
  });

  it('401 without credentials → AuthenticationError DENIED', async () => {
    const error = await rejection(fetchToken(fakeTransport([status(401)]), tokenRequest(), () => T0));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).code).toBe('DENIED');
  });

  it('403 → AuthenticationError', async () => {
    const error = await rejection(fetchToken(fakeTransport([status(403)]), tokenRequest({ credential: basic }), () => T0));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).status).toBe(403);
  });

  it('401 with an OCI error document keeps its codes', async () => {
    const body = { errors: [{ code: 'UNAUTHORIZED', message: 'incorrect username or password' }] };
    const error = await rejection(fetchToken(fakeTransport([json(body, 401)]), tokenRequest({ credential: basic }), () => T0));
    expect((error as AuthenticationError).errors).toEqual(body.errors);
    expect(error.message).toContain('incorrect username or password');
  });

  it('500 → RegistryError, not an authentication failure', async () => {
    const error = await rejection(fetchToken(fakeTransport([status(500)]), tokenRequest({ credential: basic }), () => T0));
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).not.toBeInstanceOf(AuthenticationError);
    expect((error as RegistryError).status).toBe(500);
    expect(error.message).not.toContain(PASSWORD);
  });

  it('404 → NotFoundError', async () => {
    const error = await rejection(fetchToken(fakeTransport([status(404)]), tokenRequest(), () => T0));
    expect(error).toBeInstanceOf(NotFoundError);
  });

  it('identity credential refused → AuthenticationError without the refresh token', async () => {
    const error = await rejection(
      fetchToken(fakeTransport([status(401)]), tokenRequest({ credential: { kind: 'identity', token: 'refresh-SECRET' } }), () => T0),
    );
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).code).toBe('UNAUTHORIZED');
    expect(error.message).not.toContain('refresh-SECRET');
  });
});

// Through the redirect layer, as the client sends them: a token request carrying a secret stays
// at the realm's origin whatever the status; an anonymous one may follow the service elsewhere.
describe('fetchToken: redirects', () => {
  const FOREIGN = 'https://foreign.example/token';
  const identity: Credential = { kind: 'identity', token: 'refresh-SECRET-77' };

  function redirecting(code: number, location = FOREIGN) {
    return fakeTransport((request) => (request.url.startsWith(REALM) ? status(code, { location }) : json({ token: 'foreign-token' })));
  }

  it.each([301, 302, 303, 307, 308])('basic credential: a %i to another origin is refused, naming both hosts and no secret', async (code) => {
    const next = redirecting(code);
    const error = await rejection(fetchToken(withRedirects(next), tokenRequest({ credential: basic }), () => T0));
    expect(error).toBeInstanceOf(RefusedUrlError);
    expect(error.message).toContain('auth.example');
    expect(error.message).toContain('foreign.example');
    expect(error.message).not.toContain(PASSWORD);
    expect(error.message).not.toContain(basicAuthorization('alice', PASSWORD).slice('Basic '.length));
    expect(error.message).not.toContain('scope=');
    expect(next.calls.map((c) => new URL(c.url).host)).toEqual(['auth.example']);
  });

  it.each([301, 302, 303, 307, 308])('identity credential: a %i to another origin is refused, the refresh token never leaves', async (code) => {
    const next = redirecting(code);
    const error = await rejection(fetchToken(withRedirects(next), tokenRequest({ credential: identity }), () => T0));
    expect(error).toBeInstanceOf(RefusedUrlError);
    expect(error.message).toMatch(/auth\.example.*foreign\.example/);
    expect(error.message).not.toContain('refresh-SECRET-77');
    expect(next.calls).toHaveLength(1);
  });

  it('a redirect within the realm\'s origin is followed with the credentials', async () => {
    const next = fakeTransport((request) => (new URL(request.url).pathname === '/token' ? status(307, { location: '/v2/token' }) : json({ token: 'moved' })));
    const token = await fetchToken(withRedirects(next), tokenRequest({ credential: basic }), () => T0);
    expect(token.token).toBe('moved');
    expect(next.calls.map((c) => c.headers.authorization)).toEqual([basicAuthorization('alice', PASSWORD), basicAuthorization('alice', PASSWORD)]);
  });

  it('an identity POST redirected (307) within the realm\'s origin keeps its form', async () => {
    const next = fakeTransport((request) => (new URL(request.url).pathname === '/token' ? status(307, { location: '/oauth/token' }) : json({ access_token: 'moved' })));
    const token = await fetchToken(withRedirects(next), tokenRequest({ credential: identity }), () => T0);
    expect(token.token).toBe('moved');
    expect(next.calls[1]!.method).toBe('POST');
    expect(new URLSearchParams(new TextDecoder().decode(next.calls[1]!.body as Uint8Array)).get('refresh_token')).toBe('refresh-SECRET-77');
  });

  it('anonymous: a redirect to another origin is followed (nothing secret to keep)', async () => {
    const next = redirecting(307);
    const token = await fetchToken(withRedirects(next), tokenRequest(), () => T0);
    expect(token.token).toBe('foreign-token');
    expect(next.calls.map((c) => new URL(c.url).host)).toEqual(['auth.example', 'foreign.example']);
    expect(next.calls[1]!.headers.authorization).toBeUndefined();
  });
});
