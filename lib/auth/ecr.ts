// Amazon ECR hosts authenticate with the ambient AWS credentials: GetAuthorizationToken gives
// base64 `AWS:<password>`, valid 12 hours, used as Basic. Tokens are cached per account and
// region and renewed before they run out: an hour before, or after three quarters of a shorter life.
import { CredentialsError, type Credential, type CredentialStore } from './credentials.ts';

// 123456789012.dkr.ecr.us-east-1.amazonaws.com, also -fips, China and the newer on.aws names.
const ECR_HOST = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.(?:amazonaws\.com(?:\.cn)?|on\.aws)$/;

export function ecrRegistry(registry: string): { account: string; region: string } | undefined {
  const host = registry.replace(/:\d+$/, '').toLowerCase();
  const match = ECR_HOST.exec(host);
  return match ? { account: match[1]!, region: match[2]! } : undefined;
}

export interface EcrToken {
  username: string;
  password: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

interface Cached {
  token: Promise<EcrToken>;
  fetchedAt: number;
}

export type EcrTokenSource = (region: string, account: string) => Promise<EcrToken>;

const RENEW_BEFORE_MS = 60 * 60 * 1000;

export function ecrCredentials(source: EcrTokenSource = sdkEcrToken, now: () => number = Date.now): CredentialStore {
  const cache = new Map<string, Cached>();
  return async (registry): Promise<Credential | undefined> => {
    const ecr = ecrRegistry(registry);
    if (!ecr) return undefined;
    const key = `${ecr.account}/${ecr.region}`;
    let cached = cache.get(key);
    if (cached) {
      const settled = await cached.token.catch(() => undefined);
      const margin = settled && Math.min(RENEW_BEFORE_MS, (settled.expiresAt - cached.fetchedAt) / 4);
      if (!settled || settled.expiresAt - now() < margin!) cached = undefined;
    }
    if (!cached) {
      const fresh: Cached = { token: source(ecr.region, ecr.account), fetchedAt: now() };
      cache.set(key, fresh);
      // A failed fetch is not cached: the next request asks again.
      fresh.token.catch(() => cache.delete(key));
      cached = fresh;
    }
    const { username, password } = await cached.token;
    return { kind: 'basic', username, password };
  };
}

/** GetAuthorizationToken through the AWS SDK (loaded on first use: only ECR users need it). */
export async function sdkEcrToken(region: string, account: string): Promise<EcrToken> {
  const { ECRClient, GetAuthorizationTokenCommand } = await import('@aws-sdk/client-ecr');
  const client = new ECRClient({ region });
  try {
    const answer = await client.send(new GetAuthorizationTokenCommand({}));
    const data = answer.authorizationData?.[0];
    const decoded = data?.authorizationToken ? atob(data.authorizationToken) : '';
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new CredentialsError(`GetAuthorizationToken answered without a token for account ${account} in ${region}`);
    return {
      username: decoded.slice(0, colon),
      password: decoded.slice(colon + 1),
      expiresAt: data?.expiresAt ? new Date(data.expiresAt).getTime() : Date.now() + 12 * 60 * 60 * 1000,
    };
  } catch (error) {
    if (error instanceof CredentialsError) throw error;
    // The AWS error's name says enough; its message may echo the signed request.
    throw new CredentialsError(`cannot get an ECR token for account ${account} in ${region}: ${error instanceof Error ? error.name : 'error'}`);
  } finally {
    client.destroy();
  }
}
