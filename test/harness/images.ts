// Builds random test images (OCI or Docker schema 2, single or multi-platform) and pushes
// them with plain fetch, returning the exact bytes pushed so tests can compare copies.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { rawFetch, type Target } from './raw-client.ts';

export type { Target };

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
}

export interface PushedImage {
  digest: string;
  mediaType: string;
  /** The exact manifest bytes pushed. */
  manifest: Uint8Array;
  config: Descriptor;
  layers: Descriptor[];
}

export interface PushedIndex {
  digest: string;
  mediaType: string;
  manifest: Uint8Array;
  children: PushedImage[];
}

export type Format = 'oci' | 'docker';

export const MEDIA_TYPES = {
  oci: {
    manifest: 'application/vnd.oci.image.manifest.v1+json',
    index: 'application/vnd.oci.image.index.v1+json',
    config: 'application/vnd.oci.image.config.v1+json',
    layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  },
  docker: {
    manifest: 'application/vnd.docker.distribution.manifest.v2+json',
    index: 'application/vnd.docker.distribution.manifest.list.v2+json',
    config: 'application/vnd.docker.container.image.v1+json',
    layer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  },
} as const;

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * Random layer content, really gzipped so tools that sniff compression (skopeo) take it
 * as compressed and do not recompress it, which would change digests.
 */
export function randomLayer(size = 1024): Uint8Array {
  return gzipSync(randomBytes(size));
}

async function expectStatus(res: Response, expected: number, what: string): Promise<void> {
  if (res.status !== expected) {
    throw new Error(`${what}: expected ${expected}, got ${res.status}: ${await res.text()}`);
  }
}

const pushScope = (repo: string): string => `repository:${repo}:pull,push`;

/** Monolithic upload: POST to open a session, then PUT the bytes with ?digest=. */
export async function pushBlob(reg: Target, repo: string, bytes: Uint8Array, mediaType = 'application/octet-stream'): Promise<Descriptor> {
  const digest = sha256Digest(bytes);
  const postUrl = new URL(`/v2/${repo}/blobs/uploads/`, reg.url);
  const started = await rawFetch(reg, postUrl.href, { method: 'POST' }, pushScope(repo));
  await expectStatus(started, 202, `POST ${postUrl.pathname}`);
  const location = started.headers.get('location');
  if (location === null) throw new Error('upload session answered without Location');
  // Location may be relative (relativeurls) and carries its own query (_state): append as text.
  const sessionUrl = new URL(location, postUrl).href;
  const putUrl = `${sessionUrl}${sessionUrl.includes('?') ? '&' : '?'}digest=${digest}`;
  const put = await rawFetch(
    reg,
    putUrl,
    { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes },
    pushScope(repo),
  );
  await expectStatus(put, 201, `PUT blob ${digest}`);
  const echoed = put.headers.get('docker-content-digest');
  if (echoed !== null && echoed !== digest) throw new Error(`registry stored ${echoed}, expected ${digest}`);
  return { mediaType, digest, size: bytes.byteLength };
}

/** PUTs manifest bytes as they are (Content-Type must equal their mediaType); returns their digest. */
export async function pushManifest(reg: Target, repo: string, ref: string, bytes: Uint8Array, mediaType: string): Promise<string> {
  const digest = sha256Digest(bytes);
  const res = await rawFetch(
    reg,
    `/v2/${repo}/manifests/${ref}`,
    { method: 'PUT', headers: { 'content-type': mediaType }, body: bytes },
    pushScope(repo),
  );
  await expectStatus(res, 201, `PUT manifest ${repo}:${ref}`);
  return digest;
}

// Docker tooling indents with three spaces; any pretty-printing also catches a copier that
// re-serializes manifests instead of copying bytes.
const encodeJson = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value, null, 3));

export interface ImageOptions {
  format: Format;
  layers?: number;
  /** Uncompressed bytes per random layer (default 1024). */
  layerSize?: number;
  platform?: Platform;
  /** Use these layer blobs instead of random ones (pushIndex uses it to share a layer). */
  layerBlobs?: Uint8Array[];
}

/** Pushes a single-platform image; `ref` undefined pushes by its own digest (untagged). */
export async function pushImage(reg: Target, repo: string, ref: string | undefined, opts: ImageOptions): Promise<PushedImage> {
  const types = MEDIA_TYPES[opts.format];
  const platform = opts.platform ?? { os: 'linux', architecture: 'amd64' };
  const blobs = opts.layerBlobs ?? Array.from({ length: opts.layers ?? 1 }, () => randomLayer(opts.layerSize));
  const layers: Descriptor[] = [];
  for (const blob of blobs) layers.push(await pushBlob(reg, repo, blob, types.layer));
  const configJson = {
    ...platform,
    created: new Date().toISOString(),
    config: { Labels: { 'imagesync.test.nonce': randomUUID() } }, // unique per call
    rootfs: { type: 'layers', diff_ids: blobs.map((b) => sha256Digest(b)) },
  };
  const config = await pushBlob(reg, repo, encodeJson(configJson), types.config);
  const manifest = encodeJson({ schemaVersion: 2, mediaType: types.manifest, config, layers });
  const digest = sha256Digest(manifest);
  await pushManifest(reg, repo, ref ?? digest, manifest, types.manifest);
  return { digest, mediaType: types.manifest, manifest, config, layers };
}

export interface IndexOptions {
  format: Format;
  /** Default linux/amd64 and linux/arm64/v8. */
  platforms?: Platform[];
  layers?: number;
  layerSize?: number;
  /** All children start with the same layer blob. */
  sharedLayer?: boolean;
}

/** Pushes each child by digest, then the OCI index or Docker manifest list by tag. */
export async function pushIndex(reg: Target, repo: string, tag: string, opts: IndexOptions): Promise<PushedIndex> {
  const types = MEDIA_TYPES[opts.format];
  const platforms = opts.platforms ?? [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64', variant: 'v8' },
  ];
  const layerCount = opts.layers ?? 1;
  const shared = opts.sharedLayer ? randomLayer(opts.layerSize) : undefined;
  const children: PushedImage[] = [];
  for (const platform of platforms) {
    const own = Array.from({ length: shared ? Math.max(layerCount - 1, 0) : layerCount }, () => randomLayer(opts.layerSize));
    const layerBlobs = shared ? [shared, ...own] : own;
    children.push(await pushImage(reg, repo, undefined, { format: opts.format, platform, layerBlobs }));
  }
  const manifests: Descriptor[] = children.map((c, i) => ({
    mediaType: c.mediaType,
    digest: c.digest,
    size: c.manifest.byteLength,
    platform: platforms[i]!,
  }));
  const manifest = encodeJson({ schemaVersion: 2, mediaType: types.index, manifests });
  const digest = await pushManifest(reg, repo, tag, manifest, types.index);
  return { digest, mediaType: types.index, manifest, children };
}
