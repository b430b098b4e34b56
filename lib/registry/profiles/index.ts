// Which profile a registry gets: the one configured for its host (IMAGESYNC_REGISTRY_PROFILES,
// `host[:port]=name` or `*.example.com=name`, comma-separated), else the one its host name tells
// (ECR, Artifact Registry/GCR, GHCR, Docker Hub, Quay, ACR), else the distribution spec's.
import { hostPatterns } from '../../config/host-patterns.ts';
import { acr, isAcr } from './acr.ts';
import { DEFAULT_DOCKER_HUB_SETTINGS, dockerHubProfile, isDockerHubRegistry, type DockerHubSettings } from './dockerhub.ts';
import { DEFAULT_ECR_SETTINGS, ecrProfile, isEcr, type EcrSettings } from './ecr.ts';
import { gar, isGar } from './gar.ts';
import { DEFAULT_GHCR_SETTINGS, ghcrProfile, isGhcr, type GhcrSettings } from './ghcr.ts';
import { harbor } from './harbor.ts';
import { distribution, type ProfileName, type RegistryProfile } from './profile.ts';
import { isQuay, quay } from './quay.ts';

export type { ProfileName, RegistryProfile } from './profile.ts';

export interface ProfileSettings {
  /** IMAGESYNC_REGISTRY_PROFILES, parsed: host patterns and the profile each names. */
  configured: { matches: (registry: string) => boolean; name: ProfileName }[];
  ecr: EcrSettings;
  ghcr: GhcrSettings;
  dockerHub: DockerHubSettings;
}

export const PROFILE_NAMES: readonly ProfileName[] = ['distribution', 'ecr', 'ghcr', 'gar', 'dockerhub', 'quay', 'acr', 'harbor'];

export const DEFAULT_PROFILE_SETTINGS: ProfileSettings = { configured: [], ecr: DEFAULT_ECR_SETTINGS, ghcr: DEFAULT_GHCR_SETTINGS, dockerHub: DEFAULT_DOCKER_HUB_SETTINGS };

/** A profile for every registry, by configuration first, then by host name. */
export function profileSelector(settings: ProfileSettings = DEFAULT_PROFILE_SETTINGS): (registry: string) => RegistryProfile {
  const byName: Record<ProfileName, RegistryProfile> = {
    distribution,
    ecr: ecrProfile(settings.ecr),
    ghcr: ghcrProfile(settings.ghcr),
    gar,
    dockerhub: dockerHubProfile(settings.dockerHub),
    quay,
    acr,
    harbor,
  };
  const byHost: [(registry: string) => boolean, ProfileName][] = [
    [isEcr, 'ecr'],
    [isGar, 'gar'],
    [isGhcr, 'ghcr'],
    [isDockerHubRegistry, 'dockerhub'],
    [isQuay, 'quay'],
    [isAcr, 'acr'],
  ];
  return (registry) => {
    const configured = settings.configured.find((entry) => entry.matches(registry));
    if (configured) return byName[configured.name];
    const known = byHost.find(([matches]) => matches(registry));
    return byName[known?.[1] ?? 'distribution'];
  };
}

/** Parses `host=name,*.example.com=name`; throws a message naming the bad entry. */
export function parseConfiguredProfiles(list: string | undefined): ProfileSettings['configured'] {
  const entries = (list ?? '').split(',').map((e) => e.trim()).filter(Boolean);
  return entries.map((entry) => {
    const equals = entry.lastIndexOf('=');
    const host = entry.slice(0, equals).trim();
    const name = entry.slice(equals + 1).trim().toLowerCase() as ProfileName;
    if (equals <= 0 || !host) throw new Error(`"${entry}" is not host=profile`);
    if (!PROFILE_NAMES.includes(name)) throw new Error(`"${entry}": no profile "${name}" (profiles: ${PROFILE_NAMES.join(', ')})`);
    return { matches: hostPatterns(host)!, name };
  });
}
