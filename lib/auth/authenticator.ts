// Decides what Authorization header a registry request carries, learning from 401 challenges.
// One Authenticator per registry host: it keeps the last challenge and the tokens it earned,
// keyed by realm, service and scopes, so parallel requests share one token fetch.
import type { HttpResponse, Transport } from '../transport/types.ts';
import { parseChallenges, type Challenge } from './challenge.ts';
import { basicAuthorization, type Credential } from './credentials.ts';
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
    const realm = challenge.params.realm;
    if (!realm) throw new Error(`${this.options.registry} asked for a bearer token without naming a realm`);
    let realmUrl: URL;
    try {
      realmUrl = new URL(realm);
    } catch {
      throw new Error(`${this.options.registry} named a token realm that is not a URL`);
    }
    this.options.checkUrl?.(realmUrl);
    const fetching = fetchToken(
      this.options.transport,
      { registry: this.options.registry, realm, service: challenge.params.service, scopes: wanted, credential: this.options.credential, signal },
      this.now,
    )
      // Cached before the pending entry goes, so no caller falls into the gap and fetches again.
      .then((token) => {
        this.tokens.set(key, token);
        return token;
      })
      .finally(() => this.pending.delete(key));
    this.pending.set(key, fetching);
    return fetching;
  }
}

function tokenKey(challenge: Challenge, scopes: string[]): string {
  return JSON.stringify([challenge.params.realm ?? '', challenge.params.service ?? '', scopes]);
}
