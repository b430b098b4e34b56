// Credentials stay with the registry's origin, over real sockets and the real undici transport:
// small loopback servers play a hostile registry, the foreign host its redirects lead to, and
// foreign token realms; they record raw headers and bodies, where nothing secret may show up.
// A refused token realm must not cut the registry off: the next request reaches it again
// (counted at the registry), against a loopback registry and against the real docker-registry.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Credential } from '../../lib/auth/credentials.ts';
import { getBlob } from '../../lib/registry/blob.ts';
import { RegistryClient } from '../../lib/registry/client.ts';
import { AuthenticationError } from '../../lib/registry/errors.ts';
import { MANIFEST_ACCEPT } from '../../lib/registry/media-types.ts';
import { ForbiddenAddressError } from '../../lib/transport/address-guard.ts';
import { RefusedUrlError } from '../../lib/transport/errors.ts';
import type { Transport } from '../../lib/transport/types.ts';
import { undiciTransport } from '../../functions/node/undici-transport.ts';
import { pushImage } from '../harness/images.ts';
import { startRegistry, type RunningRegistry } from '../harness/registry.ts';

const PASSWORD = 'Pa55-w0rd-origin-7f3a';
const REFRESH = 'refresh-SECRET-9c2e';
const alice: Credential = { kind: 'basic', username: 'alice', password: PASSWORD };
const identity: Credential = { kind: 'identity', token: REFRESH };
const BASIC_ALICE = `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`;
/** Anything that would show a credential went along, in any form. */
const SECRETS = [PASSWORD, BASIC_ALICE.slice('Basic '.length), REFRESH, 'refresh_token'];

interface Seen {
  method: string;
  url: string;
  rawHeaders: string[];
  body: string;
}

interface Loopback {
  url: string;
  host: string;
  seen: Seen[];
  stop(): Promise<void>;
}

/** A node:http server on 127.0.0.1 that records every request (raw headers, whole body) before answering. */
async function serve(answer: (req: Seen, res: ServerResponse) => void): Promise<Loopback> {
  const seen: Seen[] = [];
  const server = createServer((raw, res) => {
    const chunks: Buffer[] = [];
    raw.on('data', (c: Buffer) => chunks.push(c));
    raw.on('end', () => {
      const req: Seen = { method: raw.method ?? '', url: raw.url ?? '', rawHeaders: raw.rawHeaders, body: Buffer.concat(chunks).toString('latin1') };
      seen.push(req);
      answer(req, res);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `http://${host}`,
    host,
    seen,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function reply(res: ServerResponse, status: number, headers: Record<string, string> = {}, body = ''): void {
  res.writeHead(status, { 'content-length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

const header = (req: Seen, name: string): string | undefined => {
  const i = req.rawHeaders.findIndex((h, j) => j % 2 === 0 && h.toLowerCase() === name);
  return i < 0 ? undefined : req.rawHeaders[i + 1];
};

/** No Authorization header, and no secret anywhere in the request line, raw headers or body. */
function expectNoCredentials(server: Loopback): void {
  for (const req of server.seen) {
    expect(req.rawHeaders.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase())).not.toContain('authorization');
    const raw = [req.method, req.url, ...req.rawHeaders, req.body].join('\n');
    for (const secret of SECRETS) expect(raw).not.toContain(secret);
  }
}

// Hosts the address guard refuses for now, and whether the test checkUrl refuses the realm.
const refusedHosts = new Set<string>();
let checkRefuses = false;
const transport = undiciTransport({
  guard: (host) => {
    if (refusedHosts.has(host)) throw new ForbiddenAddressError(`refusing to connect to ${host} (test guard)`);
  },
});

/** Counts requests per host on their way out (the real registry keeps no count of its own). */
function counted(next: Transport): Transport & { count(host: string): number } {
  const counts = new Map<string, number>();
  const wrapped: Transport = (request) => {
    const host = new URL(request.url).host;
    counts.set(host, (counts.get(host) ?? 0) + 1);
    return next(request);
  };
  return Object.assign(wrapped, { count: (host: string) => counts.get(host) ?? 0 });
}

function clientFor(host: string, credential: Credential | undefined, options: { checkUrl?: (url: URL) => void; transport?: Transport } = {}): RegistryClient {
  return new RegistryClient(host, {
    transport: options.transport ?? transport,
    credentials: () => credential,
    isInsecure: () => true,
    checkUrl: options.checkUrl,
    retry: { retries: 0, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterMs: 0 },
  });
}

const DIGEST = `sha256:${'ab'.repeat(32)}`;

// The foreign side: a token realm that would hand out a token to anyone (so a client that went
// there would carry on), and a storage host that challenges with that realm.
let foreignRealm: Loopback;
let storage: Loopback;
// The registry's side: a Basic registry redirecting blob GETs to storage (`open/` ones before
// asking for credentials, the others after); a Bearer registry whose realm is either one that
// redirects to the foreign realm or one that can be made to refuse.
let basicRegistry: Loopback;
let tokenRegistry: Loopback;
let redirectingRealm: Loopback;
let realm: Loopback;
let realmRedirect = 307;
let realmStatus = 200;
let tokenRegistryRealm = '';
let real: RunningRegistry;

beforeAll(async () => {
  foreignRealm = await serve((_req, res) => reply(res, 200, { 'content-type': 'application/json' }, JSON.stringify({ token: 'foreign-token', access_token: 'foreign-token' })));
  storage = await serve((_req, res) => reply(res, 401, { 'www-authenticate': `Bearer realm="${foreignRealm.url}/token",service="storage"` }, '{"errors":[{"code":"DENIED"}]}'));
  basicRegistry = await serve((req, res) => {
    const toStorage = () => reply(res, 307, { location: `${storage.url}/bucket/blob?X-Sig=SIGNED` });
    if (req.url.startsWith('/v2/open/') && req.url.includes('/blobs/')) return toStorage();
    if (header(req, 'authorization') !== BASIC_ALICE) return reply(res, 401, { 'www-authenticate': 'Basic realm="hostile"' });
    if (req.url.includes('/blobs/')) return toStorage();
    reply(res, 200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': DIGEST });
  });
  redirectingRealm = await serve((_req, res) => reply(res, realmRedirect, { location: `${foreignRealm.url}/token` }));
  realm = await serve((_req, res) => (realmStatus === 200 ? reply(res, 200, { 'content-type': 'application/json' }, '{"token":"good-token","expires_in":300}') : reply(res, realmStatus)));
  tokenRegistry = await serve((req, res) => {
    if (header(req, 'authorization') === 'Bearer good-token') return reply(res, 200, { 'docker-content-digest': DIGEST });
    reply(res, 401, { 'www-authenticate': `Bearer realm="${tokenRegistryRealm}",service="hostile"` });
  });
  real = await startRegistry({ auth: 'token', users: { alice: PASSWORD } });
});

afterAll(async () => {
  await Promise.all([foreignRealm, storage, basicRegistry, redirectingRealm, realm, tokenRegistry].map((s) => s?.stop()));
  await real?.stop();
  await transport.close();
});

beforeEach(() => {
  for (const server of [foreignRealm, storage, basicRegistry, redirectingRealm, realm, tokenRegistry]) server.seen.length = 0;
  refusedHosts.clear();
  checkRefuses = false;
  realmStatus = 200;
});

describe('a redirect target that challenges', () => {
  it('after Basic was accepted: its challenge is not learned, its realm never asked, no credential leaves', async () => {
    const client = clientFor(basicRegistry.host, alice);
    const first = await getBlob(client, 'team/app', DIGEST).catch((e: unknown) => e);
    // Again: a learned foreign challenge would now send the password to the foreign realm.
    const second = await getBlob(client, 'team/other', DIGEST).catch((e: unknown) => e);
    const manifest = await client.send({ method: 'HEAD', path: '/v2/team/app/manifests/v1', scopes: ['repository:team/app:pull'] });

    expect(foreignRealm.seen).toEqual([]);
    expect(manifest.status).toBe(200);
    for (const error of [first, second]) {
      expect(error).toBeInstanceOf(AuthenticationError);
      expect((error as Error).message).toContain(`answered by ${storage.host}, not ${basicRegistry.host}`);
      expect((error as Error).message).not.toContain('SIGNED');
    }
    expect(storage.seen.map((r) => r.url)).toEqual(['/bucket/blob?X-Sig=SIGNED', '/bucket/blob?X-Sig=SIGNED']);
    expectNoCredentials(storage);
    // The registry itself did get Basic: the credential was there to leak.
    expect(basicRegistry.seen.map((r) => header(r, 'authorization'))).toEqual([undefined, BASIC_ALICE, BASIC_ALICE, BASIC_ALICE]);
  });

  it.each<[label: string, credential: Credential | undefined]>([
    ['with credentials', alice],
    ['anonymous', undefined],
  ])('on the first answer (%s): no retry, no token fetch there, no credential leaves', async (_label, credential) => {
    const client = clientFor(basicRegistry.host, credential);
    await expect(getBlob(client, 'open/app', DIGEST)).rejects.toBeInstanceOf(AuthenticationError);
    await expect(getBlob(client, 'open/app', DIGEST)).rejects.toBeInstanceOf(AuthenticationError);
    expect(foreignRealm.seen).toEqual([]);
    expect(basicRegistry.seen).toHaveLength(2);
    expect(storage.seen).toHaveLength(2);
    for (const server of [basicRegistry, storage]) expectNoCredentials(server);
  });
});

describe('a token realm redirecting to another origin', () => {
  beforeAll(() => {
    tokenRegistryRealm = `${redirectingRealm.url}/token`;
  });

  it.each<[status: number, label: string, credential: Credential]>(
    [301, 302, 303, 307, 308].flatMap((status) => [
      [status, 'basic', alice],
      [status, 'identity', identity],
    ] as [number, string, Credential][]),
  )('%i with %s credentials: refused, the foreign realm sees nothing, the error names hosts only', async (status, _label, credential) => {
    realmRedirect = status;
    const client = clientFor(tokenRegistry.host, credential);
    const error = await client.send({ method: 'HEAD', path: '/v2/team/app/manifests/v1', scopes: ['repository:team/app:pull'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RefusedUrlError);
    const message = (error as Error).message;
    expect(message).toContain(redirectingRealm.host);
    expect(message).toContain(foreignRealm.host);
    for (const secret of SECRETS) expect(message).not.toContain(secret);
    expect(message).not.toContain('scope=');

    expect(foreignRealm.seen).toEqual([]);
    // The registry's own realm did get the credential: it was there to be forwarded.
    expect(redirectingRealm.seen).toHaveLength(1);
    const asked = redirectingRealm.seen[0]!;
    if (credential.kind === 'basic') expect(header(asked, 'authorization')).toBe(BASIC_ALICE);
    else expect(new URLSearchParams(asked.body).get('refresh_token')).toBe(REFRESH);
    expectNoCredentials(tokenRegistry);
  });

  it('an anonymous token request may follow it (nothing secret goes along)', async () => {
    realmRedirect = 307;
    const client = clientFor(tokenRegistry.host, undefined);
    const response = await client.send({ method: 'HEAD', path: '/v2/team/app/manifests/v1', scopes: ['repository:team/app:pull'] });
    // The foreign token is not the registry's: it answers 401 again, returned as is.
    expect(response.status).toBe(401);
    expect(foreignRealm.seen).toHaveLength(1);
    expectNoCredentials(foreignRealm);
  });
});

describe('after a token realm was refused', () => {
  beforeAll(() => {
    tokenRegistryRealm = `${realm.url}/token`;
  });

  const head = (client: RegistryClient, repository: string) =>
    client.send({ method: 'HEAD', path: `/v2/${repository}/manifests/v1`, scopes: [`repository:${repository}:pull`], headers: { accept: MANIFEST_ACCEPT } });

  const checkUrl = (url: URL) => {
    if (checkRefuses && url.host === realm.host) throw new RefusedUrlError(`refusing ${url.host} (test policy)`);
  };

  it.each<[label: string, refuse: (on: boolean) => void, expected: new (...args: never[]) => Error]>([
    ['by the address guard', (on) => void (on ? refusedHosts.add(realm.host) : refusedHosts.delete(realm.host)), ForbiddenAddressError],
    ['by checkUrl', (on) => void (checkRefuses = on), RefusedUrlError],
    ['with 403 by the token service', (on) => void (realmStatus = on ? 403 : 200), AuthenticationError],
  ])('%s: the next request, any repository, reaches the registry again; it recovers once the realm works', async (_label, refuse, expected) => {
    const client = clientFor(tokenRegistry.host, alice, { checkUrl });
    refuse(true);
    await expect(head(client, 'team/a')).rejects.toBeInstanceOf(expected);
    expect(tokenRegistry.seen).toHaveLength(1);
    await expect(head(client, 'team/b')).rejects.toBeInstanceOf(expected);
    await expect(head(client, 'team/a')).rejects.toBeInstanceOf(expected);
    expect(tokenRegistry.seen).toHaveLength(3);
    refuse(false);
    expect((await head(client, 'team/c')).status).toBe(200);
    expect(tokenRegistry.seen.slice(3).map((r) => header(r, 'authorization'))).toEqual([undefined, 'Bearer good-token']);
    expect(header(realm.seen.at(-1)!, 'authorization')).toBe(BASIC_ALICE);
  });

  it('parallel requests failing together: the next request still reaches the registry', async () => {
    const client = clientFor(tokenRegistry.host, alice);
    realmStatus = 403;
    const settled = await Promise.allSettled(Array.from({ length: 4 }, () => head(client, 'team/a')));
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    expect(tokenRegistry.seen).toHaveLength(4);
    await expect(head(client, 'team/a')).rejects.toBeInstanceOf(AuthenticationError);
    expect(tokenRegistry.seen).toHaveLength(5);
    realmStatus = 200;
    expect((await head(client, 'team/a')).status).toBe(200);
    expect(tokenRegistry.seen).toHaveLength(7);
  });

  it('against the real docker-registry: refused realm, the registry asked again, then a fresh token reads the manifest', async () => {
    const pushed = await pushImage(real, 'origin/app', 'v1', { format: 'oci' });
    const server = real.tokenServer!;
    const realmHost = new URL(server.realm).host;
    const counting = counted(transport);
    const client = clientFor(real.host, alice, { transport: counting });
    const before = server.requests.length;
    refusedHosts.add(realmHost);
    await expect(head(client, 'origin/app')).rejects.toBeInstanceOf(ForbiddenAddressError);
    expect(counting.count(real.host)).toBe(1);
    await expect(head(client, 'origin/other')).rejects.toBeInstanceOf(ForbiddenAddressError);
    expect(counting.count(real.host)).toBe(2);
    expect(server.requests.length).toBe(before);
    refusedHosts.delete(realmHost);
    const response = await head(client, 'origin/app');
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-content-digest')).toBe(pushed.digest);
    expect(counting.count(real.host)).toBe(4);
    expect(server.requests.slice(before)).toEqual([{ method: 'GET', scopes: ['repository:origin/app:pull'], user: 'alice', status: 200 }]);
  });
});
