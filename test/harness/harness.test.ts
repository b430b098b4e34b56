// Proves the integration-test harness itself works, against the real registry and skopeo,
// so that later failures point at lib/ and not at the tools used to check it.
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from './fault-proxy.ts';
import { MEDIA_TYPES, pushBlob, pushImage, pushIndex, randomLayer, sha256Digest } from './images.ts';
import { freePort } from './ports.ts';
import { parseChallenges, type Target } from './raw-client.ts';
import {
  deleteManifest,
  getBlob,
  getManifest,
  headBlob,
  headManifest,
  listTags,
  skopeoCopy,
  skopeoInspectRaw,
} from './registry-api.ts';
import { basicAuthHeader, startRegistry, type RunningRegistry } from './registry.ts';

const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

function jwtParts(token: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [h, c] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h!, 'base64url').toString()) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(c!, 'base64url').toString()) as Record<string, unknown>,
  };
}

/** Reads a response body chunk by chunk; reports how many bytes came before an error, if any. */
async function drain(res: Response): Promise<{ bytes: number; error?: unknown }> {
  let bytes = 0;
  const reader = res.body!.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes };
      bytes += value.byteLength;
    }
  } catch (error) {
    return { bytes, error };
  }
}

/** Asserts the manifest stored under repo:ref is exactly `bytes` and `digest`. */
async function expectManifest(target: Target, repo: string, ref: string, bytes: Uint8Array, digest: string, mediaType: string) {
  const got = await getManifest(target, repo, ref);
  expect(got.status).toBe(200);
  expect(Buffer.from(got.bytes).equals(Buffer.from(bytes))).toBe(true);
  expect(`sha256:${sha256Hex(got.bytes)}`).toBe(digest);
  expect(got.digestHeader).toBe(digest);
  expect(got.contentType).toBe(mediaType);
}

describe('freePort', () => {
  it('returns a port that can be bound on loopback', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(1023);
    const server = createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
    await new Promise((resolve) => server.close(resolve));
  });
});

describe('parseChallenges', () => {
  it('splits several challenges and reads quoted parameters', () => {
    const got = parseChallenges(
      'Bearer realm="http://127.0.0.1:1/token",service="svc",scope="repository:a/b:pull,push", Basic realm="x y"',
    );
    expect(got).toEqual([
      { scheme: 'bearer', params: { realm: 'http://127.0.0.1:1/token', service: 'svc', scope: 'repository:a/b:pull,push' } },
      { scheme: 'basic', params: { realm: 'x y' } },
    ]);
  });
});

describe('anonymous registry', () => {
  let reg: RunningRegistry;
  let relative: RunningRegistry;
  let other: RunningRegistry;
  beforeAll(async () => {
    [reg, relative, other] = await Promise.all([
      startRegistry(),
      startRegistry({ relativeUrls: true, storage: 'inmemory' }),
      startRegistry(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([reg?.stop(), relative?.stop(), other?.stop()]);
  });

  it('answers /v2/ with 200', async () => {
    const res = await fetch(`${reg.url}/v2/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(reg.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(reg.url).toBe(`http://${reg.host}`);
  });

  it('answers an absolute upload Location by default and a relative one with relativeUrls', async () => {
    const abs = await fetch(`${reg.url}/v2/loc/blobs/uploads/`, { method: 'POST' });
    expect(abs.status).toBe(202);
    expect(abs.headers.get('location')).toMatch(new RegExp(`^http://${reg.host}/v2/loc/blobs/uploads/`));
    const rel = await fetch(`${relative.url}/v2/loc/blobs/uploads/`, { method: 'POST' });
    expect(rel.status).toBe(202);
    expect(rel.headers.get('location')).toMatch(/^\/v2\/loc\/blobs\/uploads\/[^?]+\?_state=/);
  });

  it('pushes blobs through relative Locations too', async () => {
    const bytes = randomLayer(4096);
    const desc = await pushBlob(relative, 'rel/blob', bytes);
    expect(desc.digest).toBe(sha256Digest(bytes));
    expect(Buffer.from((await getBlob(relative, 'rel/blob', desc.digest))!).equals(Buffer.from(bytes))).toBe(true);
  });

  for (const format of ['oci', 'docker'] as const) {
    it(`round-trips a ${format} image byte for byte`, async () => {
      const img = await pushImage(reg, `single/${format}`, 'v1', { format, layers: 2, layerSize: 2048 });
      expect(img.mediaType).toBe(MEDIA_TYPES[format].manifest);
      expect(img.digest).toBe(`sha256:${sha256Hex(img.manifest)}`);
      await expectManifest(reg, `single/${format}`, 'v1', img.manifest, img.digest, img.mediaType);
      await expectManifest(reg, `single/${format}`, img.digest, img.manifest, img.digest, img.mediaType);
      const manifest = JSON.parse(text(img.manifest)) as { config: { mediaType: string }; layers: { mediaType: string }[] };
      expect(manifest.config.mediaType).toBe(MEDIA_TYPES[format].config);
      expect(manifest.layers.map((l) => l.mediaType)).toEqual([MEDIA_TYPES[format].layer, MEDIA_TYPES[format].layer]);
      for (const d of [img.config, ...img.layers]) {
        const blob = await getBlob(reg, `single/${format}`, d.digest);
        expect(blob?.byteLength).toBe(d.size);
        expect(sha256Digest(blob!)).toBe(d.digest);
      }
      const head = await headManifest(reg, `single/${format}`, 'v1');
      expect(head).toEqual({ status: 200, contentType: img.mediaType, digestHeader: img.digest, size: img.manifest.byteLength });
    });

    it(`round-trips a ${format} index whose children share a layer`, async () => {
      const repo = `multi/${format}`;
      const idx = await pushIndex(reg, repo, 'latest', { format, sharedLayer: true, layers: 2 });
      expect(idx.mediaType).toBe(MEDIA_TYPES[format].index);
      await expectManifest(reg, repo, 'latest', idx.manifest, idx.digest, idx.mediaType);
      expect(idx.children).toHaveLength(2);
      expect(idx.children[0]!.layers[0]!.digest).toBe(idx.children[1]!.layers[0]!.digest);
      expect(idx.children[0]!.layers[1]!.digest).not.toBe(idx.children[1]!.layers[1]!.digest);
      expect(idx.children[0]!.config.digest).not.toBe(idx.children[1]!.config.digest);
      const parsed = JSON.parse(text(idx.manifest)) as { manifests: { digest: string; platform: { architecture: string } }[] };
      expect(parsed.manifests.map((m) => m.platform.architecture)).toEqual(['amd64', 'arm64']);
      for (const child of idx.children) {
        expect(parsed.manifests.some((m) => m.digest === child.digest)).toBe(true);
        await expectManifest(reg, repo, child.digest, child.manifest, child.digest, child.mediaType);
      }
      expect(await listTags(reg, repo)).toEqual(['latest']); // children went in by digest only
    });
  }

  it('gives different digests to images pushed twice with the same options', async () => {
    const a = await pushImage(reg, 'unique/img', 'a', { format: 'oci' });
    const b = await pushImage(reg, 'unique/img', 'b', { format: 'oci' });
    expect(a.config.digest).not.toBe(b.config.digest);
    expect(a.digest).not.toBe(b.digest);
  });

  it('lists tags, deletes by digest and reports an emptied repository as []', async () => {
    const img = await pushImage(reg, 'del/me', 't1', { format: 'docker' });
    await pushImage(reg, 'del/me', 't2', { format: 'docker' }).then((i) => deleteManifest(reg, 'del/me', i.digest));
    expect(await listTags(reg, 'del/me')).toEqual(['t1']);
    expect(await deleteManifest(reg, 'del/me', img.digest)).toBe(202);
    expect(await listTags(reg, 'del/me')).toEqual([]);
    expect((await getManifest(reg, 'del/me', 't1')).status).toBe(404);
    expect(await headBlob(reg, 'del/me', img.config.digest)).toBe(200); // blobs stay until GC
    expect(await headBlob(reg, 'del/me', sha256Digest(new Uint8Array([1])))).toBe(404);
    expect(await getBlob(reg, 'del/me', sha256Digest(new Uint8Array([1])))).toBeUndefined();
    expect(await listTags(reg, 'never/pushed')).toEqual([]);
  });

  it('agrees with skopeo inspect --raw and survives a skopeo copy with the same digests', async () => {
    const idx = await pushIndex(reg, 'skopeo/src', 'v1', { format: 'oci' });
    const raw = await skopeoInspectRaw(`${reg.host}/skopeo/src:v1`);
    expect(Buffer.from(raw).equals(Buffer.from(idx.manifest))).toBe(true);
    await skopeoCopy(`docker://${reg.host}/skopeo/src:v1`, `${other.host}/skopeo/dst:v1`);
    await expectManifest(other, 'skopeo/dst', 'v1', idx.manifest, idx.digest, idx.mediaType);
    for (const child of idx.children) {
      await expectManifest(other, 'skopeo/dst', child.digest, child.manifest, child.digest, child.mediaType);
    }
  });
});

describe('htpasswd registry', () => {
  let reg: RunningRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'htpasswd', users: { alice: 'wonderland', bob: 'builder' } });
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('answers 401 with a Basic challenge without credentials and 200 with them', async () => {
    const anon = await fetch(`${reg.url}/v2/`);
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    expect(reg.username).toBe('alice');
    expect(reg.auth).toEqual({ username: 'alice', password: 'wonderland' });
    expect((await fetch(`${reg.url}/v2/`, { headers: { authorization: basicAuthHeader('alice', 'wonderland') } })).status).toBe(200);
    expect((await fetch(`${reg.url}/v2/`, { headers: { authorization: basicAuthHeader('bob', 'builder') } })).status).toBe(200);
    expect((await fetch(`${reg.url}/v2/`, { headers: { authorization: basicAuthHeader('alice', 'wrong') } })).status).toBe(401);
  });

  it('lets the harness push and read back with Basic credentials', async () => {
    const img = await pushImage(reg, 'private/app', 'v1', { format: 'oci' });
    await expectManifest(reg, 'private/app', 'v1', img.manifest, img.digest, img.mediaType);
    expect((await getManifest({ url: reg.url }, 'private/app', 'v1')).status).toBe(401);
    const raw = await skopeoInspectRaw(`${reg.host}/private/app:v1`, reg.auth);
    expect(Buffer.from(raw).equals(Buffer.from(img.manifest))).toBe(true);
  });
});

describe('token registry', () => {
  let reg: RunningRegistry;
  let open: RunningRegistry;
  beforeAll(async () => {
    [reg, open] = await Promise.all([
      startRegistry({ auth: 'token', token: { expiresIn: 120, refreshTokens: { 'refresh-me': 'alice' } } }),
      startRegistry({ auth: 'token', token: { anonymousPull: true } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([reg?.stop(), open?.stop()]);
  });

  it('answers 401 with a Bearer challenge naming the token server', async () => {
    const res = await fetch(`${reg.url}/v2/`);
    expect(res.status).toBe(401);
    const [challenge] = parseChallenges(res.headers.get('www-authenticate')!);
    expect(challenge).toEqual({ scheme: 'bearer', params: { realm: reg.tokenServer!.realm, service: reg.tokenServer!.service } });
    expect(reg.tokenServer!.realm).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/token$/);
  });

  it('issues ES256 JWTs the registry accepts for push, pull and skopeo', async () => {
    const before = reg.tokenServer!.requests.length;
    const img = await pushImage(reg, 'tok/app', 'v1', { format: 'docker' });
    await expectManifest(reg, 'tok/app', 'v1', img.manifest, img.digest, img.mediaType);
    const asked = reg.tokenServer!.requests.slice(before);
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every((r) => r.user === 'alice' && r.status === 200)).toBe(true);
    expect(asked.flatMap((r) => r.scopes)).toContain('repository:tok/app:pull,push');
    const raw = await skopeoInspectRaw(`${reg.host}/tok/app:v1`, reg.auth);
    expect(Buffer.from(raw).equals(Buffer.from(img.manifest))).toBe(true);
  });

  it('grants what users ask for, in repeated and space-separated scopes', async () => {
    const url = new URL(reg.tokenServer!.realm);
    url.searchParams.set('service', reg.tokenServer!.service);
    url.searchParams.append('scope', 'repository:a/b:pull,push repository:c:pull');
    url.searchParams.append('scope', 'registry:catalog:*');
    const res = await fetch(url, { headers: { authorization: basicAuthHeader(reg.username!, reg.password!) } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; access_token: string; expires_in: number; issued_at: string };
    expect(body.access_token).toBe(body.token);
    expect(body.expires_in).toBe(120);
    const { header, claims } = jwtParts(body.token);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'JWT' });
    expect(header.x5c).toHaveLength(1);
    expect(claims).toMatchObject({ iss: reg.tokenServer!.issuer, sub: 'alice', aud: reg.tokenServer!.service });
    expect((claims.exp as number) - (claims.iat as number)).toBe(120);
    expect(claims.access).toEqual([
      { type: 'repository', name: 'a/b', actions: ['pull', 'push'] },
      { type: 'repository', name: 'c', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
    const wrong = await fetch(url, { headers: { authorization: basicAuthHeader('alice', 'nope') } });
    expect(wrong.status).toBe(401);
    expect(reg.tokenServer!.requests.at(-1)).toMatchObject({ status: 401, user: 'alice' });
  });

  it('gives anonymous users nothing unless anonymousPull is set, and then only pull', async () => {
    await pushImage(reg, 'tok/anon', 'v1', { format: 'oci' });
    expect((await getManifest({ url: reg.url }, 'tok/anon', 'v1')).status).toBe(401);

    const pub = await pushImage(open, 'pub/app', 'v1', { format: 'oci' });
    await expectManifest({ url: open.url }, 'pub/app', 'v1', pub.manifest, pub.digest, pub.mediaType);
    await expect(pushImage({ url: open.url }, 'pub/app', 'v2', { format: 'oci' })).rejects.toThrow(/401/);
    expect(open.tokenServer!.requests.some((r) => r.user === undefined && r.status === 200)).toBe(true);
  });

  it('deletes with a delete-scoped token', async () => {
    const img = await pushImage(reg, 'tok/del', 'v1', { format: 'oci' });
    expect(await deleteManifest(reg, 'tok/del', img.digest)).toBe(202);
    expect(reg.tokenServer!.requests.at(-1)).toMatchObject({ scopes: ['repository:tok/del:delete'], status: 200 });
    expect(await listTags(reg, 'tok/del')).toEqual([]);
  });

  it('supports the OAuth2 POST flow with password and refresh_token grants', async () => {
    const img = await pushImage(reg, 'tok/oauth', 'v1', { format: 'oci' });
    const ts = reg.tokenServer!;
    const post = (form: Record<string, string>) =>
      fetch(ts.realm, {
        method: 'POST',
        body: new URLSearchParams({ service: ts.service, client_id: 'harness', scope: 'repository:tok/oauth:pull', ...form }),
      });
    const useToken = async (token: string) =>
      (await fetch(`${reg.url}/v2/tok/oauth/manifests/${img.digest}`, {
        headers: { authorization: `Bearer ${token}`, accept: img.mediaType },
      })).status;

    const pw = await post({ grant_type: 'password', username: 'alice', password: reg.password!, access_type: 'offline' });
    expect(pw.status).toBe(200);
    const pwBody = (await pw.json()) as { access_token: string; expires_in: number; refresh_token: string };
    expect(pwBody.expires_in).toBe(120);
    expect(await useToken(pwBody.access_token)).toBe(200);
    expect(ts.refreshTokens.get(pwBody.refresh_token)).toBe('alice');

    const rt = await post({ grant_type: 'refresh_token', refresh_token: 'refresh-me' });
    expect(rt.status).toBe(200);
    expect(await useToken(((await rt.json()) as { access_token: string }).access_token)).toBe(200);

    expect((await post({ grant_type: 'refresh_token', refresh_token: 'unknown' })).status).toBe(401);
    expect((await post({ grant_type: 'password', username: 'alice', password: 'nope' })).status).toBe(401);
    expect(ts.requests.filter((r) => r.method === 'POST').map((r) => [r.grant, r.status])).toEqual([
      ['password', 200],
      ['refresh_token', 200],
      ['refresh_token', 401],
      ['password', 401],
    ]);
  });
});

describe('fault proxy', () => {
  let reg: RunningRegistry;
  let proxy: FaultProxy;
  const through = (): Target => ({ url: proxy.url });
  beforeAll(async () => {
    reg = await startRegistry();
    proxy = await startFaultProxy(reg.url);
  });
  afterAll(async () => {
    await proxy?.stop();
    await reg?.stop();
  });

  it('passes everything through, with upload Locations pointing at the proxy', async () => {
    const res = await fetch(`${proxy.url}/v2/px/blobs/uploads/`, { method: 'POST' });
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toMatch(new RegExp(`^http://${proxy.host}/v2/px/blobs/uploads/`));
    proxy.clear();
    const idx = await pushIndex(through(), 'px/app', 'v1', { format: 'docker', layerSize: 100_000 });
    await expectManifest(reg, 'px/app', 'v1', idx.manifest, idx.digest, idx.mediaType);
    expect(proxy.requests.filter((r) => r.method === 'PUT').length).toBeGreaterThan(4);
    expect(proxy.requests.every((r) => r.url.startsWith('/v2/px/app/'))).toBe(true);
  });

  it('answers 429 with Retry-After the configured number of times, then passes through', async () => {
    proxy.clear();
    const rule = proxy.fail({ match: (r) => r.url === '/v2/', times: 2, action: { status: 429, retryAfter: '1' } });
    const statuses: [number, string | null][] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${proxy.url}/v2/`);
      await res.arrayBuffer();
      statuses.push([res.status, res.headers.get('retry-after')]);
    }
    expect(statuses).toEqual([[429, '1'], [429, '1'], [200, null]]);
    expect(rule.hits).toBe(2);
    expect(proxy.requests).toEqual(Array.from({ length: 3 }, () => ({ method: 'GET', url: '/v2/' })));
  });

  it('only faults matching requests, and other statuses work on uploads', async () => {
    proxy.clear();
    const rule = proxy.fail({ match: (r) => r.method === 'PUT', times: 1, action: { status: 503 } });
    await expect(pushBlob(through(), 'px/up', randomLayer(10))).rejects.toThrow(/expected 201, got 503/);
    const ok = await pushBlob(through(), 'px/up', randomLayer(10)); // the rule is used up
    expect(await headBlob(reg, 'px/up', ok.digest)).toBe(200);
    expect(rule.hits).toBe(1);
  });

  it('cuts the connection after the configured number of body bytes', async () => {
    const img = await pushImage(reg, 'px/cut', 'v1', { format: 'oci', layerSize: 200_000 });
    const layer = img.layers[0]!;
    proxy.clear();
    const rule = proxy.fail({ match: (r) => r.url.includes('/blobs/'), times: 1, action: { cut: 1000 } });
    const res = await fetch(`${proxy.url}/v2/px/cut/blobs/${layer.digest}`);
    expect(res.status).toBe(200);
    expect(Number(res.headers.get('content-length'))).toBe(layer.size);
    const got = await drain(res);
    expect(got.error).toBeDefined();
    expect(got.bytes).toBe(1000);
    expect(rule.hits).toBe(1);
    const again = await fetch(`${proxy.url}/v2/px/cut/blobs/${layer.digest}`);
    expect(await drain(again)).toEqual({ bytes: layer.size });
  });

  it('cut 0 sends headers and no body', async () => {
    const img = await pushImage(reg, 'px/cut0', 'v1', { format: 'oci' });
    proxy.fail({ match: (r) => r.url.includes('/blobs/'), times: 1, action: { cut: 0 } });
    const res = await fetch(`${proxy.url}/v2/px/cut0/blobs/${img.layers[0]!.digest}`);
    expect(res.status).toBe(200);
    const got = await drain(res);
    expect(got).toMatchObject({ bytes: 0 });
    expect(got.error).toBeDefined();
  });

  it('corrupts exactly one byte of the body, keeping its length', async () => {
    const img = await pushImage(reg, 'px/bad', 'v1', { format: 'oci', layerSize: 5000 });
    const layer = img.layers[0]!;
    const good = (await getBlob(reg, 'px/bad', layer.digest))!;
    const rule = proxy.fail({ match: (r) => r.url.endsWith(layer.digest), times: 1, action: { corrupt: true } });
    const bad = (await getBlob(through(), 'px/bad', layer.digest))!;
    expect(bad.byteLength).toBe(good.byteLength);
    expect(sha256Digest(bad)).not.toBe(layer.digest);
    expect([...bad].filter((b, i) => b !== good[i])).toHaveLength(1);
    expect(rule.hits).toBe(1);
    expect(sha256Digest((await getBlob(through(), 'px/bad', layer.digest))!)).toBe(layer.digest);
  });

  it('drops connections without an answer', async () => {
    proxy.fail({ match: () => true, times: 1, action: { drop: true } });
    await expect(fetch(`${proxy.url}/v2/`)).rejects.toThrow();
    expect((await fetch(`${proxy.url}/v2/`)).status).toBe(200);
  });
});
