// Operations the stand-ins for vendor APIs (ECR's BatchDeleteImage, GitHub Packages, Docker Hub)
// and the quirk proxies perform on the real registry behind them (docker-registry 2.8), which
// can delete a manifest by digest but not a tag alone. Plain HTTP through raw-client, never lib/.
import { createHash, randomUUID } from 'node:crypto';
import { rawFetch, type Target } from './raw-client.ts';
import { MANIFEST_ACCEPT } from './registry-api.ts';

const scope = (repository: string) => `repository:${repository}:pull,push,delete`;

/** The digest a tag points at, or undefined. */
export async function tagDigest(registry: Target, repository: string, tag: string): Promise<string | undefined> {
  const head = await rawFetch(registry, `/v2/${repository}/manifests/${tag}`, { method: 'HEAD', headers: { accept: MANIFEST_ACCEPT } }, scope(repository));
  return head.status === 200 ? (head.headers.get('docker-content-digest') ?? undefined) : undefined;
}

/** Every tag of the repository and the digest each points at. */
export async function tagsOf(registry: Target, repository: string): Promise<Map<string, string>> {
  const list = await rawFetch(registry, `/v2/${repository}/tags/list`, {}, scope(repository));
  const tags = list.status === 200 ? (((await list.json()) as { tags?: string[] | null }).tags ?? []) : [];
  const out = new Map<string, string>();
  for (const tag of tags) {
    const digest = await tagDigest(registry, repository, tag);
    if (digest) out.set(tag, digest);
  }
  return out;
}

/** DELETE manifests/<digest> (every tag on it goes too, as 2.8 does). True when it was there. */
export async function deleteByDigest(registry: Target, repository: string, digest: string): Promise<boolean> {
  const response = await rawFetch(registry, `/v2/${repository}/manifests/${digest}`, { method: 'DELETE' }, scope(repository));
  await response.body?.cancel();
  if (response.status !== 202 && response.status !== 404) throw new Error(`DELETE ${repository}@${digest}: ${response.status}`);
  return response.status === 202;
}

/**
 * Removes one tag and leaves every other tag alone, as registries with tag deletion do: the tag is
 * moved to a throwaway manifest, which is then deleted by digest (with its config blob).
 */
export async function untag(registry: Target, repository: string, tag: string): Promise<boolean> {
  if (!(await tagDigest(registry, repository, tag))) return false;
  const config = new TextEncoder().encode(JSON.stringify({ throwaway: randomUUID() }));
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
  const started = await rawFetch(registry, `/v2/${repository}/blobs/uploads/`, { method: 'POST' }, scope(repository));
  const location = new URL(started.headers.get('location')!, registry.url).href;
  const put = await rawFetch(registry, `${location}${location.includes('?') ? '&' : '?'}digest=${configDigest}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: config }, scope(repository));
  if (put.status !== 201) throw new Error(`throwaway config: ${put.status}`);
  const manifest = new TextEncoder().encode(
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.byteLength }, layers: [] }),
  );
  const pushed = await rawFetch(registry, `/v2/${repository}/manifests/${tag}`, { method: 'PUT', headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest }, scope(repository));
  if (pushed.status !== 201) throw new Error(`throwaway manifest: ${pushed.status}`);
  await deleteByDigest(registry, repository, `sha256:${createHash('sha256').update(manifest).digest('hex')}`);
  const blob = await rawFetch(registry, `/v2/${repository}/blobs/${configDigest}`, { method: 'DELETE' }, scope(repository));
  await blob.body?.cancel();
  return true;
}
