// Registry credentials and where they come from: a Docker config.json ("auths"), matched by
// registry host the way Docker matches them (scheme and path ignored, Docker Hub aliases folded).
import { normalizeRegistryHost } from '../reference/reference.ts';

export type Credential =
  | { kind: 'basic'; username: string; password: string }
  /** An OAuth2 refresh token (`identitytoken`), exchanged at the token realm. */
  | { kind: 'identity'; username?: string; token: string }
  /** A bearer token sent to the registry as it is (`registrytoken`). */
  | { kind: 'registry'; token: string };

export type CredentialStore = (registry: string) => Credential | undefined | Promise<Credential | undefined>;

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/** Registry credentials could not be had (a file or secret unreadable or malformed, a token service of AWS failing). The API answers 503. */
export class CredentialsError extends Error {
  override name = 'CredentialsError';
}

export class CredentialsFileError extends CredentialsError {
  override name = 'CredentialsFileError';
}

/** Parses a Docker config.json and returns its entries keyed by normalized registry host. */
export function parseDockerConfig(text: string, source = 'registry auth file'): Map<string, Credential> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CredentialsFileError(`${source} is not valid JSON`);
  }
  if (json === null || typeof json !== 'object') throw new CredentialsFileError(`${source} must hold a JSON object`);
  const auths = (json as { auths?: unknown }).auths ?? {};
  if (auths === null || typeof auths !== 'object') throw new CredentialsFileError(`${source}: "auths" must be an object`);
  const result = new Map<string, Credential>();
  for (const [key, value] of Object.entries(auths as Record<string, unknown>)) {
    if (value === null || typeof value !== 'object') continue;
    const credential = toCredential(value as AuthEntry, key, source);
    if (credential) result.set(normalizeRegistryHost(key), credential);
  }
  return result;
}

function toCredential(entry: AuthEntry, key: string, source: string): Credential | undefined {
  if (typeof entry.registrytoken === 'string' && entry.registrytoken) return { kind: 'registry', token: entry.registrytoken };
  let username = typeof entry.username === 'string' ? entry.username : undefined;
  let password = typeof entry.password === 'string' ? entry.password : undefined;
  if (typeof entry.auth === 'string' && entry.auth) {
    const decoded = decodeBase64(entry.auth);
    const colon = decoded?.indexOf(':') ?? -1;
    if (decoded === undefined || colon < 0) {
      // The value is a secret: name the entry, never the content.
      throw new CredentialsFileError(`${source}: "auth" of "${key}" is not base64 of user:password`);
    }
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  if (typeof entry.identitytoken === 'string' && entry.identitytoken) {
    return { kind: 'identity', username, token: entry.identitytoken };
  }
  if (username !== undefined && password !== undefined) return { kind: 'basic', username, password };
  return undefined;
}

function decodeBase64(text: string): string | undefined {
  try {
    const binary = atob(text.trim());
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

/** The first store that knows the registry answers. */
export function chainCredentials(...stores: CredentialStore[]): CredentialStore {
  return async (registry) => {
    for (const store of stores) {
      const credential = await store(registry);
      if (credential) return credential;
    }
    return undefined;
  };
}

/** A store over parsed entries, matched on host[:port] exactly, as Docker does. */
export function staticCredentials(entries: Map<string, Credential>): CredentialStore {
  return (registry) => entries.get(registry);
}

export function basicAuthorization(username: string, password: string): string {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}
