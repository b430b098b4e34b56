// Tags: listing (paged with n/last and Link on distribution 3.x; all at once, or `"tags": null`,
// on 2.8) and deleting a tag alone where the registry allows it.
import { discard, readText } from '../transport/types.ts';
import { repositoryScope, type RegistryClient } from './client.ts';

const PAGE = 1000;

export async function listTags(client: RegistryClient, repository: string, signal?: AbortSignal): Promise<string[]> {
  const tags: string[] = [];
  let path: string | undefined = `/v2/${repository}/tags/list?n=${PAGE}`;
  while (path) {
    const response = await client.send({ method: 'GET', path, scopes: [repositoryScope(repository, 'pull')], signal });
    // A repository that never existed, or whose last tag went, has no tags.
    if (response.status === 404) {
      await discard(response);
      return tags;
    }
    if (response.status !== 200) throw await client.error(`list tags of ${repository}`, response);
    const page = JSON.parse(await readText(response, 16 * 1024 * 1024, `tags of ${repository}`)) as { tags?: string[] | null };
    tags.push(...(page.tags ?? []));
    path = nextPage(response.headers.get('link'));
  }
  return tags;
}

/** `Link: </v2/x/tags/list?n=1000&last=y>; rel="next"`. */
function nextPage(link: string | null): string | undefined {
  const match = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
  return match?.[1];
}

export type TagDeletion = 'deleted' | 'absent' | 'refused-by-tag' | 'unsupported';

/**
 * DELETE manifests/<tag>. distribution 3.x deletes the tag alone ('deleted'); 2.8 refuses with
 * 400 DIGEST_INVALID while deleting by digest works ('refused-by-tag': the caller may move the
 * tag away instead); 405 means the registry deletes nothing ('unsupported').
 */
export async function deleteTag(client: RegistryClient, repository: string, tag: string, signal?: AbortSignal): Promise<TagDeletion> {
  const response = await client.send({ method: 'DELETE', path: `/v2/${repository}/manifests/${tag}`, scopes: [repositoryScope(repository, 'delete')], signal });
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
  const error = await client.error(`delete tag ${repository}:${tag}`, response);
  if (response.status === 400 && error.code === 'DIGEST_INVALID') return 'refused-by-tag';
  throw error;
}
