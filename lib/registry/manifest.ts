// Manifest operations: HEAD for the digest, GET keeping the exact bytes (verified against the
// digest asked for or announced), PUT with the Content-Type equal to the manifest's media type.
import { checkDigest, digestOf, DigestMismatchError } from '../util/digest.ts';
import { readAllCapped } from '../util/stream.ts';
import { discard } from '../transport/types.ts';
import type { RegistryClient } from './client.ts';
import { repositoryScope } from './client.ts';
import { MANIFEST_ACCEPT, manifestMediaType } from './media-types.ts';

/** Registries cap manifests at 4 MiB. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface Manifest {
  bytes: Uint8Array;
  mediaType: string;
  digest: string;
  /** Parsed once, for the copy to walk. */
  json: unknown;
}

export interface ManifestHead {
  digest?: string;
  mediaType?: string;
  size?: number;
}

function manifestPath(repository: string, reference: string): string {
  return `/v2/${repository}/manifests/${reference}`;
}

function isDigest(reference: string): boolean {
  return reference.includes(':');
}

/** The manifest's digest and type without its body; undefined when absent. */
export async function headManifest(client: RegistryClient, repository: string, reference: string, signal?: AbortSignal): Promise<ManifestHead | undefined> {
  const response = await client.send({
    method: 'HEAD',
    path: manifestPath(repository, reference),
    scopes: [repositoryScope(repository, 'pull')],
    headers: { accept: MANIFEST_ACCEPT },
    signal,
  });
  if (response.status === 404) return undefined;
  if (response.status !== 200) throw await client.error(`HEAD manifest ${repository}:${reference}`, response);
  const length = response.headers.get('content-length');
  return {
    digest: response.headers.get('docker-content-digest') ?? (isDigest(reference) ? reference : undefined),
    mediaType: response.headers.get('content-type')?.split(';')[0]?.trim(),
    size: length === null ? undefined : Number(length),
  };
}

export async function getManifest(client: RegistryClient, repository: string, reference: string, signal?: AbortSignal): Promise<Manifest> {
  const operation = `get manifest ${repository}${isDigest(reference) ? '@' : ':'}${reference}`;
  const response = await client.send({
    method: 'GET',
    path: manifestPath(repository, reference),
    scopes: [repositoryScope(repository, 'pull')],
    headers: { accept: MANIFEST_ACCEPT },
    signal,
  });
  if (response.status !== 200 || !response.body) throw await client.error(operation, response);
  const bytes = await readAllCapped(response.body, MAX_MANIFEST_BYTES, `${client.registry}: manifest ${repository}:${reference}`);
  // The digest is over the exact bytes: verify against what was asked for, else what was announced.
  const expected = isDigest(reference) ? reference : response.headers.get('docker-content-digest') ?? undefined;
  const algorithm = expected ? checkDigest(expected).algorithm : 'sha256';
  const digest = digestOf(bytes, algorithm);
  if (expected && digest !== expected) {
    throw new DigestMismatchError(`${client.registry}: ${operation}: content does not match its digest (expected ${expected}, got ${digest})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new Error(`${client.registry}: ${operation}: the manifest is not JSON`);
  }
  return { bytes, mediaType: manifestMediaType(json, response.headers.get('content-type')), digest, json };
}

/** PUTs the manifest's exact bytes under a tag or its digest; returns the digest the registry reports. */
export async function putManifest(client: RegistryClient, repository: string, reference: string, manifest: Manifest, signal?: AbortSignal): Promise<string> {
  const response = await client.send({
    method: 'PUT',
    path: manifestPath(repository, reference),
    scopes: [repositoryScope(repository, 'pull,push')],
    headers: { 'content-type': manifest.mediaType },
    body: manifest.bytes,
    signal,
  });
  if (response.status !== 201 && response.status !== 200) {
    throw await client.error(`put manifest ${repository}${isDigest(reference) ? '@' : ':'}${reference}`, response);
  }
  await discard(response);
  const reported = response.headers.get('docker-content-digest');
  if (reported && reported !== manifest.digest) {
    throw new DigestMismatchError(`${client.registry}: put manifest ${repository}:${reference}: the registry stored digest ${reported}, expected ${manifest.digest}`);
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
    path: manifestPath(repository, digest),
    scopes: [repositoryScope(repository, 'delete')],
    signal,
  });
  await discard(response);
  if (response.status === 202 || response.status === 200 || response.status === 204) return 'deleted';
  if (response.status === 404) return 'absent';
  if (response.status === 405) return 'unsupported';
  throw await client.error(`delete manifest ${repository}@${digest}`, response);
}
