// Removes what a record created at its destination, and only that (docs/semantics.md, Deletion): the tag only
// while it still points at one of the record's images; a manifest only when no tag reaches it (an
// index's children count as reached while another tag's index uses them); blobs only when no
// manifest still reached uses them and the registry deletes blobs. Each step checks the
// registry's state first, so the whole is safe to run again after a failure, and each runs under
// the job's fence, so a job that lost its record stops before its next step.
import type { Fence } from '../copy/fence.ts';
import type { CopyLimits } from '../copy/limits.ts';
import { deleteBlob } from '../registry/blob.ts';
import type { RegistryClient } from '../registry/client.ts';
import { deleteManifest, getManifest, headManifest } from '../registry/manifest.ts';
import { deleteTag } from '../registry/tag.ts';
import type { Cleanup } from '../store/types.ts';
import { taggedContents } from './contents.ts';
import { pushThrowaway, throwawayManifest } from './throwaway.ts';

export interface RemoveImageOptions {
  fence: Fence;
  signal?: AbortSignal;
  /** Bounds for reading the images other tags hold. */
  limits?: CopyLimits;
}

/** Returns what stayed at the destination and why; empty when everything went. The plan's images must be resolved. */
export async function removeImage(client: RegistryClient, plan: Cleanup, options: RemoveImageOptions): Promise<string[]> {
  const { repository } = plan;
  const { signal, fence } = options;
  const where = `${client.registry}/${repository}`;
  const images = plan.images.map((image) => image.digest);
  const left: string[] = [];

  if (plan.untag) {
    const outcome = await untag(client, plan, plan.untag, options);
    if (outcome === 'unsupported') {
      // A registry that refuses every delete (Docker Hub, GHCR): nothing more can go.
      return [`${where}:${plan.untag} and ${images.map((digest) => `${where}@${digest}`).join(', ')}: ${client.registry} refuses deletion (405)`];
    }
    if (outcome === 'moved') left.push(`${where}:${plan.untag}: points at another image now, left as it is`);
  }

  const tagged = await taggedContents(client, repository, signal, options.limits);
  if (!tagged || tagged.manifestsUnknown) {
    const why = tagged ? 'an image under another tag is past the bounds on what is read' : 'the repository has too many tags';
    left.push(`${where}@${images.join(', ')}: ${why} to tell what else uses the image; its manifests and layers stay`);
    return left;
  }
  const manifests = unique(plan.images.flatMap((image) => image.manifests ?? [image.digest]));
  for (const manifest of manifests) {
    if (tagged.manifests.has(manifest)) continue;
    const deleted = await fence({ what: `delete manifest ${repository}@${manifest}` }, (fenced) => deleteManifest(client, repository, manifest, fenced));
    if (deleted === 'unsupported') {
      left.push(`${where}@${manifest}: ${client.registry} refuses manifest deletion (405)`);
      return left;
    }
  }
  const unused = unique(plan.images.flatMap((image) => image.blobs ?? [])).filter((blob) => !tagged.blobs.has(blob));
  if (tagged.blobsUnknown && unused.length > 0) {
    left.push(`${unused.length} layer(s) in ${where}: an image under another tag is of a type imagesync does not read, and may use them`);
    return left;
  }
  for (const [i, blob] of unused.entries()) {
    const deleted = await fence({ what: `delete blob ${repository}@${blob}` }, (fenced) => deleteBlob(client, repository, blob, fenced));
    if (deleted === 'unsupported') {
      left.push(`${unused.length - i} layer(s) in ${where}: ${client.registry} does not delete blobs (405)`);
      break;
    }
  }
  return left;
}

async function untag(client: RegistryClient, plan: Cleanup, tag: string, options: RemoveImageOptions): Promise<'removed' | 'moved' | 'unsupported'> {
  const { repository } = plan;
  const { signal, fence } = options;
  const head = await headManifest(client, repository, tag, signal);
  if (!head) return 'removed';
  // A throwaway pushed by an earlier attempt that stopped before deleting it (its config with it).
  const throwaway = plan.throwaway;
  if (throwaway && head.digest === throwaway) {
    const pushed = await getManifest(client, repository, throwaway, signal);
    const config = pushed.content?.kind === 'image' ? pushed.content.config.digest : undefined;
    await fence({ what: `delete throwaway ${repository}@${throwaway}` }, (fenced) => deleteManifest(client, repository, throwaway, fenced));
    if (config) await fence({ what: `delete throwaway config ${repository}@${config}` }, (fenced) => deleteBlob(client, repository, config, fenced));
    return 'removed';
  }
  if (!plan.images.some((image) => image.digest === head.digest)) return 'moved';
  const deletion = await fence({ what: `delete tag ${repository}:${tag}` }, (fenced) => deleteTag(client, repository, tag, fenced));
  if (deletion === 'deleted' || deletion === 'absent') return 'removed';
  if (deletion === 'unsupported') return 'unsupported';
  // The registry deletes by digest only: move the tag to a throwaway and delete that.
  const made = throwawayManifest();
  const digest = made.manifest.digest;
  await fence({ what: `push throwaway to ${repository}:${tag}`, throwaway: digest }, (fenced) => pushThrowaway(client, repository, tag, made, fenced));
  await fence({ what: `delete throwaway ${repository}@${digest}` }, (fenced) => deleteManifest(client, repository, digest, fenced));
  await fence({ what: `delete throwaway config ${repository}@${made.configDigest}` }, (fenced) => deleteBlob(client, repository, made.configDigest, fenced));
  return 'removed';
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
