// A loopback stand-in for the GitHub Packages REST API (docs.github.com/rest/packages/packages) over
// the real registry behind a GHCR quirk proxy: a container package is a repository `owner/name`,
// its versions are the registry's manifests (read from its storage, newest first, tagged as its
// tags say), and deleting a version deletes the manifest by digest. As GitHub does: organization
// and user endpoints (the other kind answers 404), a Bearer token (401 without a known one, 403 on
// DELETE for a token without delete rights, `X-OAuth-Scopes` for classic tokens), the package name
// URL-encoded, pages of `per_page` (at most 100), and 400 for deleting a package's last version
// (actions/delete-package-versions#231).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { RunningRegistry } from './registry.ts';
import { deleteByDigest, tagsOf } from './registry-ops.ts';

export interface GitHubToken {
  /** May delete package versions (delete:packages). */
  delete: boolean;
  /** Sent back as X-OAuth-Scopes (classic tokens); none for other kinds. */
  scopes?: string[];
}

export interface GitHubApiCall {
  method: string;
  /** Path and query, as sent. */
  url: string;
  status: number;
}

export interface GitHubApi {
  url: string;
  /** Token → what it may do; tests add and remove. */
  tokens: Map<string, GitHubToken>;
  calls: GitHubApiCall[];
  /** A fault, not GitHub's documented behaviour: versions pushed from now on are not listed until catchUp(), as if the API lagged behind the registry. */
  lag(): void;
  catchUp(): void;
  stop(): Promise<void>;
}

interface Version {
  id: number;
  digest: string;
  mtime: number;
}

export async function startGitHubApi(registry: RunningRegistry, owners: Record<string, 'orgs' | 'users'>): Promise<GitHubApi> {
  const tokens = new Map<string, GitHubToken>();
  const calls: GitHubApiCall[] = [];
  const ids = new Map<string, number>();
  let nextId = 1000;
  /** While lagging: versions newer than this (ms) are not listed. */
  let listedUntil: number | undefined;

  /** The repository's manifests, newest first; undefined when it has none (no package). */
  const versionsOf = (repository: string): Version[] | undefined => {
    const dir = join(registry.dir, 'data/docker/registry/v2/repositories', repository, '_manifests/revisions/sha256');
    if (!existsSync(dir)) return undefined;
    // A deleted manifest keeps its directory and loses its link.
    const present = readdirSync(dir)
      .filter((hex) => existsSync(join(dir, hex, 'link')))
      .map((hex) => ({ digest: `sha256:${hex}`, mtime: statSync(join(dir, hex, 'link')).mtimeMs }))
      .sort((a, b) => a.mtime - b.mtime);
    if (present.length === 0) return undefined;
    const versions = present.map(({ digest, mtime }) => {
      const key = `${repository}@${digest}`;
      if (!ids.has(key)) ids.set(key, nextId++);
      return { id: ids.get(key)!, digest, mtime };
    });
    return versions.sort((a, b) => b.mtime - a.mtime || b.id - a.id);
  };

  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      calls.push({ method: req.method ?? 'GET', url, status });
      const text = body === undefined ? '' : JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(text);
    };
    void (async () => {
      const auth = /^(?:Bearer|token) (.+)$/.exec(req.headers.authorization ?? '');
      const token = auth ? tokens.get(auth[1]!) : undefined;
      if (!token) return answer(401, { message: auth ? 'Bad credentials' : 'Requires authentication' });
      const scopes: Record<string, string> = token.scopes ? { 'x-oauth-scopes': token.scopes.join(', ') } : {};
      const [path, query = ''] = url.split('?');
      // /{orgs|users}/{owner}/packages/container/{package, URL-encoded}/versions[/{id}]
      const match = /^\/(orgs|users)\/([^/]+)\/packages\/container\/([^/]+)\/versions(?:\/(\d+))?$/.exec(path!);
      if (!match) return answer(404, { message: 'Not Found' });
      const [, kind, owner, encoded, id] = match;
      if (owners[owner!] !== kind) return answer(404, { message: 'Not Found' }, scopes);
      const repository = `${owner}/${decodeURIComponent(encoded!)}`;
      const versions = versionsOf(repository);
      if (!versions) return answer(404, { message: 'Package not found.' }, scopes);

      if (req.method === 'GET' && id === undefined) {
        const params = new URLSearchParams(query);
        const perPage = Math.min(100, Math.max(1, Number(params.get('per_page') ?? 30)));
        const page = Math.max(1, Number(params.get('page') ?? 1));
        const tags = await tagsOf(registry, repository);
        const listed = listedUntil === undefined ? versions : versions.filter((version) => version.mtime <= listedUntil!);
        const body = listed.slice((page - 1) * perPage, page * perPage).map((version) => ({
          id: version.id,
          name: version.digest,
          url: `https://api.github.com/${kind}/${owner}/packages/container/${encoded}/versions/${version.id}`,
          created_at: new Date(version.mtime).toISOString(),
          updated_at: new Date(version.mtime).toISOString(),
          metadata: { package_type: 'container', container: { tags: [...tags].filter(([, digest]) => digest === version.digest).map(([tag]) => tag) } },
        }));
        return answer(200, body, scopes);
      }
      if (req.method === 'DELETE' && id !== undefined) {
        const version = versions.find((v) => v.id === Number(id));
        if (!token.delete) return answer(403, { message: 'Resource not accessible by personal access token' }, scopes);
        if (!version) return answer(404, { message: 'Not Found' }, scopes);
        if (versions.length === 1) return answer(400, { message: 'You cannot delete the last version of a package. You must delete the package instead.' }, scopes);
        await deleteByDigest(registry, repository, version.digest);
        return answer(204, undefined, scopes);
      }
      answer(404, { message: 'Not Found' });
    })().catch((error: unknown) => {
      if (!res.headersSent) answer(500, { message: String(error) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tokens,
    calls,
    lag: () => void (listedUntil = Date.now()),
    catchUp: () => void (listedUntil = undefined),
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
