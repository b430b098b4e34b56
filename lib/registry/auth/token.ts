// Bearer tokens from a registry's token service (the Docker token protocol and its OAuth2 form).
import { AuthenticationError, errorFromResponse, RegistryError } from '../errors.ts';
import { readText, type HttpResponse, type Transport } from '../../transport/types.ts';
import { basicAuthorization, type Credential } from '../../auth/credentials.ts';

export interface BearerToken {
  token: string;
  /** Epoch milliseconds after which the token must not be used. */
  expiresAt: number;
}

export interface TokenRequest {
  registry: string;
  realm: string;
  service?: string;
  scopes: string[];
  credential?: Credential;
  signal?: AbortSignal;
}

/** The spec's default when a token service gives no lifetime. */
const defaultLifetimeSeconds = 60;

export async function fetchToken(transport: Transport, request: TokenRequest, now: () => number = Date.now): Promise<BearerToken> {
  const realm = new URL(request.realm);
  const credential = request.credential;
  const operation = `token for ${request.scopes.join(' ') || 'registry access'}`;
  const headers: Record<string, string> = { accept: 'application/json' };
  let response: HttpResponse;
  const started = now();
  if (credential?.kind === 'identity') {
    // An identity token is an OAuth2 refresh token: exchange it with a POST, at this realm only.
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credential.token, client_id: 'imagesync' });
    if (request.service) form.set('service', request.service);
    if (request.scopes.length) form.set('scope', request.scopes.join(' '));
    headers['content-type'] = 'application/x-www-form-urlencoded';
    const body = new TextEncoder().encode(form.toString());
    response = await transport({ method: 'POST', url: realm.href, headers, body, signal: request.signal, crossOriginRedirect: 'refuse' });
  } else {
    if (request.service) realm.searchParams.set('service', request.service);
    for (const scope of request.scopes) realm.searchParams.append('scope', scope);
    const basic = credential?.kind === 'basic';
    if (basic) headers.authorization = basicAuthorization(credential.username, credential.password);
    // Credentials are for this realm only; an anonymous request may follow the service anywhere.
    response = await transport({ method: 'GET', url: realm.href, headers, signal: request.signal, crossOriginRedirect: basic ? 'refuse' : 'follow' });
  }
  if (response.status < 200 || response.status > 299) {
    const error = await errorFromResponse(`${request.registry} token service ${realm.host}`, operation, response);
    if (error instanceof AuthenticationError) {
      throw new AuthenticationError(request.registry, operation, error.status, error.errors.length ? error.errors : [{ code: credential ? 'UNAUTHORIZED' : 'DENIED', message: credential ? 'the token service refused the credentials' : 'anonymous access refused' }]);
    }
    throw error;
  }
  let json: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    json = JSON.parse(await readText(response, 1024 * 1024, 'token answer')) as typeof json;
  } catch {
    throw new RegistryError(request.registry, operation, response.status, [{ code: 'TOKEN_INVALID', message: 'the token service answered something that is not JSON' }]);
  }
  const token = typeof json.token === 'string' && json.token ? json.token : json.access_token;
  if (typeof token !== 'string' || !token) {
    throw new RegistryError(request.registry, operation, response.status, [{ code: 'TOKEN_INVALID', message: 'the token service answered without a token' }]);
  }
  const lifetime = typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : defaultLifetimeSeconds;
  // Renew a little early so a token never expires on the wire.
  const margin = Math.min(30, lifetime / 4);
  return { token, expiresAt: started + (lifetime - margin) * 1000 };
}
