// Docker Hub (docker.io, index.docker.io, registry.hub.docker.com, registry-1.docker.io). What
// differs, with the public record of it:
// - HEAD on a manifest does not count against the pull limit, GET does; anonymous pulls are
//   limited per IP address (docker/docs PR#22134): checks stay HEAD-only (lib/check), and configured
//   credentials are used for pulls (behind a shared NAT, anonymous Lambdas share one budget).
// - Blobs redirect to a CDN whose signed URLs refuse an Authorization header
//   (distribution/distribution#2055): no credential goes to another origin (client.ts, redirect.ts).
// - A separate anti-abuse 429, "Too Many Requests (HAP429)", protects Hub as a whole, in the order
//   of thousands of requests a minute (docker/hub-feedback#1907): retried after a long backoff, named.
// - v2 DELETE answers 405: Hub's own API deletes tags (docker-hub-api.ts). Manifests and layers
//   are Hub's to keep or collect; `left` says so.
import type { RemoveImageOptions } from '../../cleanup/remove-image.ts';
import { isDockerHub } from '../../reference/reference.ts';
import type { Cleanup } from '../../store/types.ts';
import type { HttpResponse } from '../../transport/types.ts';
import type { RegistryClient } from '../client.ts';
import { deleteHubTag, hubRepository, hubToken } from './docker-hub-api.ts';
import { distribution, type RegistryProfile, type Throttle } from './profile.ts';

export interface DockerHubSettings {
  /** Docker Hub's API (IMAGESYNC_DOCKER_HUB_API_URL). */
  apiUrl: string;
}

export const DEFAULT_DOCKER_HUB_SETTINGS: DockerHubSettings = { apiUrl: 'https://hub.docker.com' };

/** What retries and errors call Hub's anti-abuse 429. */
export const ANTI_ABUSE_REASON = 'Docker Hub anti-abuse limit (HAP429)';
/** Half a minute: the limit counts requests a minute; the retry policy's maxRetryAfterMs caps it. */
export const ANTI_ABUSE_DELAY_MS = 30_000;

export function isDockerHubRegistry(registry: string): boolean {
  return isDockerHub(registry);
}

export function dockerHubProfile(settings: DockerHubSettings = DEFAULT_DOCKER_HUB_SETTINGS): RegistryProfile {
  return {
    ...distribution,
    name: 'dockerhub',
    throttle: dockerHubThrottle,
    removeImage: (client, plan, options) => removeFromDockerHub(client, plan, options, settings.apiUrl),
  };
}

/** The anti-abuse 429 names HAP429 in its body (docker/hub-feedback#1907); the pull-limit 429 does not, and gets the usual retries. */
export function dockerHubThrottle(response: HttpResponse, body: string): Throttle | undefined {
  if (response.status !== 429 || !body.includes('HAP429')) return undefined;
  return { reason: ANTI_ABUSE_REASON, delayMs: ANTI_ABUSE_DELAY_MS };
}

/**
 * Deletes the record's tag through Hub's API, only while it points at one of the plan's images
 * (a HEAD first). Without credentials, or when Hub refuses, the tag stays and `left` says why.
 */
export async function removeFromDockerHub(client: RegistryClient, plan: Cleanup, options: RemoveImageOptions, apiUrl: string): Promise<string[]> {
  const { repository } = plan;
  const { signal } = options;
  const where = `${client.registry}/${repository}`;
  // Manifests and layers are left to Hub: its registry API refuses DELETE (405, REGISTRY-NOTES), its own API deletes tags.
  const kept = `${where}@${plan.images.map((image) => image.digest).join(', ')}: the image stays for Docker Hub to keep or collect (imagesync deletes only tags there)`;
  const tag = plan.untag;
  if (!tag) return [kept];
  const stays = (why: string) => [`${where}:${tag} stays: ${why}`, kept];

  const credential = await client.credential();
  if (credential?.kind !== 'basic') {
    const why = credential ? 'the one configured is a token for the registry only' : `none configured for ${client.registry}`;
    return stays(`deleting a tag on Docker Hub needs the account's user and a password or personal access token (${why})`);
  }
  const hub = hubRepository(repository);
  if (!hub) return stays(`${repository} is not a Docker Hub repository (namespace/name)`);
  const token = await hubToken(client, apiUrl, credential.username, credential.password, signal);
  if (typeof token !== 'string') return stays(`Docker Hub refused the credentials configured for ${client.registry} (the API answered ${token.refused})`);

  // Loaded here: manifest.ts imports the registry client, which imports the profiles (a load-time cycle).
  const { headManifest } = await import('../manifest.ts');
  const head = await headManifest(client, repository, tag, signal);
  if (!head) return [kept];
  if (!plan.images.some((image) => image.digest === head.digest)) return [`${where}:${tag}: points at another image now, left as it is`, kept];
  const outcome = await options.fence({ what: `delete tag ${repository}:${tag}` }, (fenced) => deleteHubTag(client, apiUrl, token, hub, tag, fenced));
  if (typeof outcome !== 'string') return stays(`deleting a tag on Docker Hub needs a personal access token with delete rights (the API answered ${outcome.refused})`);
  return [kept];
}
