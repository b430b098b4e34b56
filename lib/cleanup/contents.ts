// What an image consists of in a repository, and what the repository's tags still reach:
// the two sides of deciding what may be deleted. Both walks are bounded like a copy: each
// manifest read once, the image's manifests and nesting capped.
import type { RegistryClient } from '../registry/client.ts';
import { NotFoundError } from '../registry/errors.ts';
import { getManifest, headManifest } from '../registry/manifest.ts';
import { isForeignLayer, ManifestFormatError, parseManifestContent } from '../registry/media-types.ts';
import { listTags } from '../registry/tag.ts';
import { ImageLimitError } from '../copy/errors.ts';
import { Limiter } from '../util/limit.ts';
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

/** What the repository's tags reach now, and what could not be known. */
export interface Tagged {
  manifests: Set<string>;
  blobs: Set<string>;
  /**
   * A tagged image of a type this tool does not read (Docker schema 1, another artifact): it may
   * use any blob, so none can be known unused. It cannot list manifests, so those still can.
   */
  blobsUnknown: boolean;
  /** A tagged image past the bounds (an index too large or deep): nothing can be known unused. */
  manifestsUnknown: boolean;
}

/**
 * Every manifest and blob reachable from the repository's tags right now; undefined when that
 * takes more than a bounded number of manifest reads (then nothing can be known unused).
 */
export async function taggedContents(client: RegistryClient, repository: string, signal?: AbortSignal, limits: CopyLimits = DEFAULT_LIMITS): Promise<Tagged | undefined> {
  const limiter = new Limiter(8);
  const tags = await listTags(client, repository, signal);
  if (tags.length > TAGGED_MANIFEST_BUDGET) return undefined;
  const heads = await Promise.all(tags.map((tag) => limiter.run(() => headManifest(client, repository, tag, signal))));
  const digests = new Set(heads.map((head) => head?.digest).filter((digest): digest is string => digest !== undefined));
  const tagged: Tagged = { manifests: new Set(), blobs: new Set(), blobsUnknown: false, manifestsUnknown: false };
  for (const digest of digests) {
    if (tagged.manifests.has(digest)) continue;
    let image: Contents;
    try {
      image = await limiter.run(() => imageContents(client, repository, digest, signal, limits));
    } catch (error) {
      if (!(error instanceof ManifestFormatError || error instanceof ImageLimitError)) throw error;
      // Someone else's image, unreadable to us: keep it, and whatever it might use.
      tagged.manifests.add(digest);
      tagged.blobsUnknown = true;
      if (error instanceof ImageLimitError) tagged.manifestsUnknown = true;
      continue;
    }
    for (const m of image.manifests) tagged.manifests.add(m);
    for (const b of image.blobs) tagged.blobs.add(b);
    if (tagged.manifests.size > TAGGED_MANIFEST_BUDGET) return undefined;
  }
  return tagged;
}
