// Blob uploads (OCI distribution spec, "Pushing blobs"): cross-repository mount, a monolithic
// PUT streaming the whole body, or PATCH chunks for registries that cap a request's size.
import { validateDigest, validateRepositoryPath } from '../reference/reference.ts';
import { discard, type Body, type HttpResponse } from '../transport/types.ts';
import { StreamSlicer } from '../util/stream.ts';
import { repositoryScope, type RegistryClient } from './client.ts';
import { RegistryError, RegistryProtocolError } from './errors.ts';

export interface UploadSession {
  /** Absolute URL of the session; every answer carries the next one. */
  location: string;
  /** `OCI-Chunk-Min-Length`: the registry's smallest accepted chunk. */
  chunkMinLength?: number;
}

/** The registry refused the body as too large (413): chunked upload is the way. */
export class BodyTooLargeError extends RegistryError {
  override name = 'BodyTooLargeError';
}

/** 413, or 416 on a chunk (GHCR's answer to a PATCH over 4 MiB): the body was too large for it. */
async function uploadError(client: RegistryClient, operation: string, response: HttpResponse, chunk = false): Promise<RegistryError> {
  const error = await client.error(operation, response);
  const tooLarge = response.status === 413 || (chunk && response.status === 416);
  return tooLarge ? new BodyTooLargeError(error.registry, error.operation, error.status, error.errors) : error;
}

const octetStream = 'application/octet-stream';

// What registries answer where the spec says one status: a PATCH is 202 in the spec, 201 on ECR
// (regclient/regclient#82); the closing PUT is 201 in the spec, 204 on some registries.
const CHUNK_TAKEN = new Set([202, 201, 204]);
const CLOSED = new Set([201, 204]);

/** `/v2/<repository>/blobs/uploads/`, refusing (InvalidReferenceError) a repository outside the grammar. */
export function uploadsPath(repository: string): string {
  return `/v2/${validateRepositoryPath(repository)}/blobs/uploads/`;
}

/**
 * The session an answer hands out: its Location resolved against the request (absolute on 2.8,
 * relative with `relativeurls`). Where it points is the client's policy (RegistryClient.send:
 * scheme checks, no credentials to another origin); a missing or unparsable one is a protocol error.
 */
function session(client: RegistryClient, operation: string, response: HttpResponse, requestUrl: string): UploadSession {
  const fail = (problem: string): never => {
    throw new RegistryProtocolError(client.registry, operation, problem, { field: 'Location', status: response.status });
  };
  const location = response.headers.get('location');
  if (!location) return fail(`missing on a ${response.status} answer to an upload`);
  let url: URL;
  try {
    url = new URL(location, requestUrl);
  } catch {
    return fail('not a URL');
  }
  const header = response.headers.get('oci-chunk-min-length');
  const min = header !== null && /^\d{1,15}$/.test(header) ? Number(header) : 0;
  return { location: url.href, chunkMinLength: min > 0 ? min : undefined };
}

/** The spec's rule: add `digest=` to the session URL's query as text, keeping the rest as it is. */
function withDigest(location: string, digest: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(validateDigest(digest))}`;
}

export async function startUpload(client: RegistryClient, repository: string, signal?: AbortSignal): Promise<UploadSession> {
  const path = uploadsPath(repository);
  const response = await client.send({ method: 'POST', path, scopes: [repositoryScope(repository, 'pull,push')], headers: { 'content-length': '0' }, signal });
  const operation = `start upload to ${repository}`;
  if (response.status !== 202) throw await client.error(operation, response);
  await discard(response);
  return session(client, operation, response, new URL(path, client.baseUrl).href);
}

/**
 * Asks the registry to link a blob from another repository. Mounted, or else the session the
 * registry opened instead (any answer but 201 means: upload it normally).
 */
export async function mountBlob(
  client: RegistryClient,
  repository: string,
  digest: string,
  from: string,
  signal?: AbortSignal,
): Promise<{ mounted: true } | { mounted: false; session?: UploadSession }> {
  const path = `${uploadsPath(repository)}?mount=${encodeURIComponent(validateDigest(digest))}&from=${encodeURIComponent(validateRepositoryPath(from))}`;
  const response = await client.send({
    method: 'POST',
    path,
    scopes: [repositoryScope(repository, 'pull,push'), repositoryScope(from, 'pull')],
    headers: { 'content-length': '0' },
    signal,
  });
  await discard(response);
  if (response.status === 201) return { mounted: true };
  if (response.status !== 202) return { mounted: false };
  try {
    return { mounted: false, session: session(client, `mount ${digest} into ${repository}`, response, new URL(path, client.baseUrl).href) };
  } catch (error) {
    // No usable session: the caller starts one of its own, as for any answer but 201.
    if (error instanceof RegistryProtocolError) return { mounted: false };
    throw error;
  }
}

/** One PUT carrying the whole blob. */
export async function putBlob(client: RegistryClient, repository: string, upload: UploadSession, digest: string, size: number, body: Body, signal?: AbortSignal): Promise<void> {
  const response = await client.send({
    method: 'PUT',
    path: withDigest(upload.location, digest),
    scopes: [repositoryScope(repository, 'pull,push')],
    headers: { 'content-type': octetStream, 'content-length': String(size) },
    body,
    signal,
  });
  if (!CLOSED.has(response.status)) throw await uploadError(client, `upload ${digest} to ${repository}`, response);
  await discard(response);
}

/**
 * PATCH chunks of `chunkSize` bytes (each Content-Range'd), then the closing PUT with the digest.
 * The chunk size keeps within the registry's bounds: its profile's and OCI-Chunk-Min-Length.
 */
export async function putBlobChunked(
  client: RegistryClient,
  repository: string,
  upload: UploadSession,
  digest: string,
  size: number,
  body: ReadableStream<Uint8Array>,
  chunkSize: number,
  signal?: AbortSignal,
): Promise<void> {
  const policy = client.profile.upload;
  const step = Math.max(Math.min(chunkSize, policy.maxChunk), policy.minChunk, upload.chunkMinLength ?? 0);
  if (policy.maxChunks !== undefined && Math.ceil(size / step) > policy.maxChunks) {
    await body.cancel().catch(() => {});
    throw new RegistryError(client.registry, `upload ${digest} to ${repository}`, 413, [
      { code: 'SIZE_INVALID', message: `${size} bytes need more than ${policy.maxChunks} chunks of ${step} bytes, the most this registry takes` },
    ]);
  }
  const slicer = new StreamSlicer(body);
  let location = upload.location;
  try {
    for (let offset = 0; offset < size; offset += step) {
      const length = Math.min(step, size - offset);
      const response = await client.send({
        method: 'PATCH',
        path: location,
        scopes: [repositoryScope(repository, 'pull,push')],
        headers: { 'content-type': octetStream, 'content-length': String(length), 'content-range': `${offset}-${offset + length - 1}` },
        body: slicer.take(length),
        signal,
      });
      const operation = `upload chunk ${offset}-${offset + length - 1} of ${digest} to ${repository}`;
      if (!CHUNK_TAKEN.has(response.status)) throw await uploadError(client, operation, response, true);
      await discard(response);
      location = session(client, operation, response, location).location;
    }
  } catch (error) {
    await slicer.cancel(error);
    throw error;
  }
  await putBlob(client, repository, { location }, digest, 0, new Uint8Array(0), signal);
}

/**
 * One PATCH carrying the whole blob (no Content-Range: the first and last part), then the closing
 * PUT: how docker and skopeo push, and what registries that cap a PUT's body take.
 */
export async function putBlobStreamed(client: RegistryClient, repository: string, upload: UploadSession, digest: string, size: number, body: Body, signal?: AbortSignal): Promise<void> {
  const operation = `upload ${digest} to ${repository}`;
  const response = await client.send({
    method: 'PATCH',
    path: upload.location,
    scopes: [repositoryScope(repository, 'pull,push')],
    headers: { 'content-type': octetStream, 'content-length': String(size) },
    body,
    signal,
  });
  if (!CHUNK_TAKEN.has(response.status)) throw await uploadError(client, operation, response, true);
  await discard(response);
  await putBlob(client, repository, session(client, operation, response, upload.location), digest, 0, new Uint8Array(0), signal);
}

/** Abandons a session so the registry can drop what it received; failures do not matter. */
export async function cancelUpload(client: RegistryClient, repository: string, upload: UploadSession): Promise<void> {
  try {
    const response = await client.send({ method: 'DELETE', path: upload.location, scopes: [repositoryScope(repository, 'pull,push')] });
    await discard(response);
  } catch {
    // Best effort: the registry purges stale uploads itself.
  }
}
