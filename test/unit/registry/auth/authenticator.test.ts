import { describe, expect, it, vi } from 'vitest';
import { Authenticator, type AuthenticatorOptions } from '../../../../lib/registry/auth/authenticator.ts';
import { basicAuthorization, type Credential } from '../../../../lib/auth/credentials.ts';
import { AuthenticationError } from '../../../../lib/registry/errors.ts';
import { NetworkError, RefusedUrlError } from '../../../../lib/transport/errors.ts';
import { deferred, fakeTransport, json, status } from '../../fakes/transport.ts';

const T0 = 1_700_000_000_000;
const REALM = 'https://auth.example/token';
const PULL = 'repository:team/app:pull';
const PUSH = 'repository:team/app:pull,push';
const PASSWORD = 'Pa55-w0rd-do-not-leak';

const bearerChallenge = (realm = REALM, service = 'registry.example', scope?: string) =>
  `Bearer realm="${realm}",service="${service}"${scope ? `,scope="${scope}"` : ''}`;
const unauthorized = (header?: string) => status(401, header === undefined ? {} : { 'www-authenticate': header });

/** A token service handing out T1, T2, … valid for `expiresIn` seconds. */
function tokenService(expiresIn = 300) {
  return fakeTransport((_req, i) => json({ token: `T${i + 1}`, expires_in: expiresIn }));
}

function setup(overrides: Partial<AuthenticatorOptions> = {}) {
  const transport = tokenService();
  const clock = { now: T0 };
  const auth = new Authenticator({ registry: 'registry.example', transport, now: () => clock.now, ...overrides });
  return { auth, transport: (overrides.transport as ReturnType<typeof tokenService> | undefined) ?? transport, clock };
}

/** An authenticator that has seen the registry's Bearer challenge. */
function challenged(overrides: Partial<AuthenticatorOptions> = {}, header = bearerChallenge()) {
  const s = setup(overrides);
  expect(s.auth.onUnauthorized(unauthorized(header), [], undefined)).toBe(true);
  return s;
}

const scopesOf = (url: string) => new URL(url).searchParams.getAll('scope');

describe('Authenticator: before any challenge', () => {
  it.each<[label: string, credential: Credential | undefined]>([
    ['anonymous', undefined],
    ['basic', { kind: 'basic', username: 'u', password: 'p' }],
    ['identity', { kind: 'identity', token: 'r' }],
  ])('%s: no header and no token fetch', async (_label, credential) => {
    const { auth, transport } = setup({ credential });
    expect(await auth.authorization([PULL])).toBeUndefined();
    expect(transport.calls).toHaveLength(0);
  });

  it('hasCredential says whether a credential was given', () => {
    expect(setup().auth.hasCredential).toBe(false);
    expect(setup({ credential: { kind: 'basic', username: 'u', password: 'p' } }).auth.hasCredential).toBe(true);
  });
});

describe('Authenticator: Bearer', () => {
  it('after a Bearer 401, fetches a token with the service and scopes and sends it', async () => {
    const { auth, transport } = challenged();
    expect(await auth.authorization([PULL])).toBe('Bearer T1');
    expect(transport.calls).toHaveLength(1);
    const url = new URL(transport.calls[0]!.url);
    expect(url.origin + url.pathname).toBe(REALM);
    expect(url.searchParams.get('service')).toBe('registry.example');
    expect(url.searchParams.getAll('scope')).toEqual([PULL]);
  });

  it('caches the token: a second call for the same scopes does not fetch', async () => {
    const { auth, transport } = challenged();
    expect(await auth.authorization([PULL])).toBe('Bearer T1');
    expect(await auth.authorization([PULL])).toBe('Bearer T1');
    expect(transport.calls).toHaveLength(1);
  });

  it('the same scopes in another order or repeated share the cached token', async () => {
    const { auth, transport } = challenged();
    const a = 'repository:a:pull';
    const b = 'repository:b:pull';
    expect(await auth.authorization([a, b])).toBe('Bearer T1');
    expect(await auth.authorization([b, a])).toBe('Bearer T1');
    expect(await auth.authorization([b, a, b])).toBe('Bearer T1');
    expect(transport.calls).toHaveLength(1);
    expect(scopesOf(transport.calls[0]!.url)).toEqual([a, b]);
  });

  it('different scopes fetch another token, and each stays cached', async () => {
    const { auth, transport } = challenged();
    expect(await auth.authorization([PULL])).toBe('Bearer T1');
    expect(await auth.authorization([PUSH])).toBe('Bearer T2');
    expect(await auth.authorization([PULL])).toBe('Bearer T1');
    expect(await auth.authorization([PUSH])).toBe('Bearer T2');
    expect(transport.calls.map((c) => scopesOf(c.url))).toEqual([[PULL], [PUSH]]);
  });

  it('a request without scopes (the /v2/ ping) uses the scope the challenge suggested', async () => {
    const { auth, transport } = challenged({}, bearerChallenge(REALM, 'registry.example', 'repository:x:pull repository:y:pull'));
    expect(await auth.authorization([])).toBe('Bearer T1');
    expect(scopesOf(transport.calls[0]!.url)).toEqual(['repository:x:pull', 'repository:y:pull']);
  });

  it('concurrent calls for the same scopes share one fetch', async () => {
    const answer = deferred<Response>();
    const transport = fakeTransport(() => answer.promise);
    const { auth } = challenged({ transport });
    const all = Promise.all([auth.authorization([PULL]), auth.authorization([PULL]), auth.authorization([PULL])]);
    await Promise.resolve();
    answer.resolve(json({ token: 'shared', expires_in: 300 }));
    expect(await all).toEqual(['Bearer shared', 'Bearer shared', 'Bearer shared']);
    expect(transport.calls).toHaveLength(1);
  });

  it('concurrent calls for different scopes fetch separately', async () => {
    const { auth, transport } = challenged();
    const results = await Promise.all([auth.authorization([PULL]), auth.authorization([PUSH])]);
    expect(new Set(results).size).toBe(2);
    expect(transport.calls).toHaveLength(2);
  });

  it('a failed fetch rejects every waiter and is not cached: once the registry challenges again, it fetches again', async () => {
    const answer = deferred<Response>();
    const transport = fakeTransport((_req, i) => (i === 0 ? answer.promise : json({ token: 'second' })));
    const { auth } = challenged({ transport });
    const both = Promise.allSettled([auth.authorization([PULL]), auth.authorization([PULL])]);
    answer.resolve(status(500));
    const settled = await both;
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    expect(transport.calls).toHaveLength(1);
    expect(auth.onUnauthorized(unauthorized(bearerChallenge()), [PULL], undefined)).toBe(true);
    expect(await auth.authorization([PULL])).toBe('Bearer second');
    expect(transport.calls).toHaveLength(2);
  });

  it('refetches once the token has expired (renewed 30 s before expires_in)', async () => {
    const { auth, transport, clock } = challenged();
    expect(await auth.authorization([PULL])).toBe('Bearer T1');
    clock.now = T0 + 269_999;
    expect(await auth.authorization([PULL])).toBe('Bearer T1');
    expect(transport.calls).toHaveLength(1);
    clock.now = T0 + 270_000;
    expect(await auth.authorization([PULL])).toBe('Bearer T2');
    expect(transport.calls).toHaveLength(2);
    // The fresh token is cached in turn.
    expect(await auth.authorization([PULL])).toBe('Bearer T2');
    expect(transport.calls).toHaveLength(2);
  });

  it('a basic credential is sent to the token realm', async () => {
    const { auth, transport } = challenged({ credential: { kind: 'basic', username: 'alice', password: PASSWORD } });
    await auth.authorization([PULL]);
    expect(transport.calls[0]!.headers.authorization).toBe(basicAuthorization('alice', PASSWORD));
  });

  it('an identity credential makes a POST form with grant_type=refresh_token', async () => {
    const { auth, transport } = challenged({ credential: { kind: 'identity', username: 'u', token: 'refresh-1' } });
    expect(await auth.authorization([PULL])).toBe('Bearer T1');
    const call = transport.calls[0]!;
    expect(call.method).toBe('POST');
    expect(call.url).toBe(REALM);
    const form = new URLSearchParams(new TextDecoder().decode(call.body as Uint8Array));
    expect(form.get('grant_type')).toBe('refresh_token');
    expect(form.get('refresh_token')).toBe('refresh-1');
    expect(form.get('service')).toBe('registry.example');
    expect(form.get('scope')).toBe(PULL);
  });

  it('the token realm goes through checkUrl; a refusal stops the fetch', async () => {
    const seen: string[] = [];
    const refusal = new RefusedUrlError('refusing plain http');
    const checkUrl = vi.fn((url: URL) => {
      seen.push(url.href);
      if (url.protocol === 'http:') throw refusal;
    });
    const ok = challenged({ checkUrl });
    await ok.auth.authorization([PULL]);
    expect(seen).toEqual([REALM]);

    const refused = challenged({ checkUrl }, bearerChallenge('http://169.254.169.254/token'));
    await expect(refused.auth.authorization([PULL])).rejects.toBe(refusal);
    expect(refused.transport.calls).toHaveLength(0);
  });

  it.each<[label: string, header: string]>([
    ['without a realm', 'Bearer service="registry.example"'],
    ['with a realm that is not a URL', 'Bearer realm="not a url",service="x"'],
  ])('a challenge %s makes authorization reject without fetching', async (_label, header) => {
    const { auth, transport } = challenged({}, header);
    await expect(auth.authorization([PULL])).rejects.toThrow(/registry\.example/);
    expect(transport.calls).toHaveLength(0);
  });

  it('a refused token request surfaces as AuthenticationError without the password', async () => {
    const transport = fakeTransport([status(401)]);
    const { auth } = challenged({ transport, credential: { kind: 'basic', username: 'alice', password: PASSWORD } });
    const error = await auth.authorization([PULL]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).not.toContain(PASSWORD);
  });

  it('Bearer is chosen over Basic when both are offered', async () => {
    const { auth, transport } = challenged(
      { credential: { kind: 'basic', username: 'alice', password: 'pw' } },
      `Basic realm="Registry", ${bearerChallenge()}`,
    );
    expect(await auth.authorization([PULL])).toBe('Bearer T1');
    expect(transport.calls).toHaveLength(1);
  });
});

describe('Authenticator: onUnauthorized', () => {
  it.each<[label: string, header: string | undefined]>([
    ['no WWW-Authenticate', undefined],
    ['an empty WWW-Authenticate', ''],
    ['only an unknown scheme', 'Negotiate abc'],
    ['garbage', '"""'],
  ])('%s → false, and still no header', async (_label, header) => {
    const { auth, transport } = setup({ credential: { kind: 'basic', username: 'u', password: 'p' } });
    expect(auth.onUnauthorized(unauthorized(header), [PULL], undefined)).toBe(false);
    expect(await auth.authorization([PULL])).toBeUndefined();
    expect(transport.calls).toHaveLength(0);
  });

  it('a 401 for the cached token invalidates it and returns true; the next call fetches a new one', async () => {
    const { auth, transport } = challenged();
    const sent = await auth.authorization([PULL]);
    expect(sent).toBe('Bearer T1');
    expect(auth.onUnauthorized(unauthorized(bearerChallenge()), [PULL], sent)).toBe(true);
    expect(await auth.authorization([PULL])).toBe('Bearer T2');
    expect(transport.calls).toHaveLength(2);
  });

  it('invalidation touches only the refused scopes', async () => {
    const { auth, transport } = challenged();
    const pull = await auth.authorization([PULL]);
    await auth.authorization([PUSH]);
    expect(auth.onUnauthorized(unauthorized(bearerChallenge()), [PULL], pull)).toBe(true);
    expect(await auth.authorization([PUSH])).toBe('Bearer T2');
    expect(await auth.authorization([PULL])).toBe('Bearer T3');
    expect(transport.calls).toHaveLength(3);
  });

  it('a second 401 for the freshly fetched token invalidates it again (the client allows one retry)', async () => {
    const { auth } = challenged();
    const first = await auth.authorization([PULL]);
    expect(auth.onUnauthorized(unauthorized(bearerChallenge()), [PULL], first)).toBe(true);
    const second = await auth.authorization([PULL]);
    expect(second).toBe('Bearer T2');
    expect(auth.onUnauthorized(unauthorized(bearerChallenge()), [PULL], second)).toBe(true);
    expect(await auth.authorization([PULL])).toBe('Bearer T3');
  });

  it('a 401 with a challenge naming a new realm switches to it (true), the next token comes from there', async () => {
    const { auth, transport } = challenged();
    const sent = await auth.authorization([PULL]);
    const other = 'https://auth2.example/oauth/token';
    expect(auth.onUnauthorized(unauthorized(bearerChallenge(other, 'registry.example')), [PULL], sent)).toBe(true);
    expect(await auth.authorization([PULL])).toBe('Bearer T2');
    expect(new URL(transport.calls[1]!.url).origin + new URL(transport.calls[1]!.url).pathname).toBe(other);
  });

  it('a 401 with a challenge naming a new service is worth a retry', async () => {
    const { auth } = challenged();
    const sent = await auth.authorization([PULL]);
    expect(auth.onUnauthorized(unauthorized(bearerChallenge(REALM, 'other-service')), [PULL], sent)).toBe(true);
  });

  it('a 401 for a token it never issued is worth one retry with its own token, which stays cached', async () => {
    const { auth } = challenged();
    const own = await auth.authorization([PULL]);
    expect(auth.onUnauthorized(unauthorized(bearerChallenge()), [PULL], 'Bearer forged')).toBe(true);
    expect(await auth.authorization([PULL])).toBe(own);
  });

  // Regression (found by these tests, fixed): parallel requests that all carried the same token. The first 401 invalidates it and
  // returns true; the refetch caches T2. The second request's 401 (it also sent T1) finds T2 in the
  // cache, not T1, and the realm/service are unchanged, so onUnauthorized returns false: that request
  // fails with 401 although retrying with T2 "can succeed" (the documented contract). With a
  // Limiter of N parallel blob copies, N-1 of them fail whenever a token is revoked or expires early.
  it('a 401 for a token another request already found refused is still worth a retry', async () => {
    const { auth } = challenged();
    const sentByA = await auth.authorization([PULL]);
    const sentByB = await auth.authorization([PULL]);
    expect(sentByB).toBe(sentByA);
    expect(auth.onUnauthorized(unauthorized(bearerChallenge()), [PULL], sentByA)).toBe(true);
    expect(await auth.authorization([PULL])).toBe('Bearer T2');
    expect(auth.onUnauthorized(unauthorized(bearerChallenge()), [PULL], sentByB)).toBe(true);
  });

  it('a first Bearer 401 after a Basic header was sent is worth a retry', () => {
    const { auth } = setup({ credential: { kind: 'basic', username: 'u', password: 'p' } });
    expect(auth.onUnauthorized(unauthorized(bearerChallenge()), [PULL], basicAuthorization('u', 'p'))).toBe(true);
  });
});

describe('Authenticator: Basic', () => {
  const credential: Credential = { kind: 'basic', username: 'alice', password: 'pässwörd' };

  it('a Basic challenge with basic credentials gives a Basic header, and no token fetch', async () => {
    const { auth, transport } = setup({ credential });
    expect(auth.onUnauthorized(unauthorized('Basic realm="Registry Realm"'), [PULL], undefined)).toBe(true);
    const header = await auth.authorization([PULL]);
    expect(header).toBe(basicAuthorization('alice', 'pässwörd'));
    expect(Buffer.from(header!.slice(6), 'base64').toString('utf8')).toBe('alice:pässwörd');
    expect(transport.calls).toHaveLength(0);
  });

  it('returns false once a Basic header was already sent (wrong password: retrying cannot help)', async () => {
    const { auth } = setup({ credential });
    auth.onUnauthorized(unauthorized('Basic realm="Registry Realm"'), [PULL], undefined);
    const sent = await auth.authorization([PULL]);
    expect(auth.onUnauthorized(unauthorized('Basic realm="Registry Realm"'), [PULL], sent)).toBe(false);
  });

  it.each<[label: string, credential: Credential | undefined]>([
    ['no credential', undefined],
    ['an identity token', { kind: 'identity', token: 'r' }],
  ])('a Basic challenge with %s → false and no header', async (_label, cred) => {
    const { auth } = setup({ credential: cred });
    expect(auth.onUnauthorized(unauthorized('Basic realm="x"'), [PULL], undefined)).toBe(false);
    expect(await auth.authorization([PULL])).toBeUndefined();
  });
});

describe('Authenticator: registry token credential', () => {
  const credential: Credential = { kind: 'registry', token: 'static-registry-token' };

  it('always sends its bearer token, before and after any challenge, never fetching', async () => {
    const { auth, transport } = setup({ credential });
    expect(await auth.authorization([PULL])).toBe('Bearer static-registry-token');
    expect(auth.onUnauthorized(unauthorized(bearerChallenge()), [PULL], 'Bearer static-registry-token')).toBe(false);
    expect(await auth.authorization([PUSH])).toBe('Bearer static-registry-token');
    expect(transport.calls).toHaveLength(0);
  });

  it('a Basic challenge does not make it retry either', () => {
    const { auth } = setup({ credential });
    expect(auth.onUnauthorized(unauthorized('Basic realm="x"'), [PULL], 'Bearer static-registry-token')).toBe(false);
  });
});

// Regression: one failed token fetch used to keep its challenge, so every later request to the
// registry, any repository, failed in authorization() without the registry being asked again.
describe('Authenticator: a failed token fetch forgets its challenge', () => {
  const refusingCheck = (url: URL) => {
    if (url.host === 'auth.example') throw new RefusedUrlError('refusing auth.example');
  };

  it.each<[label: string, overrides: () => Partial<AuthenticatorOptions>]>([
    ['the realm refused by checkUrl', () => ({ checkUrl: refusingCheck })],
    ['the token service answering 403', () => ({ transport: fakeTransport([status(403)]) })],
    ['the token service answering 500', () => ({ transport: fakeTransport([status(500)]) })],
    ['the token service unreachable', () => ({ transport: fakeTransport([new NetworkError('auth.example', 'ECONNREFUSED')]) })],
    ['the token service answering without a token', () => ({ transport: fakeTransport([json({})]) })],
  ])('%s: the next call sends no header (the request goes to the registry), for any scopes', async (_label, overrides) => {
    const { auth, transport } = challenged(overrides());
    await expect(auth.authorization([PULL])).rejects.toThrow();
    const fetched = transport.calls.length;
    expect(await auth.authorization([PULL])).toBeUndefined();
    expect(await auth.authorization(['repository:other/app:pull'])).toBeUndefined();
    expect(transport.calls).toHaveLength(fetched);
  });

  it.each<[label: string, header: string]>([
    ['without a realm', 'Bearer service="registry.example"'],
    ['with a realm that is not a URL', 'Bearer realm="not a url",service="x"'],
  ])('a challenge %s is forgotten too', async (_label, header) => {
    const { auth } = challenged({}, header);
    await expect(auth.authorization([PULL])).rejects.toThrow(/registry\.example/);
    expect(await auth.authorization([PULL])).toBeUndefined();
  });

  it('after the registry challenges again, a token is fetched afresh and works', async () => {
    let refuse = true;
    const { auth, transport } = challenged({ checkUrl: (url) => refuse && refusingCheck(url) });
    await expect(auth.authorization([PULL])).rejects.toBeInstanceOf(RefusedUrlError);
    expect(transport.calls).toHaveLength(0);
    refuse = false;
    expect(auth.onUnauthorized(unauthorized(bearerChallenge()), [PULL], undefined)).toBe(true);
    expect(await auth.authorization([PULL])).toBe('Bearer T1');
    expect(transport.calls).toHaveLength(1);
  });

  it('parallel callers share the one failing fetch, and all of them see it fail', async () => {
    const answer = deferred<Response>();
    const transport = fakeTransport(() => answer.promise);
    const { auth } = challenged({ transport });
    const all = Promise.allSettled([auth.authorization([PULL]), auth.authorization([PULL]), auth.authorization([PULL])]);
    answer.resolve(status(403));
    const settled = await all;
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(settled.map((s) => (s as PromiseRejectedResult).reason)).toEqual(Array(3).fill(expect.any(AuthenticationError)));
    expect(transport.calls).toHaveLength(1);
    expect(await auth.authorization([PULL])).toBeUndefined();
  });

  it('is forgotten even when a parallel 401 stored an equal challenge during the fetch', async () => {
    const answer = deferred<Response>();
    const transport = fakeTransport(() => answer.promise);
    const { auth } = challenged({ transport });
    const failing = auth.authorization([PULL]);
    // Same realm and service, another object (and another scope hint).
    expect(auth.onUnauthorized(unauthorized(bearerChallenge(REALM, 'registry.example', PUSH)), [PUSH], undefined)).toBe(true);
    answer.resolve(status(403));
    await expect(failing).rejects.toBeInstanceOf(AuthenticationError);
    expect(await auth.authorization([PUSH])).toBeUndefined();
  });

  it('a different challenge learned during the fetch is kept', async () => {
    const answer = deferred<Response>();
    const other = 'https://auth2.example/token';
    const transport = fakeTransport((request) => (request.url.startsWith(REALM) ? answer.promise : json({ token: 'from-auth2' })));
    const { auth } = challenged({ transport });
    const failing = auth.authorization([PULL]);
    expect(auth.onUnauthorized(unauthorized(bearerChallenge(other)), [PULL], undefined)).toBe(true);
    answer.resolve(status(403));
    await expect(failing).rejects.toBeInstanceOf(AuthenticationError);
    expect(await auth.authorization([PULL])).toBe('Bearer from-auth2');
    expect(new URL(transport.calls[1]!.url).host).toBe('auth2.example');
  });

  it('tokens earned before for other scopes stay cached', async () => {
    const transport = fakeTransport((request) => (scopesOf(request.url).includes(PUSH) ? status(403) : json({ token: 'pull-token', expires_in: 300 })));
    const { auth } = challenged({ transport });
    expect(await auth.authorization([PULL])).toBe('Bearer pull-token');
    await expect(auth.authorization([PUSH])).rejects.toBeInstanceOf(AuthenticationError);
    expect(auth.onUnauthorized(unauthorized(bearerChallenge()), [PULL], undefined)).toBe(true);
    expect(await auth.authorization([PULL])).toBe('Bearer pull-token');
    expect(transport.calls).toHaveLength(2);
  });
});
