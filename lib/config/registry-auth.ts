// Where registry credentials come from, first match wins: the Docker config.json in the Secrets
// Manager secret IMAGESYNC_REGISTRY_AUTH_SECRET; the file IMAGESYNC_REGISTRY_AUTH, else
// $DOCKER_CONFIG/config.json, else ~/.docker/config.json when present; for ECR hosts, a token
// from GetAuthorizationToken with the ambient AWS credentials.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { chainCredentials, parseDockerConfig, staticCredentials, type CredentialStore } from '../auth/credentials.ts';
import { ecrCredentials, type EcrTokenSource } from '../auth/ecr.ts';
import { secretCredentials, type SecretSource } from '../auth/secrets-manager.ts';
import { ConfigError } from './errors.ts';

export type Env = Record<string, string | undefined>;


export interface CredentialSources {
  /** Replace the AWS calls (tests). */
  secret?: SecretSource;
  ecr?: EcrTokenSource;
}

export async function loadRegistryAuth(env: Env, sources: CredentialSources = {}): Promise<CredentialStore> {
  const stores: CredentialStore[] = [];
  if (env.IMAGESYNC_REGISTRY_AUTH_SECRET) stores.push(secretCredentials(env.IMAGESYNC_REGISTRY_AUTH_SECRET, sources.secret));
  const file = await fileCredentials(env);
  if (file) stores.push(file);
  stores.push(ecrCredentials(sources.ecr));
  return chainCredentials(...stores);
}

async function fileCredentials(env: Env): Promise<CredentialStore | undefined> {
  const explicit = env.IMAGESYNC_REGISTRY_AUTH;
  const path = explicit || join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    // Only a file the user named must exist; the default locations are optional.
    if (!explicit && code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read registry auth file ${path}: ${code ?? String(error)}`);
  }
  return staticCredentials(parseDockerConfig(text, `registry auth file ${path}`));
}
