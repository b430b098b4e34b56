// Blobs: HEAD to learn whether a repository has one, GET to stream it, DELETE to unlink it.
import { validateDigest, validateRepositoryPath } from '../reference/reference.ts';
import { discard } from '../transport/types.ts';
import { repositoryScope, type RegistryClient } from './client.ts';

/** `/v2/<repository>/blobs/<digest>`, refusing (InvalidReferenceError) anything outside the grammar. */
export function blobPath(repository: string, digest: string): string {
  return `/v2/${validateRepositoryPath(repository)}/blobs/${validateDigest(digest)}`;
}

/** The blob's size when the repository has it (-1 when not announced), undefined when it does not. */
export async function headBlob(client: RegistryClient, repository: string, digest: string, signal?: AbortSignal): Promise<number | undefined> {
  const response = await client.send({ method: 'HEAD', path: blobPath(repository, digest), scopes: [repositoryScope(repository, 'pull')], signal });
  if (response.status === 404) return undefined;
  if (response.status !== 200) throw await client.error(`HEAD blob ${repository}@${digest}`, response);
  await discard(response);
  const length = response.headers.get('content-length');
  return length !== null && /^\d{1,15}$/.test(length) ? Number(length) : -1;
}

/** The blob's bytes as a stream (redirects to object storage followed without credentials). */
export async function getBlob(client: RegistryClient, repository: string, digest: string, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>> {
  const response = await client.send({ method: 'GET', path: blobPath(repository, digest), scopes: [repositoryScope(repository, 'pull')], signal });
  if (response.status !== 200 || !response.body) throw await client.error(`get blob ${repository}@${digest}`, response);
  return response.body;
}

/**
 * Unlinks a blob from the repository (space comes back with the registry's garbage collection).
 * 'unsupported' when the registry refuses blob deletion (405, or deletion disabled).
 */
export async function deleteBlob(client: RegistryClient, repository: string, digest: string, signal?: AbortSignal): Promise<'deleted' | 'absent' | 'unsupported'> {
  const response = await client.send({ method: 'DELETE', path: blobPath(repository, digest), scopes: [repositoryScope(repository, 'delete')], signal });
  await discard(response);
  if (response.status === 202 || response.status === 200 || response.status === 204) return 'deleted';
  if (response.status === 404) return 'absent';
  if (response.status === 405) return 'unsupported';
  throw await client.error(`delete blob ${repository}@${digest}`, response);
}
