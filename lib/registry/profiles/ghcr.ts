// GitHub Container Registry (ghcr.io). What differs, with the public record of it:
// - A PATCH larger than 4 MiB answers 416 (REGISTRY-NOTES; regclient and skopeo trackers): chunks
//   stay at 4 MiB when a blob must go in chunks (upload.ts reads a 416 on a chunk as "too large").
// - Manifest DELETE answers 405: deletion goes through the GitHub Packages REST API (delete a
//   package version; a token with delete:packages), docs.github.com/rest/packages (github-api.ts).
// - No referrers API (the `sha256-<hex>` fallback tag applies).
import type { RemoveImageOptions } from '../../cleanup/remove-image.ts';
import type { Credential } from '../../auth/credentials.ts';
import { hostWithoutPort } from '../../reference/reference.ts';
import type { Cleanup } from '../../store/types.ts';
import type { RegistryClient } from '../client.ts';
import { RegistryError } from '../errors.ts';
import { GitHubPackages, packageOf, type Refusal } from './github-api.ts';
import { MEBIBYTE, type RegistryProfile } from './profile.ts';

/**
 * The registry operations a deletion uses, loaded when one runs: they import the registry client,
 * which imports the profiles, so a static import would be a cycle the first import of a profile
 * module trips over.
 */
async function operations() {
  const [manifest, contents, throwaway] = await Promise.all([import('../manifest.ts'), import('../../cleanup/contents.ts'), import('../../cleanup/throwaway.ts')]);
  return { ...manifest, ...contents, ...throwaway };
}
type Operations = Awaited<ReturnType<typeof operations>>;

export interface GhcrSettings {
  /** The GitHub REST API (IMAGESYNC_GITHUB_API_URL; GitHub Enterprise Server has its own). */
  apiUrl: string;
}

export const DEFAULT_GHCR_SETTINGS: GhcrSettings = { apiUrl: 'https://api.github.com' };

/** ghcr.io, whatever port a name spells (tests reach a stand-in as ghcr.io:PORT). */
export function isGhcr(registry: string): boolean {
  return hostWithoutPort(registry).toLowerCase() === 'ghcr.io';
}

export function ghcrProfile(settings: GhcrSettings = DEFAULT_GHCR_SETTINGS): RegistryProfile {
  return {
    name: 'ghcr',
    upload: { mode: 'whole', chunkSize: 4 * MEBIBYTE, minChunk: 256 * 1024, maxChunk: 4 * MEBIBYTE },
    crossRepositoryMount: true,
    maxScopesPerToken: 32,
    removeImage: (client, plan, options) => removeFromGhcr(client, plan, options, settings.apiUrl),
  };
}

/** The GitHub token in a ghcr.io credential: its password (the user name is anything). */
function tokenOf(credential: Credential | undefined): string | undefined {
  return credential?.kind === 'basic' && credential.password ? credential.password : undefined;
}

/**
 * The deletion rules of lib/cleanup/remove-image.ts, by the means GHCR has. A version cannot lose
 * one tag of several, so the record's tag is moved to a throwaway manifest whose version is then
 * deleted; then the versions of the plan's manifests no tag reaches any more go. Layers are
 * GitHub's to collect. Without a token that may delete, nothing changes and `left` says why.
 */
export async function removeFromGhcr(client: RegistryClient, plan: Cleanup, options: RemoveImageOptions, apiUrl: string): Promise<string[]> {
  const { repository } = plan;
  const { signal } = options;
  const where = `${client.registry}/${repository}`;
  const needsToken = (why: string) => `deleting on ${client.registry} needs a GitHub token with delete:packages (${why})`;
  const stays = (why: string) => [...(plan.untag ? [`${where}:${plan.untag}`] : []), ...plan.images.map((image) => `${where}@${image.digest}`)].map((what) => `${what} stays: ${why}`);

  const token = tokenOf(await client.credential());
  if (!token) return stays(needsToken(`no credentials configured for ${client.registry}`));
  const pkg = packageOf(repository);
  if (!pkg) return stays(`${repository} is not a GitHub package (owner/name)`);
  const api = new GitHubPackages(client, apiUrl, token, pkg);
  const opened = await api.open(signal);
  if (opened.kind === 'missing') return stays(`the GitHub API knows no container package ${pkg.name} of ${pkg.owner} (404)`);
  if (opened.kind === 'refused') return stays(needsToken(`the API answered ${opened.status}`));
  // A classic token says its scopes: one without delete:packages changes nothing, not even the tag.
  if (opened.scopes && !opened.scopes.includes('delete:packages')) return stays(needsToken(`the token's scopes are ${opened.scopes.join(', ')}`));

  const ops = await operations();
  const left: string[] = [];
  let deletedThrowaway: string | undefined;
  if (plan.untag) {
    const outcome = await untag(ops, client, api, plan, plan.untag, options);
    deletedThrowaway = outcome.deleted;
    left.push(...outcome.left);
    const refused = outcome.refused;
    if (refused) return [...left, ...plan.images.map((image) => `${where}@${image.digest} stays: ${refused}`)];
  }

  const tagged = await ops.taggedContents(client, repository, signal, options.limits);
  if (!tagged || tagged.manifestsUnknown) {
    const why = tagged ? 'an image under another tag is past the bounds on what is read' : 'the repository has too many tags';
    left.push(`${where}@${plan.images.map((image) => image.digest).join(', ')}: ${why} to tell what else uses the image, so it stays`);
    return left;
  }
  // A throwaway an earlier attempt pushed and could not delete goes too, once no tag holds it.
  const candidates = [...(plan.throwaway && plan.throwaway !== deletedThrowaway ? [plan.throwaway] : []), ...plan.images.flatMap((image) => image.manifests ?? [image.digest])];
  const unreached = [...new Set(candidates)].filter((manifest) => !tagged.manifests.has(manifest));
  if (unreached.length === 0) return left;

  const found = await api.find(new Set(unreached), signal);
  let remaining = found.seen;
  for (const [i, manifest] of unreached.entries()) {
    const id = found.ids.get(manifest);
    if (id === undefined) {
      // Not listed: gone already, unless the listing was cut short by its bounds.
      if (!found.complete) left.push(`${where}@${manifest} stays: not among the ${found.seen} newest versions of package ${api.label}, the most read`);
      continue;
    }
    if (found.complete && remaining <= 1) {
      // GitHub refuses deleting a package's last version (400; actions/delete-package-versions#231).
      // The package itself (its settings, visibility, access) is not imagesync's to delete.
      left.push(`${where}@${manifest} stays: GitHub does not delete the last version of a package (delete the package ${api.label} to remove it)`);
      continue;
    }
    const outcome = await options.fence({ what: `delete version ${id} (${manifest}) of package ${api.label}` }, (fenced) => api.delete(id, fenced));
    if (outcome === 'deleted' || outcome === 'absent') {
      remaining--;
      continue;
    }
    if (outcome.status === 401 || outcome.status === 403) {
      for (const rest of unreached.slice(i)) left.push(`${where}@${rest} stays: ${needsToken(`the API answered ${outcome.status}`)}`);
      break;
    }
    left.push(`${where}@${manifest} stays: ${refusedBy(outcome)}`);
  }
  return left;
}

interface UntagOutcome {
  left: string[];
  /** Why the API refused deleting (the tag was put back where it can be): nothing more can go. */
  refused?: string;
  /** The throwaway whose version was deleted here. */
  deleted?: string;
}

/** Moves the record's tag away (only while it points at one of the plan's images) and deletes the throwaway's version. */
async function untag(ops: Operations, client: RegistryClient, api: GitHubPackages, plan: Cleanup, tag: string, options: RemoveImageOptions): Promise<UntagOutcome> {
  const { headManifest, getManifest, putManifest, pushThrowaway, throwawayManifest } = ops;
  const { repository } = plan;
  const { signal, fence } = options;
  const where = `${client.registry}/${repository}`;
  const head = await headManifest(client, repository, tag, signal);
  if (!head) return { left: [] };
  let throwaway: string;
  if (plan.throwaway && head.digest === plan.throwaway) {
    // An earlier attempt moved the tag to its throwaway and stopped before deleting it.
    throwaway = plan.throwaway;
  } else if (plan.images.some((image) => image.digest === head.digest)) {
    const made = throwawayManifest();
    throwaway = made.manifest.digest;
    await fence({ what: `push throwaway to ${repository}:${tag}`, throwaway }, (fenced) => pushThrowaway(client, repository, tag, made, fenced));
  } else {
    return { left: [`${where}:${tag}: points at another image now, left as it is`] };
  }

  const found = await api.find(new Set([throwaway]), signal);
  const id = found.ids.get(throwaway);
  if (id === undefined) {
    // Just pushed, not listed (yet): the deletion fails, and the next attempt finds the throwaway in the plan.
    throw new RegistryError(client.registry, `GitHub API: delete throwaway ${repository}@${throwaway}`, 404, [{ code: 'NOT_FOUND', message: `package ${api.label} does not list the version yet` }]);
  }
  const outcome = await fence({ what: `delete throwaway version ${id} (${throwaway}) of package ${api.label}` }, (fenced) => api.delete(id, fenced));
  if (outcome === 'deleted' || outcome === 'absent') return { left: [], deleted: throwaway };

  const why = outcome.status === 401 || outcome.status === 403 ? `deleting on ${client.registry} needs a GitHub token with delete:packages (the API answered ${outcome.status})` : refusedBy(outcome);
  if (head.digest === throwaway) {
    // Which of the plan's images the tag named before is not known here: the tag stays on the throwaway.
    return { left: [`${where}:${tag} stays on ${throwaway}, a throwaway manifest pushed to move it: ${why}`], refused: why };
  }
  const stuck = `${where}@${throwaway} (an untagged throwaway manifest pushed to move the tag) stays: ${why}`;
  // The token cannot delete: the tag goes back to the image it named, which stays.
  const manifest = await getManifest(client, repository, head.digest, signal);
  await fence({ what: `put ${repository}:${tag} back`, tag: head.digest }, (fenced) => putManifest(client, repository, tag, manifest, fenced));
  return { left: [`${where}:${tag} stays: ${why}`, stuck], refused: why };
}

function refusedBy(refusal: Refusal): string {
  return `the GitHub API refused deleting it (${refusal.status}${refusal.message ? `: ${refusal.message}` : ''})`;
}
