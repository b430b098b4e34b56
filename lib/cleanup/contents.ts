// What an image consists of in a repository, and what the repository's tags still reach:
// the two sides of deciding what may be deleted.
import type { RegistryClient } from '../registry/client.ts';
import { NotFoundError } from '../registry/errors.ts';
import { getManifest, headManifest } from '../registry/manifest.ts';
import { isForeignLayer, parseManifestContent } from '../registry/media-types.ts';
import { listTags } from '../registry/tag.ts';
import { Limiter } from '../copy/limit.ts';

export interface Contents {
  /** The image's manifests: the top one first, then (for an index) its children. */
  manifests: string[];
  blobs: string[];
}

/** The manifests and blobs of the image at `digest`; a manifest already gone contributes nothing more. */
export async function imageContents(client: RegistryClient, repository: string, digest: string, signal?: AbortSignal): Promise<Contents> {
  const manifests: string[] = [];
  const blobs = new Set<string>();
  const visit = async (at: string): Promise<void> => {
    if (manifests.includes(at)) return;
    manifests.push(at);
    let manifest;
    try {
      manifest = await getManifest(client, repository, at, signal);
    } catch (error) {
      if (error instanceof NotFoundError) return;
      throw error;
    }
    const content = parseManifestContent(manifest.json, manifest.mediaType, `${client.registry}: manifest ${repository}@${at}`);
    if (content.kind === 'index') {
      for (const child of content.manifests) await visit(child.digest);
    } else {
      for (const blob of [content.config, ...content.layers]) if (!isForeignLayer(blob)) blobs.add(blob.digest);
    }
  };
  await visit(digest);
  return { manifests, blobs: [...blobs] };
}

/** Every manifest and blob reachable from the repository's tags right now. */
export async function taggedContents(client: RegistryClient, repository: string, signal?: AbortSignal): Promise<{ manifests: Set<string>; blobs: Set<string> }> {
  const limiter = new Limiter(8);
  const tags = await listTags(client, repository, signal);
  const heads = await Promise.all(tags.map((tag) => limiter.run(() => headManifest(client, repository, tag, signal))));
  const digests = new Set(heads.map((head) => head?.digest).filter((digest): digest is string => digest !== undefined));
  const manifests = new Set<string>();
  const blobs = new Set<string>();
  const contents = await Promise.all([...digests].map((digest) => limiter.run(() => imageContents(client, repository, digest, signal))));
  for (const image of contents) {
    for (const m of image.manifests) manifests.add(m);
    for (const b of image.blobs) blobs.add(b);
  }
  return { manifests, blobs };
}
