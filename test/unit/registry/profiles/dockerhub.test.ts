// The Docker Hub profile's pure parts and its Hub API client against a fake API: which 429 is the
// anti-abuse limit, how a repository names Hub's namespace, the token exchange and tag deletion.
import { describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../../lib/registry/client.ts';
import { deleteHubTag, hubRepository, hubToken } from '../../../../lib/registry/profiles/docker-hub-api.ts';
import { ANTI_ABUSE_DELAY_MS, ANTI_ABUSE_REASON, dockerHubProfile, dockerHubThrottle } from '../../../../lib/registry/profiles/dockerhub.ts';
import { withRetries } from '../../../../lib/transport/retry.ts';
import { fakeTransport, status } from '../../fakes/transport.ts';

const json = (code: number, body: unknown) => status(code, { 'content-type': 'application/json' }, JSON.stringify(body));

describe('dockerHubThrottle', () => {
  it.each([
    ['the plain-text page', 'Too Many Requests (HAP429).\n'],
    ['an OCI error naming it', '{"errors":[{"code":"TOOMANYREQUESTS","message":"Too Many Requests (HAP429)."}]}'],
  ])('reads %s as the anti-abuse limit: a long backoff, named', (_what, body) => {
    expect(dockerHubThrottle(status(429), body)).toEqual({ reason: ANTI_ABUSE_REASON, delayMs: ANTI_ABUSE_DELAY_MS });
    expect(ANTI_ABUSE_REASON).toBe('Docker Hub anti-abuse limit (HAP429)');
    expect(ANTI_ABUSE_DELAY_MS).toBe(30_000);
  });

  it('leaves the pull-limit 429, and anything but a 429, to the usual retries', () => {
    const pullLimit = '{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your unauthenticated pull rate limit. https://www.docker.com/increase-rate-limit"}]}';
    expect(dockerHubThrottle(status(429), pullLimit)).toBeUndefined();
    expect(dockerHubThrottle(status(429), '')).toBeUndefined();
    expect(dockerHubThrottle(status(503), 'HAP429')).toBeUndefined();
  });

  it('is the profile\'s throttle, and the retries wait its delay (capped by the policy) naming it', async () => {
    const profile = dockerHubProfile();
    expect(profile.throttle).toBe(dockerHubThrottle);
    const events: { reason: string; delayMs: number }[] = [];
    const waits: number[] = [];
    const transport = fakeTransport([status(429, {}, 'Too Many Requests (HAP429).'), status(200)]);
    const retrying = withRetries(transport, { retries: 2, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 60_000 }, {
      throttle: profile.throttle,
      onRetry: (event) => events.push(event),
      sleep: async (ms) => void waits.push(ms),
    });
    expect((await retrying({ method: 'GET', url: 'https://registry-1.docker.io/v2/', headers: {} })).status).toBe(200);
    expect(events).toMatchObject([{ reason: ANTI_ABUSE_REASON, delayMs: 30_000 }]);
    expect(waits).toEqual([30_000]);
  });
});

describe('hubRepository', () => {
  it.each([
    ['library/nginx', { namespace: 'library', name: 'nginx' }],
    ['hubuser/app', { namespace: 'hubuser', name: 'app' }],
    ['nginx', undefined],
  ])('%s', (repository, expected) => {
    expect(hubRepository(repository)).toEqual(expected);
  });
});

describe("Hub's API", () => {
  const API = 'https://hub.docker.com';
  const client = (answers: Parameters<typeof fakeTransport>[0]) => {
    const transport = fakeTransport(answers);
    return { transport, registry: new RegistryClient('docker.io', { transport, isInsecure: () => false, retry: { retries: 0, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterMs: 0 } }) };
  };

  it('exchanges the user and secret for an access token, in the body, refusing redirects elsewhere', async () => {
    const { transport, registry } = client([json(200, { access_token: 'jwt-token' })]);
    expect(await hubToken(registry, API, 'hubuser', 'dckr_pat_secret')).toBe('jwt-token');
    const [call] = transport.calls;
    expect(call).toMatchObject({ method: 'POST', url: `${API}/v2/auth/token` });
    expect(call!.headers.authorization).toBeUndefined();
    expect(JSON.parse(new TextDecoder().decode(call!.body as Uint8Array))).toEqual({ identifier: 'hubuser', secret: 'dckr_pat_secret' });
  });

  it('says when Hub refuses the credentials; a garbled answer is an error without the secret', async () => {
    expect(await hubToken(client([json(401, { detail: 'Incorrect authentication credentials' })]).registry, API, 'hubuser', 'dckr_pat_secret')).toEqual({ refused: 401 });
    const garbled = await hubToken(client([json(200, { token: 'x' })]).registry, API, 'hubuser', 'dckr_pat_secret').catch((e: unknown) => e);
    expect((garbled as Error).message).toBe('docker.io: Docker Hub API: create access token failed: 200 GARBLED: no access_token in the answer');
    const failed = await hubToken(client([json(500, { detail: 'oops' })]).registry, API, 'hubuser', 'dckr_pat_secret').catch((e: unknown) => e);
    expect((failed as Error).message).toBe('docker.io: Docker Hub API: create access token failed: 500 DOCKER_HUB_API: oops');
  });

  it('deletes a tag: 204 deleted, 404 absent, 401/403 refused', async () => {
    const { transport, registry } = client([status(204), json(404, { detail: 'Not found.' }), json(403, { detail: 'no' })]);
    const repository = { namespace: 'hubuser', name: 'app' };
    expect(await deleteHubTag(registry, API, 'jwt-token', repository, 'v1')).toBe('deleted');
    expect(await deleteHubTag(registry, API, 'jwt-token', repository, 'v1')).toBe('absent');
    expect(await deleteHubTag(registry, API, 'jwt-token', repository, 'v1')).toEqual({ refused: 403 });
    expect(transport.calls[0]).toMatchObject({ method: 'DELETE', url: `${API}/v2/repositories/hubuser/app/tags/v1/` });
    expect(transport.calls[0]!.headers.authorization).toBe('Bearer jwt-token');
  });
});
