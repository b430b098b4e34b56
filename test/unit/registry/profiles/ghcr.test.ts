// The GHCR profile's pure parts and its GitHub Packages API client against a fake API: how a
// repository names a package, what a listing page holds, the token's scopes, rate limits, and how
// far a listing is read (the bounds on pages).
import { describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../../lib/registry/client.ts';
import { RegistryError } from '../../../../lib/registry/errors.ts';
import { ghcrProfile, isGhcr } from '../../../../lib/registry/profiles/ghcr.ts';
import { GitHubPackages, isRateLimited, MAX_PAGES, packageOf, parseScopes, parseVersions, PER_PAGE } from '../../../../lib/registry/profiles/github-api.ts';
import { fakeTransport, status } from '../../fakes/transport.ts';

const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
const version = (n: number, tags: string[] = []) => ({ id: n, name: digest(n), metadata: { package_type: 'container', container: { tags } } });
const json = (code: number, body: unknown, headers: Record<string, string> = {}) => status(code, { 'content-type': 'application/json', ...headers }, JSON.stringify(body));

describe('the GHCR profile', () => {
  it.each([
    ['ghcr.io', true],
    ['ghcr.io:5000', true],
    ['GHCR.io', true],
    ['ghcr.io.example.com', false],
    ['notghcr.io', false],
    ['docker.io', false],
  ])('%s is GHCR: %s', (registry, expected) => {
    expect(isGhcr(registry)).toBe(expected);
  });

  it('keeps chunks at 4 MiB (a larger PATCH answers 416) and deletes by its own means', () => {
    const profile = ghcrProfile();
    expect(profile.upload).toMatchObject({ mode: 'whole', chunkSize: 4 * 1024 * 1024, maxChunk: 4 * 1024 * 1024 });
    expect(profile.removeImage).toBeTypeOf('function');
  });
});

describe('packageOf', () => {
  it.each([
    ['octo-org/app', { owner: 'octo-org', name: 'app' }],
    ['octo-org/team/app', { owner: 'octo-org', name: 'team/app' }],
    ['app', undefined],
    ['/app', undefined],
    ['owner/', undefined],
  ])('%s', (repository, expected) => {
    expect(packageOf(repository)).toEqual(expected);
  });
});

describe('parseVersions', () => {
  it('reads id, digest and tags of each version, as the API documents them', () => {
    const page = JSON.stringify([version(1, ['latest', 'v1']), version(2), { id: 3, name: digest(3), metadata: { package_type: 'container' } }]);
    expect(parseVersions(page)).toEqual([
      { id: 1, digest: digest(1), tags: ['latest', 'v1'] },
      { id: 2, digest: digest(2), tags: [] },
      { id: 3, digest: digest(3), tags: [] },
    ]);
  });

  it('skips entries that are not container versions (no numeric id, a name that is no digest)', () => {
    const page = JSON.stringify([{ id: '4', name: digest(4) }, { id: 5, name: 'latest' }, { id: -6, name: digest(6) }, null, { id: 7, name: digest(7), metadata: { container: { tags: ['ok', 8] } } }]);
    expect(parseVersions(page)).toEqual([{ id: 7, digest: digest(7), tags: ['ok'] }]);
  });

  it('refuses what is not a list of versions', () => {
    expect(() => parseVersions('{"message":"Not Found"}')).toThrow('not an array of versions');
    expect(() => parseVersions('<html>')).toThrow('not JSON');
  });
});

describe('parseScopes and isRateLimited', () => {
  it('reads X-OAuth-Scopes; no header (or an empty one) says nothing', () => {
    expect(parseScopes('read:packages, write:packages,delete:packages')).toEqual(['read:packages', 'write:packages', 'delete:packages']);
    expect(parseScopes(null)).toBeUndefined();
    expect(parseScopes(' ')).toBeUndefined();
  });

  it.each([
    [403, { 'x-ratelimit-remaining': '0' }, true],
    [429, { 'retry-after': '60' }, true],
    [403, { 'retry-after': '30' }, true],
    [403, { 'x-ratelimit-remaining': '4000' }, false],
    [401, { 'x-ratelimit-remaining': '0' }, false],
  ])('%d with %j is a rate limit: %s', (code, headers, expected) => {
    expect(isRateLimited(status(code, headers))).toBe(expected);
  });
});

describe('GitHubPackages', () => {
  const API = 'https://api.github.com';
  const client = (responder: Parameters<typeof fakeTransport>[0]) => {
    const transport = fakeTransport(responder);
    const registry = new RegistryClient('ghcr.io', { transport, isInsecure: () => false, retry: { retries: 0, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterMs: 0 } });
    return { transport, packages: new GitHubPackages(registry, API, 'ghp_secret', { owner: 'octocat', name: 'team/app' }) };
  };

  it("finds an organization's package, else a user's; sends the token to the API only, and the name URL-encoded", async () => {
    const { transport, packages } = client((request) => (request.url.includes('/orgs/') ? json(404, { message: 'Not Found' }) : json(200, [version(1)], { 'x-oauth-scopes': 'write:packages' })));
    expect(await packages.open()).toEqual({ kind: 'found', scopes: ['write:packages'] });
    expect(transport.calls.map((call) => call.url)).toEqual([
      `${API}/orgs/octocat/packages/container/team%2Fapp/versions?per_page=1&page=1`,
      `${API}/users/octocat/packages/container/team%2Fapp/versions?per_page=1&page=1`,
    ]);
    expect(transport.calls.every((call) => call.headers.authorization === 'Bearer ghp_secret')).toBe(true);
  });

  it('says when the package is unknown, or the token refused; a rate limit is an error to retry later', async () => {
    expect(await client(() => json(404, { message: 'Not Found' })).packages.open()).toEqual({ kind: 'missing' });
    expect(await client(() => json(403, { message: 'Forbidden' })).packages.open()).toEqual({ kind: 'refused', status: 403 });
    const limited = await client(() => json(403, { message: 'API rate limit exceeded' }, { 'x-ratelimit-remaining': '0' })).packages.open().catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RegistryError);
    expect((limited as Error).message).toBe('ghcr.io: GitHub API: list versions of package octocat/team/app failed: 403 TOOMANYREQUESTS: API rate limit exceeded');
    expect((limited as Error).message).not.toContain('ghp_secret');
  });

  it('reads pages until every wanted digest is found, and knows when it read them all', async () => {
    const all = Array.from({ length: 250 }, (_, i) => version(i + 1));
    const { transport, packages } = client((request) => {
      const url = new URL(request.url);
      const page = Number(url.searchParams.get('page'));
      const per = Number(url.searchParams.get('per_page'));
      return json(200, all.slice((page - 1) * per, page * per));
    });
    await packages.open();
    const early = await packages.find(new Set([digest(5), digest(150)]));
    expect(early).toEqual({ ids: new Map([[digest(5), 5], [digest(150), 150]]), seen: 200, complete: false });
    const whole = await packages.find(new Set([digest(999)]));
    expect(whole).toEqual({ ids: new Map(), seen: 250, complete: true });
    expect(transport.calls.filter((call) => call.url.includes(`per_page=${PER_PAGE}`))).toHaveLength(2 + 3);
  });

  it(`reads at most ${MAX_PAGES} pages of a listing that never ends`, async () => {
    let n = 0;
    const { transport, packages } = client((request) => json(200, request.url.includes('per_page=1&') ? [version(1)] : Array.from({ length: PER_PAGE }, () => version(++n))));
    await packages.open();
    const search = await packages.find(new Set([digest(0)]));
    expect(search).toMatchObject({ seen: MAX_PAGES * PER_PAGE, complete: false });
    expect(transport.calls).toHaveLength(1 + MAX_PAGES);
  });

  it('refuses a page with more versions than asked for', async () => {
    const { packages } = client((request) => json(200, request.url.includes('per_page=1&') ? [version(1)] : Array.from({ length: PER_PAGE + 1 }, (_, i) => version(i + 1))));
    await packages.open();
    await expect(packages.find(new Set([digest(1)]))).rejects.toThrow(/more than the 100 versions asked for/);
  });

  it('deletes a version: 204 deleted, 404 absent, 401/403/400 a refusal with GitHub\'s message', async () => {
    const answers = [json(200, [version(1)]), status(204), json(404, { message: 'Not Found' }), json(403, { message: 'Resource not accessible' }), json(400, { message: 'You cannot delete the last version of a package.' })];
    const { transport, packages } = client(answers);
    await packages.open();
    expect(await packages.delete(7)).toBe('deleted');
    expect(await packages.delete(7)).toBe('absent');
    expect(await packages.delete(7)).toEqual({ status: 403, message: 'Resource not accessible' });
    expect(await packages.delete(7)).toEqual({ status: 400, message: 'You cannot delete the last version of a package.' });
    expect(transport.calls[1]).toMatchObject({ method: 'DELETE', url: `${API}/orgs/octocat/packages/container/team%2Fapp/versions/7` });
  });
});
