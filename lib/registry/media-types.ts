// Manifest media types, and reading the parts of a manifest the copy needs.

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

/** Every type we copy, on GET and HEAD alike: leave one out and a registry may convert or hide it. */
export const MANIFEST_ACCEPT = [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST].join(', ');

const indexTypes = new Set([OCI_INDEX, DOCKER_LIST]);
const imageTypes = new Set([OCI_MANIFEST, DOCKER_MANIFEST]);

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  platform?: { os?: string; architecture?: string; variant?: string };
}

export type ManifestContent =
  | { kind: 'index'; manifests: Descriptor[] }
  | { kind: 'image'; config: Descriptor; layers: Descriptor[] };

export class ManifestFormatError extends Error {
  override readonly name = 'ManifestFormatError';
}

/** The media type of manifest bytes: their own `mediaType`, else the Content-Type they came with. */
export function manifestMediaType(json: unknown, contentType: string | null): string {
  const own = (json as { mediaType?: unknown } | null)?.mediaType;
  if (typeof own === 'string' && own) return own;
  const header = contentType?.split(';')[0]?.trim() || undefined;
  if (header && (indexTypes.has(header) || imageTypes.has(header))) return header;
  // An OCI manifest may omit mediaType; its shape tells which one it is.
  const shape = json as { manifests?: unknown; config?: unknown };
  if (Array.isArray(shape?.manifests)) return OCI_INDEX;
  if (shape?.config) return OCI_MANIFEST;
  return header ?? 'application/octet-stream';
}

export function parseManifestContent(json: unknown, mediaType: string, what: string): ManifestContent {
  if (indexTypes.has(mediaType)) {
    const manifests = (json as { manifests?: unknown }).manifests;
    if (!Array.isArray(manifests)) throw new ManifestFormatError(`${what}: index without a "manifests" list`);
    return { kind: 'index', manifests: manifests.map((d, i) => descriptor(d, `${what} manifests[${i}]`)) };
  }
  if (imageTypes.has(mediaType)) {
    const m = json as { config?: unknown; layers?: unknown };
    if (!Array.isArray(m.layers)) throw new ManifestFormatError(`${what}: manifest without a "layers" list`);
    return { kind: 'image', config: descriptor(m.config, `${what} config`), layers: m.layers.map((d, i) => descriptor(d, `${what} layers[${i}]`)) };
  }
  throw new ManifestFormatError(`${what}: unsupported manifest type "${mediaType}" (supported: OCI index and manifest, Docker manifest list and schema 2)`);
}

function descriptor(value: unknown, what: string): Descriptor {
  const d = value as Partial<Descriptor> | null;
  if (!d || typeof d !== 'object' || typeof d.digest !== 'string' || typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw new ManifestFormatError(`${what}: not a descriptor with a digest and a size`);
  }
  return { ...d, mediaType: typeof d.mediaType === 'string' ? d.mediaType : 'application/octet-stream' } as Descriptor;
}

/** Foreign layers (Windows base layers) live outside the registry and are not copied, as with skopeo. */
export function isForeignLayer(d: Descriptor): boolean {
  return Array.isArray(d.urls) && d.urls.length > 0 && /foreign|nondistributable/.test(d.mediaType);
}
