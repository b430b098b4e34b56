// The harness's own tiny registry client: plain fetch plus Basic or Bearer-token auth.
// It deliberately shares no code with lib/, so tests can use it as an independent checker.

export interface Credentials {
  username: string;
  password: string;
}

/** A registry to talk to: its base URL (http://host:port) and optional credentials. */
export interface Target {
  url: string;
  auth?: Credentials;
}

export interface RawInit {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
}

export interface Challenge {
  scheme: string; // lower-cased: 'basic' or 'bearer'
  params: Record<string, string>;
}

export function basicAuthHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/** Parses a WWW-Authenticate value, which may hold several challenges joined by commas. */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let i = 0;
  const readToken = (): string => {
    const start = i;
    while (i < header.length && TOKEN_CHAR.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  const skip = (chars: string): void => {
    while (i < header.length && chars.includes(header[i]!)) i++;
  };
  while (i < header.length) {
    skip(' \t,');
    const word = readToken();
    if (word === '') {
      i++; // not a token character: skip it rather than loop forever
      continue;
    }
    skip(' \t');
    const current = challenges.at(-1);
    if (header[i] === '=' && current !== undefined) {
      i++;
      skip(' \t');
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < header.length && header[i] !== '"') {
          if (header[i] === '\\') i++;
          value += header[i] ?? '';
          i++;
        }
        i++; // closing quote
      } else {
        value = readToken();
      }
      current.params[word.toLowerCase()] = value;
    } else {
      challenges.push({ scheme: word.toLowerCase(), params: {} });
    }
  }
  return challenges;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

// What each registry origin asked for last time, so later requests authenticate up front
// instead of paying a 401 round trip each time; tokens are cached per origin.
const challengeByOrigin = new Map<string, Challenge>();
const tokensByOrigin = new Map<string, Map<string, CachedToken>>();

/** Forgets remembered challenges and tokens (for tests that count token fetches). */
export function clearAuthCache(): void {
  challengeByOrigin.clear();
  tokensByOrigin.clear();
}

/** Fetches a token from a Bearer challenge's realm; `scope` may hold several space-separated scopes. */
export async function fetchToken(challenge: Challenge, scope: string | undefined, auth?: Credentials): Promise<CachedToken> {
  const realm = challenge.params.realm;
  if (realm === undefined) throw new Error('Bearer challenge without realm');
  const url = new URL(realm);
  if (challenge.params.service !== undefined) url.searchParams.set('service', challenge.params.service);
  for (const s of (scope ?? challenge.params.scope ?? '').split(' ').filter(Boolean)) url.searchParams.append('scope', s);
  const headers: Record<string, string> = auth ? { authorization: basicAuthHeader(auth.username, auth.password) } : {};
  const res = await fetch(url, { headers });
  if (res.status !== 200) throw new Error(`token request ${url} answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { token?: string; access_token?: string; expires_in?: number };
  const token = body.token ?? body.access_token;
  if (token === undefined) throw new Error(`token response from ${url} has no token`);
  return { token, expiresAt: Date.now() + (body.expires_in ?? 60) * 1000 };
}

async function authorization(target: Target, origin: string, scope: string | undefined): Promise<string | undefined> {
  const challenge = challengeByOrigin.get(origin);
  if (challenge?.scheme === 'basic') {
    return target.auth ? basicAuthHeader(target.auth.username, target.auth.password) : undefined;
  }
  if (challenge?.scheme !== 'bearer') return undefined;
  const tokens = tokensByOrigin.get(origin) ?? new Map<string, CachedToken>();
  tokensByOrigin.set(origin, tokens);
  const key = JSON.stringify([challenge.params.realm, challenge.params.service, scope, target.auth?.username]);
  let cached = tokens.get(key);
  if (cached === undefined || cached.expiresAt - 5000 < Date.now()) {
    cached = await fetchToken(challenge, scope, target.auth);
    tokens.set(key, cached);
  }
  return `Bearer ${cached.token}`;
}

/**
 * fetch against a registry with auth handled. `path` is either '/v2/...' or an absolute URL
 * (an upload Location); credentials only go to the target's own origin. On a 401 it learns
 * the challenge, gets fresh credentials and retries once.
 */
export async function rawFetch(target: Target, path: string, init: RawInit = {}, scope?: string): Promise<Response> {
  const url = new URL(path, target.url);
  const origin = new URL(target.url).origin;
  const sameOrigin = url.origin === origin;
  const send = async (): Promise<Response> => {
    const headers: Record<string, string> = { ...init.headers };
    const auth = sameOrigin ? await authorization(target, origin, scope) : undefined;
    if (auth !== undefined) headers.authorization = auth;
    return fetch(url, { method: init.method ?? 'GET', headers, body: init.body });
  };
  const first = await send();
  if (first.status !== 401 || !sameOrigin) return first;
  const challenges = parseChallenges(first.headers.get('www-authenticate') ?? '');
  const usable = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
  if (usable === undefined) return first;
  await first.body?.cancel();
  challengeByOrigin.set(origin, usable);
  tokensByOrigin.delete(origin); // a rejected token must not be reused
  return send();
}
