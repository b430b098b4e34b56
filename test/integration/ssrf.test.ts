// The SSRF guard: a registry (or a redirect, or a token realm it names) must not send the
// service to a loopback, private, link-local or metadata address unless the host is listed in
// IMAGESYNC_ALLOWED_REGISTRIES. Proven with a name-resolution hook and loopback stand-ins: no
// test connects to anything but 127.0.0.0/8.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPatterns as registryAllowlist } from '../../lib/config/host-patterns.ts';
import { serviceGuard } from '../../lib/transport/address-guard.ts';
import { undiciTransport, type LookupFunction } from '../../functions/node/undici-transport.ts';
import { pushImage } from '../harness/images.ts';
import { headManifest } from '../harness/registry-api.ts';
import { startRegistry, type RunningRegistry } from '../harness/registry.ts';
import { startApi, type RunningApi } from './api-support.ts';

let source: RunningRegistry;
let destination: RunningRegistry;
/** Answers every request with a redirect to `?to=`-style targets set per test. */
let redirector: StandIn;
/** Answers 401 with a Bearer challenge naming the realm set per test. */
let challenger: StandIn;
/** Listens on 127.0.0.2 and only counts connections: reaching it would be the failure. */
let trap: StandIn;

interface StandIn {
  host: string;
  port: number;
  connections: number;
  target: string;
  server: Server;
}

async function standIn(address: string, answer: (standIn: StandIn, res: import('node:http').ServerResponse) => void): Promise<StandIn> {
  const self = { host: '', port: 0, connections: 0, target: '', server: undefined as unknown as Server };
  self.server = createServer((_req, res) => answer(self, res));
  self.server.on('connection', () => self.connections++);
  await new Promise<void>((resolve) => self.server.listen(0, address, resolve));
  self.port = (self.server.address() as AddressInfo).port;
  self.host = `${address}:${self.port}`;
  return self;
}

/** Names the tests use, resolved as a DNS server might (a rebinding or a malicious record). */
const names: Record<string, string> = {
  'metadata.test': '169.254.169.254',
  'metadata6.test': 'fd00:ec2::254',
  'private.test': '10.0.0.8',
  'mapped.test': '::ffff:169.254.169.254',
  'trap.test': '127.0.0.2',
  'harbor.internal': '127.0.0.1',
};
const asked: string[] = [];
const lookup: LookupFunction = (hostname, _options, callback) => {
  asked.push(hostname);
  const address = names[hostname];
  if (!address) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
  callback(null, [{ address, family: address.includes(':') ? 6 : 4 }]);
};

beforeAll(async () => {
  [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
  redirector = await standIn('127.0.0.1', (self, res) => res.writeHead(307, { location: self.target }).end());
  challenger = await standIn('127.0.0.1', (self, res) => res.writeHead(401, { 'www-authenticate': `Bearer realm="${self.target}",service="registry"` }).end());
  trap = await standIn('127.0.0.2', (_self, res) => res.end());
});
afterAll(async () => {
  for (const s of [redirector, challenger, trap]) s?.server.close();
  await Promise.all([source?.stop(), destination?.stop()]);
});

/** The API as Lambda runs it: only listed hosts may be anywhere but public addresses. */
async function lambdaLike(list: string[]): Promise<RunningApi> {
  const allowed = list.join(',');
  return startApi({
    env: { IMAGESYNC_ALLOWED_REGISTRIES: allowed },
    transport: undiciTransport({ guard: serviceGuard(registryAllowlist(allowed), false), lookup }),
  });
}

async function expectRefused(api: RunningApi, body: { source: string; destination: string }, detail: RegExp): Promise<void> {
  const answer = await api.call('POST', '/v1/images', body);
  expect(answer.status).toBe(403);
  expect(answer.json.type).toBe('urn:imagesync:problem:address-not-allowed');
  expect(answer.json.detail).toMatch(detail);
  expect((await api.call('GET', '/v1/images')).json.items).toEqual([]);
}

describe('with IMAGESYNC_ALLOWED_REGISTRIES (Lambda: no loopback unless listed)', () => {
  let api: RunningApi;
  beforeAll(async () => {
    api = await lambdaLike([source.host, destination.host, redirector.host, challenger.host, 'trap.test']);
  });
  afterAll(async () => api?.stop());

  it('listed loopback registries work', async () => {
    const pushed = await pushImage(source, 'ssrf/ok', 'v1', { format: 'oci', layers: 1 });
    const created = await api.call('POST', '/v1/images', { source: `${source.host}/ssrf/ok:v1`, destination: `${destination.host}/ssrf/ok:v1` });
    expect(created.status).toBe(201);
    expect((await headManifest(destination, 'ssrf/ok', 'v1')).digestHeader).toBe(pushed.digest);
    await api.call('DELETE', `/v1/images/${created.json.id}`);
  });

  it.each([
    // https: plain http to a host not listed as insecure is refused even before the guard.
    ['the metadata address', 'https://169.254.169.254/latest/meta-data/iam/security-credentials/', /at 169\.254\.169\.254 \(a metadata address\)/],
    ['an IPv4-mapped IPv6 metadata address', 'https://[::ffff:169.254.169.254]/latest/', /\(a metadata address\)/],
    ['a name resolving to a private address', 'https://private.test/v2/', /private\.test at 10\.0\.0\.8 \(a private address\)/],
    ['a loopback address that is not listed', 'http://127.0.0.1:9/v2/', /127\.0\.0\.1:9 at 127\.0\.0\.1 \(a loopback address\)/],
  ])('refuses a redirect to %s', async (_what, target, detail) => {
    redirector.target = target;
    await expectRefused(api, { source: `${redirector.host}/ssrf/redirect:v1`, destination: `${destination.host}/ssrf/redirect:v1` }, detail);
  });

  it.each([
    ['the metadata address', 'https://169.254.169.254/token', /169\.254\.169\.254 \(a metadata address\)/],
    ['a link-local IPv6 address', 'https://[fe80::1]/token', /\(a link-local address\)/],
    ['a name resolving to the IPv6 metadata address', 'https://metadata6.test/token', /metadata6\.test at fd00:ec2::254 \(a metadata address\)/],
  ])('refuses a token realm at %s', async (_what, realm, detail) => {
    challenger.target = realm;
    await expectRefused(api, { source: `${challenger.host}/ssrf/realm:v1`, destination: `${destination.host}/ssrf/realm:v1` }, detail);
    await restartChallenger();
  });

  it('refuses a token realm resolving to an unlisted loopback address, without connecting to it', async () => {
    challenger.target = `https://trap-realm.test:${trap.port}/token`;
    names['trap-realm.test'] = '127.0.0.2';
    await expectRefused(api, { source: `${challenger.host}/ssrf/trap:v1`, destination: `${destination.host}/ssrf/trap:v1` }, /trap-realm\.test:\d+ at 127\.0\.0\.2 \(a loopback address\)/);
    expect(trap.connections).toBe(0);
    expect(asked).toContain('trap-realm.test');
  });

  /** Registry clients remember a registry's challenge: fresh ones (a new API) for the next realm. */
  async function restartChallenger(): Promise<void> {
    await api.stop();
    api = await lambdaLike([source.host, destination.host, redirector.host, challenger.host, 'trap.test']);
  }

  it('a listed host may resolve anywhere: listing is the operator saying so', async () => {
    const answer = await api.call('POST', '/v1/images', { source: `trap.test:${trap.port}/ssrf/listed:v1`, destination: `${destination.host}/ssrf/listed:v1` });
    // trap.test is listed and resolves to the stand-in: the connection is allowed and made.
    expect(answer.status).toBe(502);
    expect(trap.connections).toBeGreaterThan(0);
  });
});

describe('without a list (serve: loopback allowed, nothing else private)', () => {
  let api: RunningApi;
  beforeAll(async () => {
    api = await startApi({ transport: undiciTransport({ guard: serviceGuard(undefined, true), lookup }) });
  });
  afterAll(async () => api?.stop());

  it.each([
    ['a name resolving to the metadata address', 'metadata.test/latest:v1', /metadata\.test at 169\.254\.169\.254 \(a metadata address\)/],
    ['a name resolving to a private address', 'private.test:5000/x:v1', /private\.test:5000 at 10\.0\.0\.8 \(a private address\)/],
    ['a name resolving to IPv4-mapped metadata', 'mapped.test/x:v1', /\(a metadata address\)/],
    ['the metadata address itself', '169.254.169.254/latest:v1', /at 169\.254\.169\.254 \(a metadata address\)/],
    ['an IPv4-mapped IPv6 literal', '[::ffff:a9fe:a9fe]:80/x:v1', /\(a metadata address\)/],
    ['a link-local IPv6 literal', '[fe80::1]:5000/x:v1', /\(a link-local address\)/],
  ])('refuses a source at %s', async (_what, sourceRef, detail) => {
    await expectRefused(api, { source: sourceRef, destination: `${destination.host}/ssrf/none:v1` }, detail);
  });

  it('allows loopback registries', async () => {
    await pushImage(source, 'ssrf/serve', 'v1', { format: 'oci', layers: 1 });
    expect((await api.call('POST', '/v1/images', { source: `${source.host}/ssrf/serve:v1`, destination: `${destination.host}/ssrf/serve:v1` })).status).toBe(201);
  });
});

describe('a private registry listed by name', () => {
  it('is reached at its private address', async () => {
    const port = destination.host.split(':')[1];
    const allowed = `harbor.internal:${port},${source.host}`;
    const api = await startApi({
      env: { IMAGESYNC_ALLOWED_REGISTRIES: allowed, IMAGESYNC_INSECURE_REGISTRIES: 'harbor.internal' },
      transport: undiciTransport({ guard: serviceGuard(registryAllowlist(allowed), false), lookup }),
    });
    try {
      const pushed = await pushImage(source, 'ssrf/harbor', 'v1', { format: 'oci', layers: 1 });
      const created = await api.call('POST', '/v1/images', { source: `${source.host}/ssrf/harbor:v1`, destination: `harbor.internal:${port}/ssrf/harbor:v1` });
      expect(created.status).toBe(201);
      expect((await headManifest(destination, 'ssrf/harbor', 'v1')).digestHeader).toBe(pushed.digest);
    } finally {
      await api.stop();
    }
  });
});
