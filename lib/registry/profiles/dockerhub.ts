// Docker Hub (docker.io, index.docker.io, registry.hub.docker.com, registry-1.docker.io). What
// differs, with the public record of it:
// - HEAD on a manifest does not count against the pull limit, GET does; anonymous pulls are
//   limited per IP address (docker/docs PR#22134): checks stay HEAD-only, and configured
//   credentials are used for pulls (behind a shared NAT, anonymous Lambdas share one budget).
// - Blobs redirect to a CDN whose signed URLs refuse an Authorization header
//   (distribution/distribution#2055): no credential goes to another origin (client.ts).
// - A separate anti-abuse 429 (HAP429) is retried with a long backoff and named.
// - v2 DELETE answers 405: Hub's own API deletes tags (DELETE /v2/repositories/NS/REPO/tags/TAG/,
//   with a token from POST /v2/auth/token), docs.docker.com/reference/api/hub.
import { isDockerHub } from '../../reference/reference.ts';
import { distribution, type RegistryProfile } from './profile.ts';

export interface DockerHubSettings {
  /** Docker Hub's API (IMAGESYNC_DOCKER_HUB_API_URL). */
  apiUrl: string;
}

export const DEFAULT_DOCKER_HUB_SETTINGS: DockerHubSettings = { apiUrl: 'https://hub.docker.com' };

export function isDockerHubRegistry(registry: string): boolean {
  return isDockerHub(registry);
}

export function dockerHubProfile(_settings: DockerHubSettings = DEFAULT_DOCKER_HUB_SETTINGS): RegistryProfile {
  return { ...distribution, name: 'dockerhub' };
}
