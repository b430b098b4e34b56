// Manifest operations: HEAD for the digest, GET keeping the exact bytes (verified against the
// digest asked for or announced, descriptors checked), PUT with the Content-Type equal to the
// manifest's media type. What a registry sends is checked before it is used or trusted.
import { validateDigest, validateRepositoryPath, validateTag } from '../reference/reference.ts';
import { digestOf, DigestMismatchError, verifiableDigest, verifiableDigestProblem } from '../util/digest.ts';
import { readAllCapped, SizeLimitError } from '../util/stream.ts';
import { discard, type HttpResponse } from '../transport/types.ts';
import type { RegistryClient } from './client.ts';
import { repositoryScope } from './client.ts';
import { NotFoundError, RegistryProtocolError } from './errors.ts';
import {
  isSupportedManifestType,
  MalformedManifestError,
  MANIFEST_ACCEPT,
  manifestMediaType,
  parseManifestContent,
  type ManifestContent,
} from './media-types.ts';

/** Registries cap manifests at 4 MiB. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface Manifest {
  bytes: Uint8Array;
  mediaType: string;
  digest: string;
  /** Parsed once, for the copy to walk. */
  json: unknown;
  /** The checked descriptors, for the four supported types (getManifest sets it). */
  content?: ManifestContent;
}

export interface ManifestHead {
  digest: string;
  mediaType?: string;
  size?: number;
}

/** A manifest's digest, or the registry's own answer saying it has none (MANIFEST_UNKNOWN, ...). */
export type ManifestLookup = { digest: string; mediaType?: string } | { missing: NotFoundError };

/**
 * `/v2/<repository>/manifests/<tag or digest>`, refusing (InvalidReferenceError) anything outside
 * the grammar: a '/' or '..' would make the URL name another resource, with our credentials.
 */
export function manifestPath(repository: string, reference: string): string {
  validateRepositoryPath(repository);
  if (isDigest(reference)) validateDigest(reference);
  else validateTag(reference);
  return `/v2/${repository}/manifests/${reference}`;
}

function isDigest(reference: string): boolean {
  return reference.includes(':');
}

function algorithmOf(digest: string): string {
  return digest.slice(0, digest.indexOf(':'));
}

function named(repository: string, reference: string): string {
  return `${repository}${isDigest(reference) ? '@' : ':'}${reference}`;
}

/**
 * The Docker-Content-Digest header, checked: undefined when absent; a RegistryProtocolError when
 * present but not a digest this client can verify (a malformed one is never trusted).
 */
export function announcedDigest(client: RegistryClient, operation: string, response: HttpResponse): string | undefined {
  const header = response.headers.get('docker-content-digest');
  if (header === null) return undefined;
  const problem = verifiableDigestProblem(header);
  if (problem !== undefined) throw new RegistryProtocolError(client.registry, operation, problem, { field: 'Docker-Content-Digest', status: response.status });
  return header;
}

function contentLength(response: HttpResponse): number | undefined {
  const header = response.headers.get('content-length');
  return header !== null && /^\d{1,15}$/.test(header) ? Number(header) : undefined;
}

/**
 * The manifest's digest and type without its body; undefined when absent. A registry that
 * answers HEAD without Docker-Content-Digest gets a GET: the digest is the hash of the bytes.
 */
export async function headManifest(client: RegistryClient, repository: string, reference: string, signal?: AbortSignal): Promise<ManifestHead | undefined> {
  const operation = `HEAD manifest ${named(repository, reference)}`;
  const response = await client.send({
    method: 'HEAD',
    path: manifestPath(repository, reference),
    scopes: [repositoryScope(repository, 'pull')],
    headers: { accept: MANIFEST_ACCEPT },
    signal,
  });
  if (response.status === 404) {
    await discard(response);
    return undefined;
  }
  if (response.status !== 200) throw await client.error(operation, response);
  await discard(response);
  const announced = announcedDigest(client, operation, response);
  const mediaType = response.headers.get('content-type')?.split(';')[0]?.trim();
  const size = contentLength(response);
  if (isDigest(reference)) {
    // Another algorithm may name the same bytes; the same algorithm with another value is a lie.
    if (announced && announced !== reference && algorithmOf(announced) === algorithmOf(reference)) {
      throw new RegistryProtocolError(client.registry, operation, `announces ${announced} for ${reference}`, { field: 'Docker-Content-Digest' });
    }
    return { digest: reference, mediaType, size };
  }
  if (announced) return { digest: announced, mediaType, size };
  try {
    const manifest = await getManifest(client, repository, reference, signal);
    return { digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.bytes.byteLength };
  } catch (error) {
    // Gone between the HEAD and the GET.
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/**
 * What a tag or digest resolves to, for callers that report a missing image: the digest (HEAD,
 * with headManifest's GET fallback), or the registry's own NotFoundError. HEAD answers carry no
 * body, so a missing manifest costs one GET to learn the registry's code (MANIFEST_UNKNOWN,
 * NAME_UNKNOWN) instead of a bare "404".
 */
export async function manifestDigest(client: RegistryClient, repository: string, reference: string, signal?: AbortSignal): Promise<ManifestLookup> {
  const head = await headManifest(client, repository, reference, signal);
  if (head) return { digest: head.digest, mediaType: head.mediaType };
  try {
    const manifest = await getManifest(client, repository, reference, signal);
    // There after all (a registry whose HEAD and GET disagree, or a push in between).
    return { digest: manifest.digest, mediaType: manifest.mediaType };
  } catch (error) {
    if (error instanceof NotFoundError) return { missing: error };
    throw error;
  }
}

export async function getManifest(client: RegistryClient, repository: string, reference: string, signal?: AbortSignal): Promise<Manifest> {
  const operation = `get manifest ${named(repository, reference)}`;
  const response = await client.send({
    method: 'GET',
    path: manifestPath(repository, reference),
    scopes: [repositoryScope(repository, 'pull')],
    headers: { accept: MANIFEST_ACCEPT },
    signal,
  });
  if (response.status !== 200) throw await client.error(operation, response);
  const fail = (problem: string, field?: string, cause?: unknown): never => {
    throw new RegistryProtocolError(client.registry, operation, problem, { field, cause });
  };
  // Headers are checked before the body is read: a malformed digest or a huge length costs no download.
  let announced: string | undefined;
  try {
    announced = announcedDigest(client, operation, response);
  } catch (error) {
    await discard(response);
    throw error;
  }
  const length = contentLength(response);
  if (length !== undefined && length > MAX_MANIFEST_BYTES) {
    await discard(response);
    fail(`the manifest is ${length} bytes, more than the ${MAX_MANIFEST_BYTES} registries accept`, 'Content-Length');
  }
  if (!response.body) return fail('the answer has no body');
  let bytes: Uint8Array;
  try {
    bytes = await readAllCapped(response.body, MAX_MANIFEST_BYTES, 'the manifest');
  } catch (error) {
    if (error instanceof SizeLimitError) return fail(`the manifest is larger than the ${MAX_MANIFEST_BYTES} bytes registries accept`, undefined, error);
    throw error;
  }
  // The digest is over the exact bytes: verify against what was asked for, else what was announced.
  const expected = isDigest(reference) ? reference : announced;
  const algorithm = expected ? verifiableDigest(expected).algorithm : 'sha256';
  const digest = digestOf(bytes, algorithm);
  if (expected && digest !== expected) {
    throw new DigestMismatchError(`${client.registry}: ${operation}: content does not match its digest (expected ${expected}, got ${digest})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return fail('the manifest is not JSON');
  }
  const mediaType = manifestMediaType(json, response.headers.get('content-type'));
  const manifest: Manifest = { bytes, mediaType, digest, json };
  // Other types are the caller's to refuse (ManifestFormatError: an image this tool does not copy).
  if (isSupportedManifestType(mediaType)) {
    try {
      manifest.content = parseManifestContent(json, mediaType, `${client.registry}: manifest ${repository}@${digest}`);
    } catch (error) {
      if (error instanceof MalformedManifestError) return fail(error.problem, error.field, error);
      throw error;
    }
  }
  return manifest;
}

/** PUTs the manifest's exact bytes under a tag or its digest; returns the digest the registry reports. */
export async function putManifest(client: RegistryClient, repository: string, reference: string, manifest: Manifest, signal?: AbortSignal): Promise<string> {
  const operation = `put manifest ${named(repository, reference)}`;
  const response = await client.send({
    method: 'PUT',
    path: manifestPath(repository, reference),
    scopes: [repositoryScope(repository, 'pull,push')],
    headers: { 'content-type': manifest.mediaType },
    body: manifest.bytes,
    signal,
  });
  if (response.status !== 201 && response.status !== 200) throw await client.error(operation, response);
  await discard(response);
  const reported = announcedDigest(client, operation, response);
  if (reported && reported !== manifest.digest) {
    throw new DigestMismatchError(`${client.registry}: ${operation}: the registry stored digest ${reported}, expected ${manifest.digest}`);
  }
  return manifest.digest;
}

/**
 * Deletes a manifest by digest; on distribution 2.8 every tag on it goes too. 'unsupported' when
 * the registry refuses deletion (405: Docker Hub, GHCR, or deletion disabled).
 */
export async function deleteManifest(client: RegistryClient, repository: string, digest: string, signal?: AbortSignal): Promise<'deleted' | 'absent' | 'unsupported'> {
  const response = await client.send({
    method: 'DELETE',
    path: manifestPath(repository, validateDigest(digest)),
    scopes: [repositoryScope(repository, 'delete')],
    signal,
  });
  await discard(response);
  if (response.status === 202 || response.status === 200 || response.status === 204) return 'deleted';
  if (response.status === 404) return 'absent';
  if (response.status === 405) return 'unsupported';
  throw await client.error(`delete manifest ${repository}@${digest}`, response);
}
