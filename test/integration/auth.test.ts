// Authentication against real registries: htpasswd Basic, and token auth through the test token
// server (ES256 JWTs with x5c), with every kind of credential a Docker config.json can hold.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationError } from '../../lib/registry/errors.ts';
import { pushImage } from '../harness/images.ts';
import { startRegistry, type RunningRegistry } from '../harness/registry.ts';
import { copy, expectCopied } from './support.ts';

let open: RunningRegistry;
let basic: RunningRegistry;
let token: RunningRegistry;

beforeAll(async () => {
  [open, basic, token] = await Promise.all([
    startRegistry(),
    startRegistry({ auth: 'htpasswd' }),
    startRegistry({ auth: 'token', token: { refreshTokens: { 'refresh-for-alice': 'alice' } } }),
  ]);
});
afterAll(async () => {
  await Promise.all([open?.stop(), basic?.stop(), token?.stop()]);
});

const basicFor = (r: RunningRegistry) => ({ kind: 'basic' as const, username: r.username!, password: r.password! });

describe('htpasswd (Basic)', () => {
  it('pushes into and pulls out of a Basic-auth registry with credentials', async () => {
    const pushed = await pushImage(open, 'basic/app', 'v1', { format: 'oci', layers: 2 });
    await copy(`${open.host}/basic/app:v1`, `${basic.host}/basic/app:v1`, { credentials: { [basic.host]: basicFor(basic) } });
    await expectCopied(pushed, open, 'basic/app', basic, 'basic/app', 'v1');
    await copy(`${basic.host}/basic/app:v1`, `${open.host}/basic-back/app:v1`, { credentials: { [basic.host]: basicFor(basic) } });
    await expectCopied(pushed, open, 'basic/app', open, 'basic-back/app', 'v1');
  });

  it('names the registry and says no credentials were configured', async () => {
    await pushImage(open, 'basic/none', 'v1', { format: 'oci' });
    const failure = copy(`${open.host}/basic/none:v1`, `${basic.host}/basic/none:v1`);
    await expect(failure).rejects.toBeInstanceOf(AuthenticationError);
    await expect(failure).rejects.toThrow(`${basic.host}: HEAD manifest basic/none:v1 failed: 401 UNAUTHORIZED (no credentials configured for ${basic.host})`);
  });

  it('rejects wrong credentials without repeating them', async () => {
    await pushImage(open, 'basic/wrong', 'v1', { format: 'oci' });
    const wrong = { kind: 'basic' as const, username: basic.username!, password: 'not-the-password-7d1f' };
    const error = await copy(`${open.host}/basic/wrong:v1`, `${basic.host}/basic/wrong:v1`, { credentials: { [basic.host]: wrong } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).toContain('401');
    expect((error as Error).message).not.toContain('not-the-password-7d1f');
  });
});

describe('token auth', () => {
  it('pushes with a token for pull,push and caches tokens per scope set', async () => {
    const pushed = await pushImage(open, 'tok/app', 'v1', { format: 'docker', layers: 4, layerSize: 5_000 });
    const server = token.tokenServer!;
    const before = server.requests.length;
    await copy(`${open.host}/tok/app:v1`, `${token.host}/tok/app:v1`, { credentials: { [token.host]: basicFor(token) } });
    const fetched = server.requests.slice(before);
    await expectCopied(pushed, open, 'tok/app', token, 'tok/app', 'v1');
    // Five blobs and a manifest, yet each distinct scope set is fetched once.
    const sets = fetched.map((r) => r.scopes.slice().sort().join(' '));
    expect(new Set(sets).size).toBe(sets.length);
    expect(sets.sort()).toEqual(['repository:tok/app:pull', 'repository:tok/app:pull,push']);
    expect(fetched.every((r) => r.user === 'alice' && r.status === 200)).toBe(true);
  });

  it('mounts across repositories of a token registry (a token for both repositories)', async () => {
    const pushed = await pushImage(token, 'tok/mount-from', 'v1', { format: 'oci', layers: 2 });
    const { result } = await copy(`${token.host}/tok/mount-from:v1`, `${token.host}/tok/mount-to:v1`, { credentials: { [token.host]: basicFor(token) } });
    expect(result.blobs.mounted).toBe(3);
    await expectCopied(pushed, token, 'tok/mount-from', token, 'tok/mount-to', 'v1');
    const mountScopes = token.tokenServer!.requests.find((r) => r.scopes.includes('repository:tok/mount-from:pull') && r.scopes.includes('repository:tok/mount-to:pull,push'));
    expect(mountScopes).toBeDefined();
  });

  it('exchanges an identity token (OAuth2 refresh token) for access', async () => {
    const pushed = await pushImage(open, 'tok/identity', 'v1', { format: 'oci' });
    const before = token.tokenServer!.requests.length;
    await copy(`${open.host}/tok/identity:v1`, `${token.host}/tok/identity:v1`, {
      credentials: { [token.host]: { kind: 'identity', token: 'refresh-for-alice' } },
    });
    const grants = token.tokenServer!.requests.slice(before).map((r) => `${r.method} ${r.grant}`);
    expect(new Set(grants)).toEqual(new Set(['POST refresh_token']));
    await expectCopied(pushed, open, 'tok/identity', token, 'tok/identity', 'v1');
  });

  it('sends a registry token as it is', async () => {
    const pushed = await pushImage(open, 'tok/regtoken', 'v1', { format: 'oci' });
    const server = token.tokenServer!;
    const url = `${server.realm}?service=${encodeURIComponent(server.service)}&scope=${encodeURIComponent('repository:tok/regtoken:pull,push')}`;
    const answer = await fetch(url, { headers: { authorization: `Basic ${btoa(`${token.username}:${token.password}`)}` } });
    const { token: bearer } = (await answer.json()) as { token: string };
    const before = server.requests.length;
    await copy(`${open.host}/tok/regtoken:v1`, `${token.host}/tok/regtoken:v1`, { credentials: { [token.host]: { kind: 'registry', token: bearer } } });
    expect(server.requests.length).toBe(before);
    await expectCopied(pushed, open, 'tok/regtoken', token, 'tok/regtoken', 'v1');
  });

  it('fails clearly when the token service refuses the credentials', async () => {
    await pushImage(open, 'tok/refused', 'v1', { format: 'oci' });
    const wrong = { kind: 'basic' as const, username: 'alice', password: 'wrong-secret-55aa' };
    const error = await copy(`${open.host}/tok/refused:v1`, `${token.host}/tok/refused:v1`, { credentials: { [token.host]: wrong } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).toMatch(new RegExp(`^${token.host.replace(/\./g, '\\.')}: token for repository:tok/refused:pull failed: 401`));
    expect((error as Error).message).not.toContain('wrong-secret-55aa');
  });

  it('refuses anonymous pulls where the token service grants nothing', async () => {
    await pushImage(token, 'tok/private', 'v1', { format: 'oci' });
    const error = await copy(`${token.host}/tok/private:v1`, `${open.host}/tok/private:v1`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).toContain(`no credentials configured for ${token.host}`);
  });
});
