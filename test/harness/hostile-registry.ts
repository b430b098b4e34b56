// A small registry on loopback that serves whatever a test makes up: manifests and blobs from a
// resolver (so a 200x200 nested index needs no storage), and an `intercept` hook that answers any
// request its own way first (lying headers, endless or stalling bodies, redirects, challenges).
// It stands in for a hostile or broken registry; the real one (docker-registry) stays the
// destination, so what lands is still checked by real software.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Content {
  bytes: Uint8Array;
  /** Content-Type (manifests); blobs default to application/octet-stream. */
  mediaType?: string;
}

export interface HostileRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  headers: IncomingMessage['headers'];
}

export interface HostileOptions {
  /** A manifest by tag or digest; undefined: 404 MANIFEST_UNKNOWN. */
  manifest?: (reference: string) => Content | undefined;
  /** A blob by digest; undefined: 404 BLOB_UNKNOWN. */
  blob?: (digest: string) => Content | undefined;
  /** Answers a request first; return true when it did (then nothing else runs). */
  intercept?: (req: HostileRequest, res: ServerResponse, raw: IncomingMessage) => boolean | Promise<boolean>;
}

export interface HostileRegistry {
  url: string;
  host: string;
  /** Every request, in arrival order. */
  requests: HostileRequest[];
  /** Requests whose method and path (without query) match. */
  count(method: string, pathPattern: RegExp): number;
  stop(): Promise<void>;
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function notFound(res: ServerResponse, code: string): void {
  const body = JSON.stringify({ errors: [{ code, message: 'not here' }] });
  res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function serveContent(req: HostileRequest, res: ServerResponse, content: Content, fallbackType: string): void {
  res.writeHead(200, {
    'content-type': content.mediaType ?? fallbackType,
    'content-length': content.bytes.byteLength,
    'docker-content-digest': sha256(content.bytes),
  });
  res.end(req.method === 'HEAD' ? undefined : content.bytes);
}

const MANIFEST = /^\/v2\/(.+)\/manifests\/([^/?]+)$/;
const BLOB = /^\/v2\/(.+)\/blobs\/([^/?]+)$/;

export async function startHostileRegistry(options: HostileOptions): Promise<HostileRegistry> {
  const requests: HostileRequest[] = [];
  const server = createServer(async (raw, res) => {
    const req: HostileRequest = { method: raw.method ?? 'GET', url: raw.url ?? '/', headers: raw.headers };
    requests.push(req);
    // Keep the connection usable whatever the handler does with the upload body.
    if (req.method !== 'PUT' && req.method !== 'PATCH' && req.method !== 'POST') raw.resume();
    try {
      if (options.intercept && (await options.intercept(req, res, raw))) return;
      raw.resume();
      const path = req.url.split('?')[0]!;
      if (path === '/v2/' || path === '/v2') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 });
        res.end('{}');
        return;
      }
      const manifest = MANIFEST.exec(path);
      if (manifest && (req.method === 'GET' || req.method === 'HEAD')) {
        const content = options.manifest?.(decodeURIComponent(manifest[2]!));
        return content ? serveContent(req, res, content, 'application/vnd.oci.image.manifest.v1+json') : notFound(res, 'MANIFEST_UNKNOWN');
      }
      const blob = BLOB.exec(path);
      if (blob && (req.method === 'GET' || req.method === 'HEAD')) {
        const content = options.blob?.(decodeURIComponent(blob[2]!));
        return content ? serveContent(req, res, content, 'application/octet-stream') : notFound(res, 'BLOB_UNKNOWN');
      }
      notFound(res, 'NAME_UNKNOWN');
    } catch (error) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `http://${host}`,
    host,
    requests,
    count: (method, pattern) => requests.filter((r) => r.method === method && pattern.test(r.url.split('?')[0]!)).length,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export interface NestedIndex {
  top: Content;
  /** Every manifest and blob of the tree, by digest, built on demand. */
  manifest(reference: string): Content | undefined;
  blob(digest: string): Content | undefined;
  /** Distinct manifests in the tree, the top one included. */
  manifests: number;
}

/**
 * An index of `width` child indexes, each listing `width` distinct image manifests that share
 * one config blob and no layers: width^2 + width + 1 manifests. Children are generated from
 * their digest on request, so memory stays small whatever the width.
 */
export function nestedIndex(width: number, tag = 'bomb'): NestedIndex {
  const config = new TextEncoder().encode('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
  const configDigest = sha256(config);
  const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
  const image = (i: number, j: number): Content => ({
    mediaType: OCI_MANIFEST,
    bytes: encode({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.byteLength },
      layers: [],
      annotations: { at: `${i}/${j}` },
    }),
  });
  const descriptor = (content: Content) => ({ mediaType: content.mediaType, digest: sha256(content.bytes), size: content.bytes.byteLength });
  // Digests of the leaves are needed to build the middle indexes: computed once, kept as strings.
  const byDigest = new Map<string, () => Content>();
  const middles: Content[] = [];
  for (let i = 0; i < width; i++) {
    const leaves = [];
    for (let j = 0; j < width; j++) {
      const leaf = image(i, j);
      const d = descriptor(leaf);
      byDigest.set(d.digest, () => image(i, j));
      leaves.push(d);
    }
    const middle: Content = { mediaType: OCI_INDEX, bytes: encode({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: leaves }) };
    middles.push(middle);
  }
  for (const middle of middles) byDigest.set(sha256(middle.bytes), () => middle);
  const top: Content = { mediaType: OCI_INDEX, bytes: encode({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: middles.map(descriptor) }) };
  byDigest.set(sha256(top.bytes), () => top);
  return {
    top,
    manifest: (reference) => (reference === tag ? top : byDigest.get(reference)?.()),
    blob: (digest) => (digest === configDigest ? { bytes: config } : undefined),
    manifests: byDigest.size,
  };
}

/**
 * Answers 200 with `bytes` as the body, `chunk` bytes every `everyMs` (a slow or trickling
 * registry). Stops writing when the client goes away.
 */
export function paced(res: import('node:http').ServerResponse, bytes: Uint8Array, chunk: number, everyMs: number, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.byteLength, 'docker-content-digest': sha256(bytes), ...headers });
  let offset = 0;
  const timer = setInterval(() => {
    if (res.destroyed || offset >= bytes.byteLength) {
      clearInterval(timer);
      if (!res.destroyed) res.end();
      return;
    }
    res.write(bytes.subarray(offset, offset + chunk));
    offset += chunk;
  }, everyMs);
  res.once('close', () => clearInterval(timer));
}

/** A one-layer OCI image whose layer is `layer`, served by `startHostileRegistry` under `tag`. */
export function singleLayerImage(layer: Uint8Array, tag = 'v1'): { manifest(reference: string): Content | undefined; blob(digest: string): Content | undefined; layerDigest: string; digest: string } {
  const config = new TextEncoder().encode('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
  const bytes = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.byteLength },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.byteLength }],
    }),
  );
  const manifest: Content = { bytes, mediaType: OCI_MANIFEST };
  const digest = sha256(bytes);
  return {
    manifest: (reference) => (reference === tag || reference === digest ? manifest : undefined),
    blob: (d) => (d === sha256(config) ? { bytes: config } : d === sha256(layer) ? { bytes: layer } : undefined),
    layerDigest: sha256(layer),
    digest,
  };
}
