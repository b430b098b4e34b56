// Docker Hub's own API, the one way to delete a tag there (the registry API answers 405 to DELETE).
// From docs.docker.com/reference/api/hub: `POST /v2/auth/token` with `{"identifier", "secret"}` (the
// user, and a password or personal access token) answers `{"access_token"}`, a JWT good for 10
// minutes, sent as `Authorization: Bearer`. A tag goes with
// `DELETE /v2/repositories/{namespace}/{repository}/tags/{tag}/` (REGISTRY-NOTES; werf's Hub client).
import { discard, readText, type HttpResponse } from '../../transport/types.ts';
import type { RegistryClient } from '../client.ts';
import { RegistryError } from '../errors.ts';

export interface HubRepository {
  namespace: string;
  name: string;
}

/** The API's answer to a request it would not carry out: 401/403 (the credentials or their rights). */
export interface HubRefusal {
  refused: number;
}

const ANSWER_BYTES = 64 * 1024;

/** Hub's namespace (`library` for official images) and repository name. */
export function hubRepository(repository: string): HubRepository | undefined {
  const slash = repository.indexOf('/');
  if (slash <= 0 || slash === repository.length - 1) return undefined;
  return { namespace: repository.slice(0, slash), name: repository.slice(slash + 1) };
}

/** A bearer token for Hub's API; the secret is sent to the API's own origin only (no redirect is followed elsewhere). */
export async function hubToken(client: RegistryClient, apiUrl: string, user: string, secret: string, signal?: AbortSignal): Promise<string | HubRefusal> {
  const response = await client.api({
    method: 'POST',
    url: `${apiUrl}/v2/auth/token`,
    headers: { accept: 'application/json', 'content-type': 'application/json' },
    body: new TextEncoder().encode(JSON.stringify({ identifier: user, secret })),
    crossOriginRedirect: 'refuse',
    signal,
  });
  if (response.status === 401 || response.status === 403) {
    await discard(response);
    return { refused: response.status };
  }
  if (response.status !== 200) throw await hubError(client, 'Docker Hub API: create access token', response);
  let token: unknown;
  try {
    token = (JSON.parse(await readText(response, ANSWER_BYTES, 'the access token answer')) as { access_token?: unknown }).access_token;
  } catch {
    token = undefined;
  }
  if (typeof token !== 'string' || !token) throw new RegistryError(client.registry, 'Docker Hub API: create access token', 200, [{ code: 'GARBLED', message: 'no access_token in the answer' }]);
  return token;
}

/** Deletes one tag: 'absent' when it is gone already. */
export async function deleteHubTag(client: RegistryClient, apiUrl: string, token: string, repository: HubRepository, tag: string, signal?: AbortSignal): Promise<'deleted' | 'absent' | HubRefusal> {
  const path = `/v2/repositories/${encodeURIComponent(repository.namespace)}/${encodeURIComponent(repository.name)}/tags/${encodeURIComponent(tag)}/`;
  const response = await client.api({ method: 'DELETE', url: `${apiUrl}${path}`, headers: { accept: 'application/json', authorization: `Bearer ${token}` }, signal });
  if (response.status === 204 || response.status === 200 || response.status === 202) {
    await discard(response);
    return 'deleted';
  }
  if (response.status === 404) {
    await discard(response);
    return 'absent';
  }
  if (response.status === 401 || response.status === 403) {
    await discard(response);
    return { refused: response.status };
  }
  throw await hubError(client, `Docker Hub API: delete tag ${repository.namespace}/${repository.name}:${tag}`, response);
}

const CONTROL = /[\u0000-\u001f\u007f]+/g;

/** Hub answers `{"detail": ...}` or `{"message": ...}`; either, short and on one line. */
async function hubError(client: RegistryClient, operation: string, response: HttpResponse): Promise<RegistryError> {
  let message: string | undefined;
  try {
    const json = JSON.parse(await readText(response, ANSWER_BYTES, 'Docker Hub API error')) as { detail?: unknown; message?: unknown };
    const text = typeof json.detail === 'string' ? json.detail : typeof json.message === 'string' ? json.message : undefined;
    message = text?.slice(0, 200).replace(CONTROL, ' ');
  } catch {
    message = undefined;
  }
  return new RegistryError(client.registry, operation, response.status, message ? [{ code: 'DOCKER_HUB_API', message }] : []);
}
