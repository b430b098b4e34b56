// Decides what Authorization header a registry request carries, learning from 401 challenges.
// One Authenticator per registry host: it keeps the last challenge and the tokens it earned,
// keyed by realm, service and scopes, so parallel requests share one token fetch. A failed
// fetch caches nothing and forgets its challenge, so the next request asks the registry again.
// Challenges are to come from the registry's own answers: the client filters out the rest.
import { RegistryProtocolError } from '../errors.ts';
import type { HttpResponse, Transport } from '../../transport/types.ts';
import { parseChallenges, type Challenge } from './challenge.ts';
import { basicAuthorization, type Credential } from '../../auth/credentials.ts';
import { fetchToken, type BearerToken } from './token.ts';

export interface AuthenticatorOptions {
  registry: string;
  /** Transport for the token service (no registry auth on it). */
  transport: Transport;
  credential?: Credential;
  /** Refuses a token realm that must not be contacted (scheme policy, address guard). */
  checkUrl?: (url: URL) => void;
  now?: () => number;
}

export class Authenticator {
  private challenge?: Challenge;
  private readonly tokens = new Map<string, BearerToken>();
  private readonly pending = new Map<string, Promise<BearerToken>>();
  private readonly now: () => number;

  constructor(private readonly options: AuthenticatorOptions) {
    this.now = options.now ?? Date.now;
  }

  get hasCredential(): boolean {
    return this.options.credential !== undefined;
  }

  /** The header for a request needing these scopes; undefined while no challenge has been seen. */
  async authorization(scopes: string[], signal?: AbortSignal): Promise<string | undefined> {
    const credential = this.options.credential;
    if (credential?.kind === 'registry') return `Bearer ${credential.token}`;
    const challenge = this.challenge;
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') {
      return credential?.kind === 'basic' ? basicAuthorization(credential.username, credential.password) : undefined;
    }
    const token = await this.token(challenge, scopes, signal);
    return `Bearer ${token.token}`;
  }

  /**
   * Learns from a 401. Returns true when sending the request again with new authorization can
   * succeed (a new challenge, or a token that may have been revoked), false when it cannot.
   */
  onUnauthorized(response: HttpResponse, scopes: string[], sentAuthorization: string | undefined): boolean {
    const header = response.headers.get('www-authenticate');
    const challenges = header ? parseChallenges(header) : [];
    const chosen = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    if (!chosen) return false;
    this.challenge = chosen;
    if (chosen.scheme === 'basic') {
      return this.options.credential?.kind === 'basic' && sentAuthorization === undefined;
    }
    if (this.options.credential?.kind === 'registry') return false;
    // A refused bearer token is forgotten so the next attempt gets a fresh one. When a parallel
    // request already replaced it, the replacement is worth a try as well.
    if (sentAuthorization?.startsWith('Bearer ')) {
      const key = tokenKey(chosen, this.scopesFor(chosen, scopes));
      if (this.tokens.get(key)?.token === sentAuthorization.slice('Bearer '.length)) this.tokens.delete(key);
    }
    return true;
  }

  /** The scopes a request asked for; for a request without any (the /v2/ ping), the registry's hint. */
  private scopesFor(challenge: Challenge, scopes: string[]): string[] {
    const wanted = scopes.length > 0 ? scopes : (challenge.params.scope ?? '').split(' ').filter(Boolean);
    return [...new Set(wanted)].sort();
  }

  private async token(challenge: Challenge, scopes: string[], signal?: AbortSignal): Promise<BearerToken> {
    const wanted = this.scopesFor(challenge, scopes);
    const key = tokenKey(challenge, wanted);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > this.now()) return cached;
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    const fetching = this.fetch(challenge, wanted, signal)
      // Cached before the pending entry goes, so no caller falls into the gap and fetches again.
      .then((token) => {
        this.tokens.set(key, token);
        return token;
      })
      .catch((error: unknown) => {
        this.forget(challenge);
        throw error;
      })
      .finally(() => this.pending.delete(key));
    this.pending.set(key, fetching);
    return fetching;
  }

  private async fetch(challenge: Challenge, scopes: string[], signal?: AbortSignal): Promise<BearerToken> {
    const realm = challenge.params.realm;
    const fail = (problem: string): never => {
      throw new RegistryProtocolError(this.options.registry, 'authenticate', problem, { field: 'WWW-Authenticate', status: 401 });
    };
    if (!realm) return fail('a bearer challenge without a realm');
    let realmUrl: URL;
    try {
      realmUrl = new URL(realm);
    } catch {
      return fail('a token realm that is not a URL');
    }
    this.options.checkUrl?.(realmUrl);
    const { registry, transport, credential } = this.options;
    return fetchToken(transport, { registry, realm, service: challenge.params.service, scopes, credential, signal }, this.now);
  }

  /**
   * Drops a challenge whose token could not be had (realm refused, token service down or
   * refusing): kept, it would fail every later request before the registry is even asked.
   * Without it the next request goes to the registry and learns its challenge afresh.
   */
  private forget(failed: Challenge): void {
    // Compared by content: a parallel 401 may have stored an equal challenge meanwhile.
    if (this.challenge && sameAuthority(this.challenge, failed)) this.challenge = undefined;
  }
}

/** Same scheme, realm and service: the same token service, whatever scope it hinted. */
function sameAuthority(a: Challenge, b: Challenge): boolean {
  return a.scheme === b.scheme && a.params.realm === b.params.realm && a.params.service === b.params.service;
}

function tokenKey(challenge: Challenge, scopes: string[]): string {
  return JSON.stringify([challenge.params.realm ?? '', challenge.params.service ?? '', scopes]);
}
