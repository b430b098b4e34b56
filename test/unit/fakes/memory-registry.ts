// An in-memory OCI registry as a Transport, answering like distribution 2.8 (../shared/REGISTRY-NOTES.md):
// manifests by digest with tags pointing at them, blobs linked per repository, uploads with a
// digest check, mounts within one registry, and deletion by digest only (a tag DELETE is 400
// DIGEST_INVALID; `deleteTags` makes it 3.x). Several registries, one per host. Every request is
// logged; hooks make chosen requests fail or hang until released (or until their signal aborts).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { RegistryClients } from '../../../lib/registry/client.ts';
import { OCI_INDEX, OCI_MANIFEST } from '../../../lib/registry/media-types.ts';
import { NetworkError } from '../../../lib/transport/errors.ts';
import type { HttpRequest, HttpResponse, Transport } from '../../../lib/transport/types.ts';

const CONFIG = 'application/vnd.oci.image.config.v1+json';
const LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

// --- fixtures: images built in memory, pushed with MemoryRegistry.push

export interface BlobFixture {
  digest: string;
  size: number;
  mediaType: string;
  bytes: Uint8Array;
}

export interface ImageFixture {
  kind: 'image';
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
  config: BlobFixture;
  layers: BlobFixture[];
}

export interface IndexFixture {
  kind: 'index';
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
  /** Distinct children, whatever the index lists. */
  children: Fixture[];
}

export type Fixture = ImageFixture | IndexFixture;

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A blob of random bytes. */
export function makeBlob(size = 64, mediaType = LAYER): BlobFixture {
  const bytes = new Uint8Array(randomBytes(size));
  return { digest: sha256(bytes), size, mediaType, bytes };
}

/** Manifest bytes as a registry would keep them: indented oddly, so a copy that re-serializes shows. */
function manifestBytes(json: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(json, null, 3)}\n`);
}

function descriptor(item: { mediaType: string; digest: string; size?: number; bytes: Uint8Array }) {
  return { mediaType: item.mediaType, digest: item.digest, size: item.bytes.byteLength };
}

/** An OCI image: a random config and `layers` random layers, plus any `shared` ones. */
export function makeImage(options: { layers?: number; shared?: BlobFixture[] } = {}): ImageFixture {
  const config = makeBlob(32, CONFIG);
  const layers = [...(options.shared ?? []), ...Array.from({ length: options.layers ?? 1 }, () => makeBlob())];
  const bytes = manifestBytes({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptor(config), layers: layers.map(descriptor) });
  return { kind: 'image', digest: sha256(bytes), mediaType: OCI_MANIFEST, bytes, config, layers };
}

/** An OCI index of `children`, each listed `repeat` times (an index may list one child many times). */
export function makeIndex(children: Fixture[], options: { repeat?: number } = {}): IndexFixture {
  const listed = children.flatMap((child) => Array.from({ length: options.repeat ?? 1 }, () => ({ ...descriptor(child), platform: { os: 'linux', architecture: 'amd64' } })));
  const bytes = manifestBytes({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: listed });
  return { kind: 'index', digest: sha256(bytes), mediaType: OCI_INDEX, bytes, children: [...new Map(children.map((c) => [c.digest, c])).values()] };
}

/** Every blob of a fixture, children's included. */
export function blobsOf(fixture: Fixture): BlobFixture[] {
  return fixture.kind === 'image' ? [fixture.config, ...fixture.layers] : fixture.children.flatMap(blobsOf);
}

/** Every manifest of a fixture: its own first, then its children's. */
export function manifestsOf(fixture: Fixture): string[] {
  return fixture.kind === 'image' ? [fixture.digest] : [fixture.digest, ...fixture.children.flatMap(manifestsOf)];
}

// --- the registry

interface StoredManifest {
  bytes: Uint8Array;
  mediaType: string;
}

interface Repository {
  manifests: Map<string, StoredManifest>;
  tags: Map<string, string>;
  blobs: Map<string, Uint8Array>;
}

/** What a repository holds, as plain data (copies). */
export interface RepositoryView {
  tags: Record<string, string>;
  manifests: Record<string, StoredManifest>;
  blobs: Record<string, Uint8Array>;
}

export interface LoggedRequest {
  method: string;
  host: string;
  /** The path, e.g. /v2/team/app/manifests/v1. */
  path: string;
  query: URLSearchParams;
  /** Set once answered; undefined while hanging, or when the request failed without an answer. */
  status?: number;
}

/** Which requests a hook or a count is about: fields that must equal (a path string: contained), or a predicate. */
export type Match = { method?: string; host?: string; path?: string | RegExp } | ((request: LoggedRequest) => boolean);

/** A request held by `hang` until released. */
export interface Gate {
  /** Resolves when the first matching request arrives. */
  reached: Promise<LoggedRequest>;
  release(): void;
}

interface Hook {
  matches: (request: LoggedRequest) => boolean;
  remaining: number;
  /** An answer to give instead, or undefined to go on. */
  act: (request: HttpRequest, logged: LoggedRequest) => Promise<Response | undefined>;
}

export interface HostOptions {
  /** distribution 3.x: DELETE manifests/<tag> removes the tag alone. */
  deleteTags?: boolean;
  /** false: every DELETE answers 405 (Docker Hub, GHCR). */
  deletes?: boolean;
}

export class MemoryRegistry {
  readonly log: LoggedRequest[] = [];
  readonly #hosts = new Map<string, { options: HostOptions; repositories: Map<string, Repository> }>();
  readonly #uploads = new Map<string, { host: string; repository: string }>();
  #hooks: Hook[] = [];

  constructor(hosts: string[] = ['src.example', 'dst.example']) {
    for (const host of hosts) this.addHost(host);
  }

  addHost(host: string, options: HostOptions = {}): void {
    this.#hosts.set(host, { options, repositories: new Map() });
  }

  /** The Transport to give RegistryClients. */
  readonly transport: Transport = (request) => this.#handle(request);

  /** Clients on this registry: https, no retries (a failure shows at once), stall limits no test reaches (fake timers jump). */
  clients(): RegistryClients {
    return new RegistryClients({
      transport: this.transport,
      isInsecure: () => false,
      retry: { retries: 0, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterMs: 0 },
      stall: { ms: 3_600_000, minBytes: 1 },
    });
  }

  // --- state

  /** Pushes a fixture's blobs and manifests (children first), and tags it when asked. */
  push<F extends Fixture>(host: string, repository: string, fixture: F, tag?: string): F {
    const repo = this.#repository(host, repository, true)!;
    if (fixture.kind === 'index') for (const child of fixture.children) this.push(host, repository, child);
    else for (const blob of blobsOf(fixture)) repo.blobs.set(blob.digest, blob.bytes.slice());
    repo.manifests.set(fixture.digest, { bytes: fixture.bytes.slice(), mediaType: fixture.mediaType });
    if (tag) repo.tags.set(tag, fixture.digest);
    return fixture;
  }

  /** Points a tag at a digest, or removes it. */
  setTag(host: string, repository: string, tag: string, digest: string | undefined): void {
    const repo = this.#repository(host, repository, true)!;
    if (digest) repo.tags.set(tag, digest);
    else repo.tags.delete(tag);
  }

  read(host: string, repository: string): RepositoryView {
    const repo = this.#repository(host, repository, false);
    const entries = <T, U>(map: Map<string, T> | undefined, f: (value: T) => U) => Object.fromEntries([...(map ?? [])].map(([k, v]) => [k, f(v)]));
    return {
      tags: entries(repo?.tags, (digest) => digest),
      manifests: entries(repo?.manifests, (m) => ({ bytes: m.bytes.slice(), mediaType: m.mediaType })),
      blobs: entries(repo?.blobs, (bytes) => bytes.slice()),
    };
  }

  // --- the request log and hooks

  requests(match: Match): LoggedRequest[] {
    return this.log.filter(matcher(match));
  }

  count(match: Match): number {
    return this.requests(match).length;
  }

  /** Blob uploads completed or attempted (the closing PUT ?digest=) into a host. */
  uploads(host: string, digest?: string): number {
    return this.count((r) => r.method === 'PUT' && r.host === host && r.path.includes('/blobs/uploads/') && (digest === undefined || r.query.get('digest') === digest));
  }

  /** Matching requests answer `status` with an OCI error body (or throw `error`), `times` times. */
  fail(match: Match, options: { status?: number; code?: string; error?: Error; times?: number } = {}): void {
    this.#hook(match, options.times ?? Number.POSITIVE_INFINITY, async () => {
      if (options.error) throw options.error;
      return ociError(options.status ?? 500, options.code ?? 'UNKNOWN');
    });
  }

  /** Matching requests wait until released; one whose signal aborts meanwhile fails with its reason. */
  hang(match: Match, options: { times?: number } = {}): Gate {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let reached!: (request: LoggedRequest) => void;
    const gate: Gate = { reached: new Promise((resolve) => (reached = resolve)), release };
    this.#hook(match, options.times ?? 1, async (request, logged) => {
      reached(logged);
      await untilAborted(released, request.signal);
      return undefined;
    });
    return gate;
  }

  /** Runs `act` before matching requests are answered (to change state mid-request). */
  before(match: Match, act: (request: LoggedRequest) => void | Promise<void>, options: { times?: number } = {}): void {
    this.#hook(match, options.times ?? 1, async (_request, logged) => {
      await act(logged);
      return undefined;
    });
  }

  clearHooks(): void {
    this.#hooks = [];
  }

  #hook(match: Match, times: number, act: Hook['act']): void {
    this.#hooks.push({ matches: matcher(match), remaining: times, act });
  }

  // --- the protocol

  async #handle(request: HttpRequest): Promise<HttpResponse> {
    const url = new URL(request.url);
    const logged: LoggedRequest = { method: request.method, host: url.host, path: url.pathname, query: url.searchParams };
    this.log.push(logged);
    if (request.signal?.aborted) throw request.signal.reason;
    const host = this.#hosts.get(url.host);
    if (!host) throw new NetworkError(url.host, 'ENOTFOUND');
    for (const hook of this.#hooks.filter((h) => h.remaining > 0 && h.matches(logged))) {
      hook.remaining--;
      const answer = await hook.act(request, logged);
      if (answer) {
        logged.status = answer.status;
        return answer;
      }
    }
    const response = await this.#answer(request, url, host.options);
    logged.status = response.status;
    return response;
  }

  async #answer(request: HttpRequest, url: URL, options: HostOptions): Promise<Response> {
    const { method } = request;
    const host = url.host;
    const path = decodeURIComponent(url.pathname);
    if (path === '/v2/') return new Response('{}', { status: 200 });
    if (method === 'DELETE' && options.deletes === false && !path.includes('/blobs/uploads/')) return ociError(405, 'UNSUPPORTED');
    let m: RegExpExecArray | null;
    if ((m = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/.exec(path))) return this.#upload(request, url, host, m[1]!, m[2]!);
    if ((m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path))) return this.#manifest(request, host, m[1]!, m[2]!, options);
    if ((m = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(path))) return this.#blob(method, host, m[1]!, m[2]!);
    if ((m = /^\/v2\/(.+)\/tags\/list$/.exec(path)) && method === 'GET') {
      const repo = this.#repository(host, m[1]!, false);
      if (!repo) return ociError(404, 'NAME_UNKNOWN');
      // 2.8 lists `null` once the last tag is gone.
      return json({ name: m[1], tags: repo.tags.size > 0 ? [...repo.tags.keys()] : null });
    }
    return ociError(404, 'NOT_FOUND');
  }

  async #manifest(request: HttpRequest, host: string, name: string, reference: string, options: HostOptions): Promise<Response> {
    const repo = this.#repository(host, name, request.method === 'PUT');
    const byDigest = reference.includes(':');
    const digest = byDigest ? reference : repo?.tags.get(reference);
    const stored = digest === undefined ? undefined : repo?.manifests.get(digest);
    switch (request.method) {
      case 'HEAD':
      case 'GET': {
        // 2.8 hides an OCI manifest whose type the client did not accept (schema 1 it serves as it is).
        const hidden = stored?.mediaType.startsWith('application/vnd.oci.') && !(request.headers.accept ?? '').includes(stored.mediaType);
        if (!stored || hidden) return ociError(404, 'MANIFEST_UNKNOWN', request.method === 'HEAD');
        const headers = { 'content-type': stored.mediaType, 'docker-content-digest': digest!, 'content-length': String(stored.bytes.byteLength) };
        return new Response(request.method === 'GET' ? stored.bytes.slice() : null, { status: 200, headers });
      }
      case 'PUT': {
        const bytes = await readBody(request.body);
        const computed = sha256(bytes);
        if (byDigest && computed !== reference) return ociError(400, 'DIGEST_INVALID');
        let parsed: { mediaType?: string; manifests?: { digest: string }[]; config?: { digest: string }; layers?: { digest: string }[] };
        try {
          parsed = JSON.parse(new TextDecoder().decode(bytes));
        } catch {
          return ociError(400, 'MANIFEST_INVALID');
        }
        const mediaType = request.headers['content-type'] ?? '';
        if (parsed.mediaType && parsed.mediaType !== mediaType) return ociError(400, 'MANIFEST_INVALID');
        // Children before the index, blobs before the manifest: 2.8 refuses a manifest referring to what it lacks.
        if (parsed.manifests?.some((child) => !repo!.manifests.has(child.digest))) return ociError(400, 'MANIFEST_BLOB_UNKNOWN');
        if ([parsed.config, ...(parsed.layers ?? [])].some((blob) => blob && !repo!.blobs.has(blob.digest))) return ociError(400, 'MANIFEST_BLOB_UNKNOWN');
        repo!.manifests.set(computed, { bytes, mediaType });
        if (!byDigest) repo!.tags.set(reference, computed);
        return new Response(null, { status: 201, headers: { 'docker-content-digest': computed, location: `/v2/${name}/manifests/${computed}` } });
      }
      case 'DELETE': {
        if (!byDigest) {
          if (!options.deleteTags) return ociError(400, 'DIGEST_INVALID');
          if (!repo?.tags.delete(reference)) return ociError(404, 'MANIFEST_UNKNOWN');
          return new Response(null, { status: 202 });
        }
        if (!stored) return ociError(404, 'MANIFEST_UNKNOWN');
        // By digest: the manifest and every tag on it.
        repo!.manifests.delete(reference);
        for (const [tag, target] of repo!.tags) if (target === reference) repo!.tags.delete(tag);
        return new Response(null, { status: 202 });
      }
    }
    return ociError(405, 'UNSUPPORTED');
  }

  #blob(method: string, host: string, name: string, digest: string): Response {
    const repo = this.#repository(host, name, false);
    const bytes = repo?.blobs.get(digest);
    if (!bytes) return ociError(404, 'BLOB_UNKNOWN', method === 'HEAD');
    if (method === 'DELETE') {
      repo!.blobs.delete(digest);
      return new Response(null, { status: 202 });
    }
    const headers = { 'content-length': String(bytes.byteLength), 'docker-content-digest': digest, 'content-type': 'application/octet-stream' };
    if (method === 'HEAD') return new Response(null, { status: 200, headers });
    if (method === 'GET') return new Response(bytes.slice(), { status: 200, headers });
    return ociError(405, 'UNSUPPORTED');
  }

  async #upload(request: HttpRequest, url: URL, host: string, name: string, session: string): Promise<Response> {
    const repo = this.#repository(host, name, true)!;
    if (request.method === 'POST' && session === '') {
      const mount = url.searchParams.get('mount');
      const from = url.searchParams.get('from');
      const source = mount && from ? this.#repository(host, from, false)?.blobs.get(mount) : undefined;
      if (mount && source) {
        repo.blobs.set(mount, source);
        return new Response(null, { status: 201, headers: { 'docker-content-digest': mount, location: `/v2/${name}/blobs/${mount}` } });
      }
      const id = randomUUID();
      this.#uploads.set(id, { host, repository: name });
      // Absolute, as 2.8 answers.
      return new Response(null, { status: 202, headers: { location: `https://${host}/v2/${name}/blobs/uploads/${id}`, 'docker-upload-uuid': id } });
    }
    const open = this.#uploads.get(session);
    if (!open || open.host !== host || open.repository !== name) return ociError(404, 'BLOB_UPLOAD_UNKNOWN');
    if (request.method === 'DELETE') {
      this.#uploads.delete(session);
      return new Response(null, { status: 204 });
    }
    if (request.method !== 'PUT') return ociError(405, 'UNSUPPORTED');
    const bytes = await readBody(request.body);
    const digest = url.searchParams.get('digest');
    this.#uploads.delete(session);
    if (!digest || sha256(bytes) !== digest) return ociError(400, 'DIGEST_INVALID');
    repo.blobs.set(digest, bytes);
    return new Response(null, { status: 201, headers: { 'docker-content-digest': digest, location: `/v2/${name}/blobs/${digest}` } });
  }

  #repository(host: string, name: string, create: boolean): Repository | undefined {
    const repositories = this.#hosts.get(host)?.repositories;
    if (!repositories) throw new Error(`the memory registry has no host ${host}`);
    let repo = repositories.get(name);
    if (!repo && create) {
      repo = { manifests: new Map(), tags: new Map(), blobs: new Map() };
      repositories.set(name, repo);
    }
    return repo;
  }
}

function matcher(match: Match): (request: LoggedRequest) => boolean {
  if (typeof match === 'function') return match;
  return (r) =>
    (match.method === undefined || r.method === match.method) &&
    (match.host === undefined || r.host === match.host) &&
    (match.path === undefined || (typeof match.path === 'string' ? r.path.includes(match.path) : match.path.test(r.path)));
}

function ociError(status: number, code: string, head = false): Response {
  return head ? new Response(null, { status }) : json({ errors: [{ code, message: code.toLowerCase().replace(/_/g, ' ') }] }, status);
}

function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } });
}

async function readBody(body: HttpRequest['body']): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  if (body instanceof Uint8Array) return body.slice();
  return new Uint8Array(await new Response(body).arrayBuffer());
}

/** Resolves with `promise`, or rejects with the signal's reason once it aborts (as a real transport does). */
function untilAborted(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
