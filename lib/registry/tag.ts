// Tags: listing (paged with n/last and Link on distribution 3.x; all at once, or `"tags": null`,
// on 2.8) and deleting a tag alone where the registry allows it. A listing is bounded and every
// tag in it checked: the tags go into URLs, and deletion decides what to keep from them.
import { tagProblem, validateRepositoryPath, validateTag } from '../reference/reference.ts';
import { discard } from '../transport/types.ts';
import { readAllCapped, SizeLimitError } from '../util/stream.ts';
import { repositoryScope, type RegistryClient } from './client.ts';
import { RegistryProtocolError } from './errors.ts';
import { manifestPath } from './manifest.ts';

/** Tags asked for per page (2.8 ignores it and sends all). */
const PAGE = 1000;

export interface TagListLimits {
  /** Pages followed at most: a `Link` chain longer than this is refused, not followed on. */
  pages: number;
  /** Tags at most, over all pages. */
  tags: number;
  /** Bytes read at most, over all pages. */
  bytes: number;
}

// 100,000 tags is far beyond any real repository's listing yet a few MiB of memory; pages of
// 100 (the smallest common server default) still reach it within 1,000 pages.
export const TAG_LIST_LIMITS: TagListLimits = { pages: 1_000, tags: 100_000, bytes: 32 * 1024 * 1024 };

/** `/v2/<repository>/tags/list`, refusing (InvalidReferenceError) a repository outside the grammar. */
export function tagsPath(repository: string): string {
  return `/v2/${validateRepositoryPath(repository)}/tags/list`;
}

/**
 * Every tag of the repository. A listing that breaks the rules is refused whole (a
 * RegistryProtocolError) rather than trimmed: a tag that is not a tag ('../x'), a `Link` to
 * another origin or path, a page seen before, more than `limits` allow. Deletion keeps what
 * the tags reach, so a partial listing could delete an image a dropped tag still names.
 */
export async function listTags(client: RegistryClient, repository: string, signal?: AbortSignal, limits: TagListLimits = TAG_LIST_LIMITS): Promise<string[]> {
  const operation = `list tags of ${repository}`;
  const listPath = tagsPath(repository);
  const base = new URL(client.baseUrl);
  const tags: string[] = [];
  const seen = new Set<string>();
  let budget = limits.bytes;
  let next: URL | undefined = new URL(`${listPath}?n=${PAGE}`, base);
  for (let page = 1; next; page++) {
    const where = page === 1 ? operation : `${operation} (page ${page})`;
    const fail = (problem: string, field?: string, cause?: unknown): never => {
      throw new RegistryProtocolError(client.registry, where, problem, { field, cause });
    };
    if (page > limits.pages) fail(`more than ${limits.pages} pages of tags`, 'Link');
    seen.add(next.href);
    const response = await client.send({ method: 'GET', path: `${next.pathname}${next.search}`, scopes: [repositoryScope(repository, 'pull')], signal });
    // A repository that never existed, or whose last tag went, has no tags.
    if (response.status === 404) {
      await discard(response);
      return tags;
    }
    if (response.status !== 200) throw await client.error(where, response);
    let bytes: Uint8Array;
    try {
      bytes = response.body ? await readAllCapped(response.body, budget, 'the tag list') : new Uint8Array(0);
    } catch (error) {
      if (error instanceof SizeLimitError) return fail(`the tag list is larger than ${limits.bytes} bytes`, undefined, error);
      throw error;
    }
    budget -= bytes.byteLength;
    for (const tag of pageTags(new TextDecoder().decode(bytes), fail)) {
      if (tags.length >= limits.tags) fail(`more than ${limits.tags} tags`);
      tags.push(tag);
    }
    next = nextPage(response.headers.get('link'), next, base, listPath, fail);
    if (next && seen.has(next.href)) fail('the next page is one already read (a loop)', 'Link');
  }
  return tags;
}

/** The tags of one page (`{"name": ..., "tags": [...] | null}`), each checked against the tag grammar. */
function pageTags(text: string, fail: (problem: string, field?: string) => never): string[] {
  let page: unknown;
  try {
    page = JSON.parse(text);
  } catch {
    return fail('the tag list is not JSON');
  }
  if (page === null || typeof page !== 'object' || Array.isArray(page)) return fail('the tag list is not a JSON object');
  const list = (page as { tags?: unknown }).tags;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) return fail('not a list', 'tags');
  list.forEach((tag: unknown, i) => {
    if (typeof tag !== 'string') fail('not a string', `tags[${i}]`);
    const problem = tagProblem(tag as string);
    if (problem !== undefined) fail(problem, `tags[${i}]`);
  });
  return list as string[];
}

/**
 * The next page from `Link: </v2/x/tags/list?n=1000&last=y>; rel="next"`, resolved against the
 * page it came with. Only the same origin and the same listing path are followed: anything else
 * would send the registry's credentials (or our requests) where the registry points.
 */
function nextPage(link: string | null, current: URL, base: URL, listPath: string, fail: (problem: string, field?: string) => never): URL | undefined {
  const target = link ? /<([^>]*)>\s*;\s*rel="?next"?/.exec(link)?.[1] : undefined;
  if (target === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(target, current);
  } catch {
    return fail('the next page is not a URL', 'Link');
  }
  if (url.origin !== base.origin) fail(`the next page is on another origin (${url.host})`, 'Link');
  if (url.pathname !== listPath) fail(`the next page is not ${listPath}`, 'Link');
  return url;
}

export type TagDeletion = 'deleted' | 'absent' | 'refused-by-tag' | 'unsupported';

/**
 * DELETE manifests/<tag>. distribution 3.x, Quay and Artifact Registry delete the tag alone
 * ('deleted'); 2.8 (400 DIGEST_INVALID) and Harbor (400 UNSUPPORTED) refuse it while deleting
 * by digest works ('refused-by-tag': the caller may move the tag away instead); 405 means the
 * registry deletes nothing ('unsupported').
 */
export async function deleteTag(client: RegistryClient, repository: string, tag: string, signal?: AbortSignal): Promise<TagDeletion> {
  const response = await client.send({ method: 'DELETE', path: manifestPath(repository, validateTag(tag)), scopes: [repositoryScope(repository, 'delete')], signal });
  if (response.status === 202 || response.status === 200 || response.status === 204) {
    await discard(response);
    return 'deleted';
  }
  if (response.status === 404) {
    await discard(response);
    return 'absent';
  }
  if (response.status === 405) {
    await discard(response);
    return 'unsupported';
  }
  // The OCI spec: "If tag deletion is disabled, the registry MUST respond with either a 400 Bad
  // Request or a 405". 2.8 says 400 DIGEST_INVALID, Harbor 400 UNSUPPORTED (goharbor/harbor PR#11971).
  if (response.status === 400) {
    await discard(response);
    return 'refused-by-tag';
  }
  throw await client.error(`delete tag ${repository}:${tag}`, response);
}
