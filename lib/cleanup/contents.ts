// What an image consists of in a repository, and what the repository's tags still reach:
// the two sides of deciding what may be deleted. Both walks are bounded like a copy: each
// manifest read once, the image's manifests and nesting capped.
import type { RegistryClient } from '../registry/client.ts';
import { NotFoundError } from '../registry/errors.ts';
import { getManifest, headManifest } from '../registry/manifest.ts';
import { isForeignLayer, parseManifestContent } from '../registry/media-types.ts';
import { listTags } from '../registry/tag.ts';
import { ImageLimitError } from '../copy/errors.ts';
import { Limiter } from '../copy/limit.ts';
import { DEFAULT_LIMITS, type CopyLimits } from '../copy/limits.ts';

export interface Contents {
  /** The image's manifests: the top one first, then (for an index) its children. */
  manifests: string[];
  blobs: string[];
}

/** Manifests read to learn what a repository's tags reach, before giving up on telling. */
const TAGGED_MANIFEST_BUDGET = 10_000;

/** The manifests and blobs of the image at `digest`; a manifest already gone contributes nothing more. */
export async function imageContents(client: RegistryClient, repository: string, digest: string, signal?: AbortSignal, limits: CopyLimits = DEFAULT_LIMITS): Promise<Contents> {
  const manifests = new Set<string>();
  const blobs = new Set<string>();
  const visit = async (at: string, depth: number): Promise<void> => {
    if (manifests.has(at)) return;
    manifests.add(at);
    if (manifests.size > limits.maxManifests) {
      throw new ImageLimitError(client.registry, `${repository}@${digest} has more than ${limits.maxManifests} manifests (IMAGESYNC_MAX_MANIFESTS)`);
    }
    let manifest;
    try {
      manifest = await getManifest(client, repository, at, signal);
    } catch (error) {
      if (error instanceof NotFoundError) return;
      throw error;
    }
    const content = manifest.content ?? parseManifestContent(manifest.json, manifest.mediaType, `${client.registry}: manifest ${repository}@${at}`);
    if (content.kind === 'index') {
      if (depth >= limits.maxDepth && content.manifests.length > 0) {
        throw new ImageLimitError(client.registry, `${repository}@${digest} nests indexes deeper than ${limits.maxDepth} (IMAGESYNC_MAX_INDEX_DEPTH)`);
      }
      for (const child of content.manifests) await visit(child.digest, depth + 1);
    } else {
      for (const blob of [content.config, ...content.layers]) if (!isForeignLayer(blob)) blobs.add(blob.digest);
    }
  };
  await visit(digest, 0);
  return { manifests: [...manifests], blobs: [...blobs] };
}

/**
 * Every manifest and blob reachable from the repository's tags right now; undefined when that
 * takes more than a bounded number of manifest reads (then nothing can be known unused).
 */
export async function taggedContents(client: RegistryClient, repository: string, signal?: AbortSignal): Promise<{ manifests: Set<string>; blobs: Set<string> } | undefined> {
  const limiter = new Limiter(8);
  const tags = await listTags(client, repository, signal);
  if (tags.length > TAGGED_MANIFEST_BUDGET) return undefined;
  const heads = await Promise.all(tags.map((tag) => limiter.run(() => headManifest(client, repository, tag, signal))));
  const digests = new Set(heads.map((head) => head?.digest).filter((digest): digest is string => digest !== undefined));
  const manifests = new Set<string>();
  const blobs = new Set<string>();
  for (const digest of digests) {
    if (manifests.has(digest)) continue;
    const image = await limiter.run(() => imageContents(client, repository, digest, signal));
    for (const m of image.manifests) manifests.add(m);
    for (const b of image.blobs) blobs.add(b);
    if (manifests.size > TAGGED_MANIFEST_BUDGET) return undefined;
  }
  return { manifests, blobs };
}
