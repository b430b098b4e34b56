// A Docker-style token server for registries configured with `auth.token`: it hands out
// ES256 JWTs signed by a throwaway self-signed certificate that the registry trusts
// through `rootcertbundle`. Tests read `requests` to see which tokens were asked for.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { KeyObject, randomBytes, randomUUID, sign, webcrypto } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readBody } from './read-body.ts';

export interface Access {
  type: string;
  name: string;
  actions: string[];
}

export interface TokenServerOptions {
  /** username → password */
  users: Record<string, string>;
  /** Anonymous requests get `pull` on repositories; otherwise they get a token granting nothing. */
  anonymousPull?: boolean;
  service?: string;
  issuer?: string;
  /** Token lifetime in seconds (default 300). */
  expiresIn?: number;
  /** refresh token → username, accepted by `POST /token` with grant_type=refresh_token. */
  refreshTokens?: Record<string, string>;
  /** Overrides the default policy (users get what they ask for) to test denied actions. */
  authorize?: (user: string | undefined, requested: Access) => string[];
}

export interface TokenRequest {
  method: string;
  grant?: string; // POST grant_type
  scopes: string[];
  user?: string;
  status: number;
}

export interface TokenServer {
  url: string; // http://127.0.0.1:PORT; the realm is url + '/token'
  realm: string;
  service: string;
  issuer: string;
  /** PEM file holding the signing certificate, for the registry's `rootcertbundle`. */
  certPath: string;
  requests: TokenRequest[];
  /** refresh token → username; includes the configured ones and those issued for access_type=offline. */
  refreshTokens: Map<string, string>;
  stop(): Promise<void>;
}

interface SigningKey {
  privateKey: KeyObject;
  certDer: Buffer;
  certPem: string;
}

async function makeSigningKey(): Promise<SigningKey> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomBytes(8).toString('hex').replace(/^[89a-f]/, '1'), // positive serial
      name: 'CN=imagesync test token issuer',
      notBefore: new Date(Date.now() - 3_600_000), // tolerate small clock differences
      notAfter: new Date(Date.now() + 7 * 86_400_000),
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      keys,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
    },
    webcrypto as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[1],
  );
  return {
    privateKey: KeyObject.from(keys.privateKey),
    certDer: Buffer.from(cert.rawData),
    certPem: cert.toString('pem'),
  };
}

const b64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

function makeJwt(key: SigningKey, claims: Record<string, unknown>): string {
  const header = { alg: 'ES256', typ: 'JWT', x5c: [key.certDer.toString('base64')] };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  // JWS wants r||s, not the DER signature node produces by default.
  const signature = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(signature)}`;
}

/** "repository:a/b:pull,push" → Access; names may contain ':' (e.g. a port), actions come last. */
export function parseScope(scope: string): Access | undefined {
  const parts = scope.split(':');
  if (parts.length < 3) return undefined;
  return { type: parts[0]!, name: parts.slice(1, -1).join(':'), actions: parts.at(-1)!.split(',').filter(Boolean) };
}


function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Decodes a Basic Authorization header; undefined when absent, null when malformed. */
function basicCredentials(header: string | undefined): { user: string; password: string } | undefined | null {
  if (header === undefined) return undefined;
  const m = /^Basic\s+(\S+)$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  const service = opts.service ?? 'imagesync-test';
  const issuer = opts.issuer ?? 'imagesync-test-issuer';
  const expiresIn = opts.expiresIn ?? 300;
  const key = await makeSigningKey();
  const dir = await mkdtemp(join(tmpdir(), 'imagesync-token-'));
  const certPath = join(dir, 'token-cert.pem');
  await writeFile(certPath, key.certPem);
  const requests: TokenRequest[] = [];
  const refreshTokens = new Map(Object.entries(opts.refreshTokens ?? {}));

  const grant = (user: string | undefined, requested: Access): string[] => {
    if (opts.authorize) return opts.authorize(user, requested);
    if (user !== undefined) return requested.actions;
    return opts.anonymousPull && requested.type === 'repository' ? requested.actions.filter((a) => a === 'pull') : [];
  };

  const issue = (user: string | undefined, scopes: string[], requestedService: string | null) => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes
      .map(parseScope)
      .filter((a): a is Access => a !== undefined)
      .map((a) => ({ type: a.type, name: a.name, actions: grant(user, a) }))
      .filter((a) => a.actions.length > 0);
    const token = makeJwt(key, {
      iss: issuer,
      sub: user ?? '',
      aud: requestedService ?? service, // a string: distribution 2.8 rejects an array
      exp: now + expiresIn,
      nbf: now - 1,
      iat: now,
      jti: randomUUID(),
      access,
    });
    return { token, access_token: token, expires_in: expiresIn, issued_at: new Date(now * 1000).toISOString() };
  };

  const checkUser = (user: string, password: string): boolean =>
    Object.hasOwn(opts.users, user) && opts.users[user] === password;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/token') return sendJson(res, 404, { error: 'not found' });
    if (req.method === 'GET') {
      // Repeated scope parameters, each possibly holding several space-separated scopes.
      const scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
      const creds = basicCredentials(req.headers.authorization);
      if (creds === null || (creds && !checkUser(creds.user, creds.password))) {
        requests.push({ method: 'GET', scopes, user: creds?.user, status: 401 });
        return sendJson(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] });
      }
      requests.push({ method: 'GET', scopes, user: creds?.user, status: 200 });
      const answer: Record<string, unknown> = issue(creds?.user, scopes, url.searchParams.get('service'));
      if (creds && url.searchParams.get('offline_token') === 'true') {
        const refresh = randomUUID();
        refreshTokens.set(refresh, creds.user);
        answer.refresh_token = refresh;
      }
      return sendJson(res, 200, answer);
    }
    if (req.method === 'POST') {
      // Docker's OAuth2 flow: a form body with grant_type password or refresh_token.
      const form = new URLSearchParams(await readBody(req));
      const grantType = form.get('grant_type') ?? undefined;
      const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
      let user: string | undefined;
      if (grantType === 'password') {
        const u = form.get('username') ?? '';
        if (checkUser(u, form.get('password') ?? '')) user = u;
      } else if (grantType === 'refresh_token') {
        user = refreshTokens.get(form.get('refresh_token') ?? '');
      } else {
        requests.push({ method: 'POST', grant: grantType, scopes, status: 400 });
        return sendJson(res, 400, { error: 'unsupported_grant_type' });
      }
      if (user === undefined) {
        requests.push({ method: 'POST', grant: grantType, scopes, user: form.get('username') ?? undefined, status: 401 });
        return sendJson(res, 401, { error: 'invalid_grant' });
      }
      requests.push({ method: 'POST', grant: grantType, scopes, user, status: 200 });
      const { access_token, expires_in, issued_at } = issue(user, scopes, form.get('service'));
      const answer: Record<string, unknown> = { access_token, expires_in, issued_at, scope: scopes.join(' ') };
      if (grantType === 'password' && form.get('access_type') === 'offline') {
        const refresh = randomUUID();
        refreshTokens.set(refresh, user);
        answer.refresh_token = refresh;
      }
      return sendJson(res, 200, answer);
    }
    sendJson(res, 405, { error: 'method not allowed' });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => sendJson(res, 500, { error: String(err) }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    realm: `${url}/token`,
    service,
    issuer,
    certPath,
    requests,
    refreshTokens,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
