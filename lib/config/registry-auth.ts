// Where registry credentials come from, first match wins: the Docker config.json in the Secrets
// Manager secret IMAGESYNC_REGISTRY_AUTH_SECRET; the file IMAGESYNC_REGISTRY_AUTH, else
// $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json when present; for ECR hosts, a token
// from GetAuthorizationToken with the ambient AWS credentials. Reading a file is the runtime's:
// the adapter hands it in (the core reaches no file system of its own).
import { chainCredentials, parseDockerConfig, staticCredentials, type CredentialStore } from '../auth/credentials.ts';
import { ecrCredentials, type EcrTokenSource } from '../auth/ecr.ts';
import { secretCredentials, type SecretSource } from '../auth/secrets-manager.ts';
import { ConfigError } from './errors.ts';

export type Env = Record<string, string | undefined>;

/** A text file's content; undefined when there is no such file. Other failures throw (with a `code`). */
export type ReadFile = (path: string) => Promise<string | undefined>;

export interface CredentialSources {
  /** Replace the AWS calls (tests). */
  secret?: SecretSource;
  ecr?: EcrTokenSource;
  /** The clock of ECR token renewal (tests). */
  now?: () => number;
}

export async function loadRegistryAuth(env: Env, readFile: ReadFile, sources: CredentialSources = {}): Promise<CredentialStore> {
  const stores: CredentialStore[] = [];
  if (env.IMAGESYNC_REGISTRY_AUTH_SECRET) stores.push(secretCredentials(env.IMAGESYNC_REGISTRY_AUTH_SECRET, sources.secret, sources.now));
  const file = await fileCredentials(env, readFile);
  if (file) stores.push(file);
  stores.push(ecrCredentials(sources.ecr, sources.now));
  return chainCredentials(...stores);
}

async function fileCredentials(env: Env, readFile: ReadFile): Promise<CredentialStore | undefined> {
  const explicit = env.IMAGESYNC_REGISTRY_AUTH;
  const home = env.HOME || env.USERPROFILE;
  const dockerConfig = env.DOCKER_CONFIG || (home ? `${home}/.docker` : undefined);
  const path = explicit || (dockerConfig ? `${dockerConfig.replace(/\/+$/, '')}/config.json` : undefined);
  if (!path) return undefined;
  let text: string | undefined;
  try {
    text = await readFile(path);
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new ConfigError(`cannot read registry auth file ${path}: ${code ?? String(error)}`);
  }
  // Only a file the user named must exist; the default locations are optional.
  if (text === undefined) {
    if (explicit) throw new ConfigError(`cannot read registry auth file ${path}: ENOENT`);
    return undefined;
  }
  return staticCredentials(parseDockerConfig(text, `registry auth file ${path}`));
}
