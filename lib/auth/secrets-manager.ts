// Registry credentials kept in AWS Secrets Manager (IMAGESYNC_REGISTRY_AUTH_SECRET): a secret
// whose value is a Docker config.json. Read at first use and again every few minutes, so a
// rotated secret is picked up without a restart.
import { CredentialsError, parseDockerConfig, type Credential, type CredentialStore } from './credentials.ts';

export type SecretSource = (secretId: string) => Promise<string>;

const REFRESH_MS = 5 * 60 * 1000;

export class SecretError extends CredentialsError {
  override name = 'SecretError';
}

export function secretCredentials(secretId: string, source: SecretSource = sdkSecret, now: () => number = Date.now): CredentialStore {
  let loaded: { at: number; entries: Promise<Map<string, Credential>> } | undefined;
  return async (registry) => {
    if (!loaded || now() - loaded.at > REFRESH_MS) {
      const entries = source(secretId).then((text) => parseDockerConfig(text, `registry auth secret ${secretId}`));
      loaded = { at: now(), entries };
      entries.catch(() => (loaded = undefined));
    }
    return (await loaded.entries).get(registry);
  };
}

async function sdkSecret(secretId: string): Promise<string> {
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const client = new SecretsManagerClient({});
  try {
    const answer = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (typeof answer.SecretString !== 'string') throw new SecretError(`registry auth secret ${secretId} has no string value`);
    return answer.SecretString;
  } catch (error) {
    if (error instanceof SecretError) throw error;
    // The AWS error's name only: a message could echo the request.
    throw new SecretError(`cannot read registry auth secret ${secretId}: ${error instanceof Error ? error.name : 'error'}`);
  } finally {
    client.destroy();
  }
}
