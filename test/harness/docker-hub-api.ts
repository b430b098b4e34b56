// A loopback stand-in for the two calls of Docker Hub's API imagesync makes
// (docs.docker.com/reference/api/hub), over the real registry behind a Docker Hub quirk proxy:
// `POST /v2/auth/token` with `{"identifier", "secret"}` answers `{"access_token"}` (401 for
// anything else), and `DELETE /v2/repositories/{namespace}/{repository}/tags/{tag}/` removes that
// tag alone (204, 404 when there is none; 401 without a token it issued, 403 for an account whose
// token may not delete, as a personal access token with "Read & Write" but not "Delete" access).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from './read-body.ts';
import type { Target } from './raw-client.ts';
import { untag } from './registry-ops.ts';

export interface HubAccount {
  secret: string;
  /** The token may delete (a PAT with Delete access, or the password). */
  delete: boolean;
}

export interface HubApiCall {
  method: string;
  path: string;
  status: number;
  /** For auth/token: the identifier sent (never the secret). */
  identifier?: string;
}

export interface DockerHubApi {
  url: string;
  /** User → account; tests add and remove. */
  accounts: Map<string, HubAccount>;
  calls: HubApiCall[];
  stop(): Promise<void>;
}

export async function startDockerHubApi(registry: Target): Promise<DockerHubApi> {
  const accounts = new Map<string, HubAccount>();
  const issued = new Map<string, { user: string; until: number }>();
  const calls: HubApiCall[] = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const answer = (status: number, body: unknown, identifier?: string) => {
      calls.push({ method: req.method ?? 'GET', path, status, identifier });
      res.writeHead(status, { 'content-type': 'application/json' }).end(body === undefined ? '' : JSON.stringify(body));
    };
    void (async () => {
      if (req.method === 'POST' && path === '/v2/auth/token') {
        let sent: { identifier?: unknown; secret?: unknown } = {};
        try {
          sent = JSON.parse(await readBody(req)) as typeof sent;
        } catch {
          return answer(400, { detail: 'invalid JSON' });
        }
        const identifier = typeof sent.identifier === 'string' ? sent.identifier : undefined;
        const account = identifier ? accounts.get(identifier) : undefined;
        if (!account || account.secret !== sent.secret) return answer(401, { detail: 'Incorrect authentication credentials', message: 'Incorrect authentication credentials' }, identifier);
        const token = `hub-${randomUUID()}`;
        // Ten minutes, as documented.
        issued.set(token, { user: identifier!, until: Date.now() + 600_000 });
        return answer(200, { access_token: token }, identifier);
      }
      const match = /^\/v2\/repositories\/([^/]+)\/([^/]+)\/tags\/([^/]+)\/$/.exec(path);
      if (req.method === 'DELETE' && match) {
        const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
        const session = bearer ? issued.get(bearer[1]!) : undefined;
        if (!session || session.until < Date.now()) return answer(401, { detail: 'Authentication credentials were not provided.' });
        if (!accounts.get(session.user)?.delete) return answer(403, { detail: 'You do not have permission to perform this action.' });
        const [, namespace, name, tag] = match.map((part) => decodeURIComponent(part));
        const removed = await untag(registry, `${namespace}/${name}`, tag!);
        return removed ? answer(204, undefined) : answer(404, { detail: 'Not found.' });
      }
      answer(404, { detail: 'Not found.' });
    })().catch((error: unknown) => {
      if (!res.headersSent) answer(500, { detail: String(error) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    accounts,
    calls,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
