// Artifact Registry (`*-docker.pkg.dev`) and GCR (`gcr.io`) in front of the real registry
// (docker-registry 2.8 with token auth), as documented:
// - No chunked uploads: "Artifact Registry does not support Docker chunked uploads ... You must use
//   monolithic uploads" (cloud.google.com/artifact-registry/docs/reference/docker-api, quoted in
//   dotnet/sdk-container-builds PR#287). PATCH answers 405; a whole PUT over `maxBodyBytes` gets
//   Google's front end's 413 page.
// - Tokens per repository (REGISTRY-NOTES): the token realm, on the registry's own host as gcr.io
//   has it (`/v2/token`), refuses a request whose scopes name two repositories.
// - A read-only token reads, then gets 401 when an upload starts: the token server grants the
//   read-only account pull alone (its `authorize` option), and 2.8 answers the push with 401.
// - Deleting a digest still tagged answers 400 GOOGLE_MANIFEST_DANGLING_TAG (genuinetools/reg#136,
//   GoogleCloudPlatform/docker-credential-gcr#73); DELETE manifests/<tag> deletes the tag (202, same
//   sources), emulated with `untag`.
import type { ServerResponse } from 'node:http';
import { readBody } from '../read-body.ts';
import type { Target } from '../raw-client.ts';
import { ociError, type Quirk } from '../quirk-proxy.ts';
import { tagsOf } from '../registry-ops.ts';
import { drain, MANIFEST_PATH, v2TagDeletion, type TagDeletion } from './quay.ts';

export interface TokenRealmRequest {
  method: string;
  scopes: string[];
  status: number;
}

export interface TokenRealm extends Quirk {
  /** Every token request, with the answer it got. */
  requests: TokenRealmRequest[];
  /** The challenge with its realm moved onto the registry's host. */
  challenge(value: string, host: string): string;
}

export interface Refusal {
  status: number;
  contentType: string;
  body: string;
}

/**
 * The token realm served at `path` on the registry's own host (as gcr.io's `/v2/token` and ACR's
 * `/oauth2/token` are): challenges are rewritten to name it, and every request that `refuse` lets
 * through goes on to the real token server.
 */
export function tokenRealm(path: string, tokenServer: { realm: string }, refuse: (scopes: string[]) => Refusal | undefined): TokenRealm {
  const requests: TokenRealmRequest[] = [];
  const challenge = (value: string, host: string) => value.replace(/realm="[^"]*"/i, `realm="http://${host}${path}"`);
  return {
    requests,
    challenge,
    async request(req, res, raw) {
      if (req.path !== path) return false;
      const query = new URL(req.url, 'http://realm').search;
      const body = req.method === 'POST' ? await readBody(raw) : '';
      const scopes = scopesOf(query, body);
      const refusal = refuse(scopes);
      if (refusal) {
        requests.push({ method: req.method, scopes, status: refusal.status });
        res.writeHead(refusal.status, { 'content-type': refusal.contentType, 'content-length': Buffer.byteLength(refusal.body) }).end(refusal.body);
        return true;
      }
      const headers: Record<string, string> = {};
      for (const name of ['authorization', 'content-type', 'accept'] as const) {
        const value = req.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      const answer = await fetch(`${tokenServer.realm}${query}`, { method: req.method, headers, body: req.method === 'POST' ? body : undefined });
      const text = await answer.text();
      requests.push({ method: req.method, scopes, status: answer.status });
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
      return true;
    },
    response(req, answer) {
      const value = answer.headers['www-authenticate'];
      if (typeof value === 'string') answer.headers['www-authenticate'] = challenge(value, req.headers.host ?? '');
    },
  };
}

/** Scopes of a token request: repeated `scope` parameters (GET) or the form's `scope` (POST), each space-separated. */
export function scopesOf(query: string, formBody: string): string[] {
  const fromQuery = new URLSearchParams(query).getAll('scope');
  const fromForm = formBody ? new URLSearchParams(formBody).getAll('scope') : [];
  return [...fromQuery, ...fromForm].flatMap((s) => s.split(' ')).filter(Boolean);
}

/** The repositories a list of scopes names (`repository:NAME:actions`; a name may hold ':'). */
export function repositoriesOf(scopes: string[]): string[] {
  const names = scopes.filter((s) => s.startsWith('repository:')).map((s) => s.slice('repository:'.length, s.lastIndexOf(':')));
  return [...new Set(names)];
}

export interface GarEmulation {
  quirks: Quirk[];
  token: TokenRealm;
  tags: TagDeletion;
  /** Digests whose deletion was refused because a tag still pointed at them. */
  danglingRefusals: string[];
  /** Whole PUTs larger than this are refused with 413 (default: none). */
  maxBodyBytes: number;
  /** PATCH requests refused. */
  patches: number;
}

/** `registry`: the real registry behind, with credentials for everything; `tokenServer`: its token server. */
export function garQuirks(registry: Target, tokenServer: { realm: string }): GarEmulation {
  const token = tokenRealm('/v2/token', tokenServer, (scopes) => {
    const repositories = repositoriesOf(scopes);
    if (repositories.length <= 1) return undefined;
    const body = JSON.stringify({ errors: [{ code: 'DENIED', message: `a token covers one repository; asked for ${repositories.join(', ')}` }] });
    return { status: 403, contentType: 'application/json', body };
  });
  const tags = v2TagDeletion(registry, { challenge: token.challenge });
  const state: GarEmulation = {
    token,
    tags,
    danglingRefusals: [],
    maxBodyBytes: Number.POSITIVE_INFINITY,
    patches: 0,
    quirks: [],
  };
  const uploads: Quirk = {
    async request(req, res, raw) {
      if (!/\/blobs\/uploads\//.test(req.path)) return false;
      if (req.method === 'PATCH') {
        state.patches++;
        await drain(raw);
        return ociError(res, 405, 'UNSUPPORTED', 'chunked uploads are not supported: use a monolithic upload');
      }
      const length = Number(req.headers['content-length'] ?? 0);
      if (req.method !== 'PUT' || length <= state.maxBodyBytes) return false;
      await drain(raw);
      return googleTooLarge(res);
    },
  };
  const dangling: Quirk = {
    async request(req, res) {
      const match = MANIFEST_PATH.exec(req.path);
      // Unauthenticated requests go on: the registry answers them with its challenge first.
      if (req.method !== 'DELETE' || !match || !match[2]!.includes(':') || !req.headers.authorization) return false;
      const [, repository, digest] = match as unknown as [string, string, string];
      const still = [...(await tagsOf(registry, repository))].filter(([, points]) => points === digest).map(([tag]) => tag);
      if (still.length === 0) return false;
      state.danglingRefusals.push(digest);
      return ociError(res, 400, 'GOOGLE_MANIFEST_DANGLING_TAG', `Manifest is still referenced by tag: ${still.join(', ')}`);
    },
  };
  state.quirks = [token, uploads, dangling, tags];
  return state;
}

/** Google's front end refuses an oversized body with an HTML page, not an OCI error. */
function googleTooLarge(res: ServerResponse): true {
  const page = '<!DOCTYPE html><html lang=en><title>Error 413 (Request Entity Too Large)!!1</title><p><b>413.</b> <ins>That’s an error.</ins><p>Your client issued a request that was too large. <ins>That’s all we know.</ins></html>';
  res.writeHead(413, { 'content-type': 'text/html; charset=UTF-8', 'content-length': Buffer.byteLength(page) }).end(page);
  return true;
}
