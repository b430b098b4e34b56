// Manifest media types, and reading the parts of a manifest the copy needs. Every descriptor is
// checked as it is read: its digest goes into URLs, its fields into headers and logs.
import { verifiableDigestProblem } from '../util/digest.ts';

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

/** Every type we copy, on GET and HEAD alike: leave one out and a registry may convert or hide it. */
export const MANIFEST_ACCEPT = [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST].join(', ');

const indexTypes = new Set([OCI_INDEX, DOCKER_LIST]);
const imageTypes = new Set([OCI_MANIFEST, DOCKER_MANIFEST]);

export interface Platform {
  os?: string;
  architecture?: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
  features?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  platform?: Platform;
}

export type ManifestContent =
  | { kind: 'index'; manifests: Descriptor[] }
  | { kind: 'image'; config: Descriptor; layers: Descriptor[] };

/** A manifest type this tool does not copy (schema 1, artifacts of other kinds). The API answers 422. */
export class ManifestFormatError extends Error {
  override readonly name = 'ManifestFormatError';
}

/**
 * A manifest of a supported type whose content breaks the image spec: a list missing, a
 * descriptor with a bad digest, size or media type. Its digests would end up in URLs, so nothing
 * of it is used. getManifest turns it into a RegistryProtocolError naming the registry.
 */
export class MalformedManifestError extends Error {
  override readonly name = 'MalformedManifestError';
  constructor(
    /** The manifest, as the caller named it. */
    readonly what: string,
    /** JSON path of the bad value ('layers[3].digest'); undefined for the document as a whole. */
    readonly field: string | undefined,
    readonly problem: string,
  ) {
    super(`${what}: ${field ? `${field}: ` : ''}${problem}`);
  }
}

/** True for the four manifest types this tool copies. */
export function isSupportedManifestType(mediaType: string): boolean {
  return indexTypes.has(mediaType) || imageTypes.has(mediaType);
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

/**
 * The descriptors of a manifest, each checked (see `descriptor`). `what` names the manifest in
 * errors ('registry: manifest team/app@sha256:…'). Throws ManifestFormatError for a type not
 * copied, MalformedManifestError for a supported type with bad content.
 */
export function parseManifestContent(json: unknown, mediaType: string, what: string): ManifestContent {
  if (!isSupportedManifestType(mediaType)) {
    throw new ManifestFormatError(
      `${what}: unsupported manifest type ${quote(mediaType)} (supported: OCI index and manifest, Docker manifest list and schema 2)`,
    );
  }
  if (!isObject(json)) throw new MalformedManifestError(what, undefined, 'not a JSON object');
  if (indexTypes.has(mediaType)) {
    const manifests = json.manifests;
    if (!Array.isArray(manifests)) throw new MalformedManifestError(what, 'manifests', 'an index needs a "manifests" list');
    return { kind: 'index', manifests: manifests.map((d, i) => descriptor(d, what, `manifests[${i}]`)) };
  }
  if (!Array.isArray(json.layers)) throw new MalformedManifestError(what, 'layers', 'an image manifest needs a "layers" list');
  return {
    kind: 'image',
    config: descriptor(json.config, what, 'config'),
    layers: json.layers.map((d, i) => descriptor(d, what, `layers[${i}]`)),
  };
}

// RFC 6838 section 4.2 restricted names: type "/" subtype, each a letter or digit then up to 126
// of ALPHA DIGIT ! # $ & - ^ _ . +. No parameters: the image spec's descriptor schema
// (defs-descriptor.json) allows none, registries reject them (ECR refuses ';'), and a descriptor's
// type is matched exactly, so a parameter could only make a known type look unknown.
const restrictedName = '[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}';
const MEDIA_TYPE_RE = new RegExp(`^${restrictedName}/${restrictedName}$`);

const PLATFORM_STRINGS = ['architecture', 'os', 'variant', 'os.version'] as const;
const PLATFORM_LISTS = ['os.features', 'features'] as const;

/**
 * One descriptor, checked before any of it is used: a digest this client can verify (sha256 or
 * sha512, exact length, lower-case hex; the digest goes into URLs), a size that is a safe
 * non-negative integer, a well-formed media type (absent means application/octet-stream), `urls`
 * a list of strings, `platform` fields strings. Other fields are kept as they are.
 */
function descriptor(value: unknown, what: string, at: string): Descriptor {
  const fail = (field: string, problem: string): never => {
    throw new MalformedManifestError(what, field, problem);
  };
  if (!isObject(value)) return fail(at, 'not a descriptor (an object with a digest and a size)');
  const { digest, size, mediaType, urls, platform } = value;
  if (typeof digest !== 'string') fail(`${at}.digest`, 'missing or not a string');
  const digestProblem = verifiableDigestProblem(digest as string);
  if (digestProblem !== undefined) fail(`${at}.digest`, digestProblem);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) fail(`${at}.size`, `not a non-negative integer (${quote(JSON.stringify(size) ?? 'undefined')})`);
  if (mediaType !== undefined) {
    if (typeof mediaType !== 'string') fail(`${at}.mediaType`, 'not a string');
    else if (!MEDIA_TYPE_RE.test(mediaType)) fail(`${at}.mediaType`, `not a media type (type/subtype, RFC 6838): ${quote(mediaType)}`);
  }
  if (urls !== undefined) {
    if (!Array.isArray(urls)) fail(`${at}.urls`, 'not a list');
    (urls as unknown[]).forEach((url, i) => {
      if (typeof url !== 'string') fail(`${at}.urls[${i}]`, 'not a string');
    });
  }
  if (platform !== undefined) {
    if (!isObject(platform)) fail(`${at}.platform`, 'not an object');
    const p = platform as Record<string, unknown>;
    for (const key of PLATFORM_STRINGS) {
      if (p[key] !== undefined && typeof p[key] !== 'string') fail(`${at}.platform.${key}`, 'not a string');
    }
    for (const key of PLATFORM_LISTS) {
      const list = p[key];
      if (list === undefined) continue;
      if (!Array.isArray(list)) fail(`${at}.platform.${key}`, 'not a list');
      (list as unknown[]).forEach((item, i) => {
        if (typeof item !== 'string') fail(`${at}.platform.${key}[${i}]`, 'not a string');
      });
    }
  }
  return { ...value, mediaType: (mediaType as string | undefined) ?? 'application/octet-stream' } as unknown as Descriptor;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// Quotes a value from a registry for a message; a long one is cut.
function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
}

/** Foreign layers (Windows base layers) live outside the registry and are not copied, as with skopeo. */
export function isForeignLayer(d: Descriptor): boolean {
  return Array.isArray(d.urls) && d.urls.length > 0 && /foreign|nondistributable/.test(d.mediaType);
}
