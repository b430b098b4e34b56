// Removes what a record created at its destination, and only that (CONTRACT.md, Deletion):
// the tag only while it still points at the record's digest; the manifest only when no other
// tag reaches it (an index's children count as reached while another tag's index uses them);
// blobs only when no manifest still reached uses them and the registry deletes blobs. Each step
// checks the registry's state first, so the whole is safe to run again after a failure.
import type { RegistryClient } from '../registry/client.ts';
import { deleteBlob } from '../registry/blob.ts';
import { deleteManifest, headManifest } from '../registry/manifest.ts';
import { deleteTag } from '../registry/tag.ts';
import type { Cleanup } from '../store/types.ts';
import { taggedContents } from './contents.ts';
import { pushThrowaway, throwawayManifest } from './throwaway.ts';

export interface RemoveImageOptions {
  /** Called with the throwaway's digest before the tag moves to it (so a retry can find it). */
  saveThrowaway: (digest: string) => Promise<void>;
  signal?: AbortSignal;
}

/** Returns what stayed at the destination and why; empty when everything went. */
export async function removeImage(client: RegistryClient, plan: Cleanup, options: RemoveImageOptions): Promise<string[]> {
  const { repository } = plan;
  const { signal } = options;
  const where = `${client.registry}/${repository}`;
  const left: string[] = [];

  if (plan.untag) {
    const outcome = await untag(client, plan, plan.untag, options);
    if (outcome === 'unsupported') {
      // A registry that refuses every delete (Docker Hub, GHCR): nothing more can go.
      return [`${where}:${plan.untag} and ${where}@${plan.digest}: ${client.registry} refuses deletion (405)`];
    }
    if (outcome === 'moved') left.push(`${where}:${plan.untag}: points at another image now, left as it is`);
  }

  const tagged = await taggedContents(client, repository, signal);
  for (const manifest of plan.manifests) {
    if (tagged.manifests.has(manifest)) continue;
    if ((await deleteManifest(client, repository, manifest, signal)) === 'unsupported') {
      left.push(`${where}@${manifest}: ${client.registry} refuses manifest deletion (405)`);
      return left;
    }
  }
  const unused = plan.blobs.filter((blob) => !tagged.blobs.has(blob));
  for (const [i, blob] of unused.entries()) {
    if ((await deleteBlob(client, repository, blob, signal)) === 'unsupported') {
      left.push(`${unused.length - i} layer(s) in ${where}: ${client.registry} does not delete blobs (405)`);
      break;
    }
  }
  return left;
}

async function untag(client: RegistryClient, plan: Cleanup, tag: string, options: RemoveImageOptions): Promise<'removed' | 'moved' | 'unsupported'> {
  const { repository } = plan;
  const { signal } = options;
  const head = await headManifest(client, repository, tag, signal);
  if (!head) return 'removed';
  // A throwaway pushed by an earlier attempt that stopped before deleting it.
  if (plan.throwaway && head.digest === plan.throwaway) {
    await deleteManifest(client, repository, plan.throwaway, signal);
    return 'removed';
  }
  if (head.digest !== plan.digest) return 'moved';
  const deletion = await deleteTag(client, repository, tag, signal);
  if (deletion === 'deleted' || deletion === 'absent') return 'removed';
  if (deletion === 'unsupported') return 'unsupported';
  // The registry deletes by digest only: move the tag to a throwaway and delete that.
  const throwaway = throwawayManifest();
  await options.saveThrowaway(throwaway.manifest.digest);
  await pushThrowaway(client, repository, tag, throwaway, signal);
  await deleteManifest(client, repository, throwaway.manifest.digest, signal);
  await deleteBlob(client, repository, throwaway.configDigest, signal);
  return 'removed';
}
