// Where registry credentials come from: IMAGESYNC_REGISTRY_AUTH (a Docker config.json), else
// $DOCKER_CONFIG/config.json, else ~/.docker/config.json when present.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseDockerConfig, staticCredentials, type CredentialStore } from '../auth/credentials.ts';
import { ConfigError } from './errors.ts';

export type Env = Record<string, string | undefined>;


export async function loadRegistryAuth(env: Env): Promise<CredentialStore> {
  const explicit = env.IMAGESYNC_REGISTRY_AUTH;
  const path = explicit || join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    // Only a file the user named must exist; the default locations are optional.
    if (!explicit && code === 'ENOENT') return () => undefined;
    throw new ConfigError(`cannot read registry auth file ${path}: ${code ?? String(error)}`);
  }
  return staticCredentials(parseDockerConfig(text, `registry auth file ${path}`));
}
