// The GitHub Packages REST API, the one way to delete from ghcr.io (its registry API answers 405).
// What is relied on, from docs.github.com/rest/packages/packages:
// - A container package's versions are its manifests: `id`, `name` (the manifest digest) and
//   `metadata.container.tags`; listed in pages (`per_page` at most 100, `page`), newest first.
// - A package belongs to an organization (`/orgs/{org}/...`) or a user (`/users/{username}/...`);
//   its name is the repository path after the owner, URL-encoded (`team/app` → `team%2Fapp`).
// - `DELETE .../versions/{id}` answers 204; it needs a token with `delete:packages`.
// And from elsewhere: classic tokens' scopes come in `X-OAuth-Scopes` (docs.github.com, "Scopes for
// OAuth apps"); rate limits answer 403 or 429 with `x-ratelimit-remaining: 0` or a `retry-after`
// (docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api); the last version of a
// package cannot be deleted, only the package (400, actions/delete-package-versions#231).
import { discard, readText, type HttpResponse } from '../../transport/types.ts';
import type { RegistryClient } from '../client.ts';
import { RegistryError, RegistryProtocolError } from '../errors.ts';

export interface GitHubPackage {
  owner: string;
  /** The repository path after the owner (`team/app` for ghcr.io/owner/team/app). */
  name: string;
}

export interface PackageVersion {
  id: number;
  /** The version's `name`: the manifest digest. */
  digest: string;
  tags: string[];
}

/** What a search of the versions found: ids by digest, how many versions were read, and whether that was all of them. */
export interface VersionSearch {
  ids: Map<string, number>;
  seen: number;
  complete: boolean;
}

/** The API's answer to a deletion it would not carry out (401/403: the token; 400/422: the request). */
export interface Refusal {
  status: number;
  message?: string;
}

export type Opening = { kind: 'found'; scopes?: string[] } | { kind: 'missing' } | { kind: 'refused'; status: number };

/** Versions asked for per page (the documented maximum), pages read at most: 10,000 versions. */
export const PER_PAGE = 100;
export const MAX_PAGES = 100;
/** A page of 100 versions is tens of KiB; more is not an answer worth reading. */
const PAGE_BYTES = 2 * 1024 * 1024;
const MESSAGE_BYTES = 64 * 1024;

/** owner and package name of a ghcr.io repository; undefined when it has no owner part. */
export function packageOf(repository: string): GitHubPackage | undefined {
  const slash = repository.indexOf('/');
  if (slash <= 0 || slash === repository.length - 1) return undefined;
  return { owner: repository.slice(0, slash), name: repository.slice(slash + 1) };
}

/** One page of the listing. Entries without a numeric id and a digest name are not versions as documented: skipped. */
export function parseVersions(text: string): PackageVersion[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('not JSON');
  }
  if (!Array.isArray(json)) throw new Error('not an array of versions');
  const versions: PackageVersion[] = [];
  for (const entry of json as unknown[]) {
    if (entry === null || typeof entry !== 'object') continue;
    const { id, name, metadata } = entry as { id?: unknown; name?: unknown; metadata?: { container?: { tags?: unknown } } };
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) continue;
    if (typeof name !== 'string' || !/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(name)) continue;
    const tags = metadata?.container?.tags;
    versions.push({ id, digest: name, tags: Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [] });
  }
  return versions;
}

/** The scopes a classic token has (`X-OAuth-Scopes`); undefined when GitHub did not say (other kinds of token). */
export function parseScopes(header: string | null): string[] | undefined {
  if (header === null || header.trim() === '') return undefined;
  return header.split(',').map((s) => s.trim()).filter(Boolean);
}

/** A rate limit, not a verdict on the token: the deletion is tried again later. */
export function isRateLimited(response: HttpResponse): boolean {
  if (response.status !== 403 && response.status !== 429) return false;
  return response.headers.get('x-ratelimit-remaining') === '0' || response.headers.get('retry-after') !== null;
}

const CONTROL = /[\u0000-\u001f\u007f]+/g;

/** GitHub's `{"message": ...}`, short and on one line; undefined when there is none. */
async function messageOf(response: HttpResponse): Promise<string | undefined> {
  try {
    const json = JSON.parse(await readText(response, MESSAGE_BYTES, 'GitHub API error')) as { message?: unknown };
    return typeof json.message === 'string' && json.message ? json.message.slice(0, 200).replace(CONTROL, ' ') : undefined;
  } catch {
    return undefined;
  }
}

/** The package's versions through the registry client's transport (retries, address guard); the token goes to the API only. */
export class GitHubPackages {
  /** `.../orgs/{owner}/packages/container/{name}` or the `/users/` one, once known. */
  private base?: string;

  constructor(
    private readonly client: RegistryClient,
    private readonly apiUrl: string,
    private readonly token: string,
    readonly pkg: GitHubPackage,
  ) {}

  get label(): string {
    return `${this.pkg.owner}/${this.pkg.name}`;
  }

  /** Finds the package, as an organization's first and a user's when the organization endpoint answers 404. */
  async open(signal?: AbortSignal): Promise<Opening> {
    for (const kind of ['orgs', 'users']) {
      const base = `${this.apiUrl}/${kind}/${encodeURIComponent(this.pkg.owner)}/packages/container/${encodeURIComponent(this.pkg.name)}`;
      const response = await this.request('GET', `${base}/versions?per_page=1&page=1`, signal);
      if (response.status === 404) {
        await discard(response);
        continue;
      }
      if (isRateLimited(response)) throw await this.error(`list versions of package ${this.label}`, response);
      if (response.status === 401 || response.status === 403) {
        await discard(response);
        return { kind: 'refused', status: response.status };
      }
      if (response.status !== 200) throw await this.error(`list versions of package ${this.label}`, response);
      await discard(response);
      this.base = base;
      return { kind: 'found', scopes: parseScopes(response.headers.get('x-oauth-scopes')) };
    }
    return { kind: 'missing' };
  }

  /** The ids of `wanted` digests, reading pages until all are found, the listing ends, or MAX_PAGES were read. */
  async find(wanted: ReadonlySet<string>, signal?: AbortSignal): Promise<VersionSearch> {
    const ids = new Map<string, number>();
    let seen = 0;
    for (let page = 1; page <= MAX_PAGES; page++) {
      const versions = await this.page(page, signal);
      seen += versions.length;
      for (const version of versions) if (wanted.has(version.digest)) ids.set(version.digest, version.id);
      if (versions.length < PER_PAGE) return { ids, seen, complete: true };
      if (ids.size === wanted.size) return { ids, seen, complete: false };
    }
    return { ids, seen, complete: false };
  }

  /** Deletes one version: 'absent' when it is gone already, a Refusal when the API will not. */
  async delete(id: number, signal?: AbortSignal): Promise<'deleted' | 'absent' | Refusal> {
    const operation = `delete version ${id} of package ${this.label}`;
    const response = await this.request('DELETE', `${this.opened()}/versions/${id}`, signal);
    if (response.status === 204 || response.status === 200) {
      await discard(response);
      return 'deleted';
    }
    if (response.status === 404) {
      await discard(response);
      return 'absent';
    }
    if (isRateLimited(response)) throw await this.error(operation, response);
    if ([400, 401, 403, 422].includes(response.status)) return { status: response.status, message: await messageOf(response) };
    throw await this.error(operation, response);
  }

  private async page(page: number, signal?: AbortSignal): Promise<PackageVersion[]> {
    const operation = `list versions of package ${this.label} (page ${page})`;
    const response = await this.request('GET', `${this.opened()}/versions?per_page=${PER_PAGE}&page=${page}`, signal);
    if (response.status !== 200) throw await this.error(operation, response);
    const text = await readText(response, PAGE_BYTES, 'a page of package versions');
    try {
      const versions = parseVersions(text);
      if (versions.length > PER_PAGE) throw new Error(`more than the ${PER_PAGE} versions asked for`);
      return versions;
    } catch (error) {
      throw new RegistryProtocolError(this.client.registry, `GitHub API: ${operation}`, (error as Error).message);
    }
  }

  private opened(): string {
    if (!this.base) throw new Error('GitHubPackages: open() first');
    return this.base;
  }

  private request(method: string, url: string, signal?: AbortSignal): Promise<HttpResponse> {
    return this.client.api({
      method,
      url,
      headers: { accept: 'application/vnd.github+json', authorization: `Bearer ${this.token}`, 'x-github-api-version': '2022-11-28' },
      signal,
    });
  }

  private async error(operation: string, response: HttpResponse): Promise<RegistryError> {
    const message = await messageOf(response);
    const limited = isRateLimited(response);
    const errors = message || limited ? [{ code: limited ? 'TOOMANYREQUESTS' : 'GITHUB_API', message }] : [];
    return new RegistryError(this.client.registry, `GitHub API: ${operation}`, response.status, errors);
  }
}
