// Read-back helpers for assertions: what does the registry hold now? Plain HTTP through
// raw-client, never lib/, so a bug in lib/ cannot hide itself.
import { rawFetch, type Target } from './raw-client.ts';

export { skopeoCopy, skopeoInspectRaw, type SkopeoCopyOptions } from './skopeo.ts';

/** Every manifest type: without the OCI ones 2.8 answers 404, without schema 2 it converts to schema 1. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface ManifestResponse {
  status: number;
  bytes: Uint8Array;
  contentType: string | null;
  digestHeader: string | null;
}

export interface ManifestHead {
  status: number;
  contentType: string | null;
  digestHeader: string | null;
  size: number | undefined;
}

const pull = (repo: string): string => `repository:${repo}:pull`;

export async function getManifest(target: Target, repo: string, ref: string): Promise<ManifestResponse> {
  const res = await rawFetch(target, `/v2/${repo}/manifests/${ref}`, { headers: { accept: MANIFEST_ACCEPT } }, pull(repo));
  return {
    status: res.status,
    bytes: new Uint8Array(await res.arrayBuffer()),
    contentType: res.headers.get('content-type'),
    digestHeader: res.headers.get('docker-content-digest'),
  };
}

export async function headManifest(target: Target, repo: string, ref: string): Promise<ManifestHead> {
  const res = await rawFetch(
    target,
    `/v2/${repo}/manifests/${ref}`,
    { method: 'HEAD', headers: { accept: MANIFEST_ACCEPT } },
    pull(repo),
  );
  const length = res.headers.get('content-length');
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    digestHeader: res.headers.get('docker-content-digest'),
    size: length === null ? undefined : Number(length),
  };
}

/** Blob bytes, or undefined when the registry answers 404; other statuses throw. */
export async function getBlob(target: Target, repo: string, digest: string): Promise<Uint8Array | undefined> {
  const res = await rawFetch(target, `/v2/${repo}/blobs/${digest}`, {}, pull(repo));
  if (res.status === 404) {
    await res.body?.cancel();
    return undefined;
  }
  if (res.status !== 200) throw new Error(`GET blob ${repo}@${digest}: ${res.status} ${await res.text()}`);
  return new Uint8Array(await res.arrayBuffer());
}

export async function headBlob(target: Target, repo: string, digest: string): Promise<number> {
  const res = await rawFetch(target, `/v2/${repo}/blobs/${digest}`, { method: 'HEAD' }, pull(repo));
  return res.status;
}

/** Tags of a repository; [] for `"tags": null` (2.8 after deleting the last tag) and for an unknown repository. */
export async function listTags(target: Target, repo: string): Promise<string[]> {
  const res = await rawFetch(target, `/v2/${repo}/tags/list`, {}, pull(repo));
  if (res.status === 404) {
    await res.body?.cancel();
    return [];
  }
  if (res.status !== 200) throw new Error(`GET tags ${repo}: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { tags?: string[] | null };
  return body.tags ?? [];
}

/** Repository names from the catalog (needs `registry:catalog:*` on token registries). */
export async function listRepositories(target: Target): Promise<string[]> {
  const res = await rawFetch(target, '/v2/_catalog', {}, 'registry:catalog:*');
  if (res.status !== 200) throw new Error(`GET catalog: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { repositories?: string[] | null };
  return body.repositories ?? [];
}

/** DELETE by digest (2.8 refuses tags); returns the status, 202 on success. */
export async function deleteManifest(target: Target, repo: string, digest: string): Promise<number> {
  const res = await rawFetch(target, `/v2/${repo}/manifests/${digest}`, { method: 'DELETE' }, `repository:${repo}:delete`);
  await res.body?.cancel();
  return res.status;
}
