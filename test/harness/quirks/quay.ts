// Quay (quay.io) in front of the real registry (docker-registry 2.8), as its public record has it:
// - v2 tag deletion, DELETE manifests/<tag> (quay/quay PR#3128): the tag alone goes, the other tags
//   on its manifest stay. 2.8 refuses that (400 DIGEST_INVALID); `untag` does what Quay does.
// - 429 under load (goharbor/harbor#19199, ivanilves/lstags#204), from its nginx rate limits
//   (quay/quay PR#1175) with nginx's HTML page as the body (3scale/3scale-operator#583), here with
//   Retry-After.
// Artifact Registry deletes tags the same way (v2TagDeletion); Harbor refuses it (onTagDelete).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Target } from '../raw-client.ts';
import { ociError, type Quirk, type QuirkRequest } from '../quirk-proxy.ts';
import { untag } from '../registry-ops.ts';

/** `/v2/<repository>/manifests/<reference>` */
export const MANIFEST_PATH = /^\/v2\/(.+)\/manifests\/([^/]+)$/;

export interface TagDeletion extends Quirk {
  /** `repository:tag` of every tag deleted alone, in order. */
  deleted: string[];
}

export interface TagDeletionOptions {
  /** Rewrites a challenge relayed from the registry (a quirk that moved the token realm). */
  challenge?: (value: string, host: string) => string;
}

/** DELETE manifests/<tag> deletes that tag alone (202), the other tags on its manifest stay. */
export function v2TagDeletion(registry: Target, options: TagDeletionOptions = {}): TagDeletion {
  const deleted: string[] = [];
  const quirk = onTagDelete(
    registry,
    async (repository, tag, res) => {
      if (!(await untag(registry, repository, tag))) return ociError(res, 404, 'MANIFEST_UNKNOWN', `manifest tagged by "${tag}" is not found`);
      deleted.push(`${repository}:${tag}`);
      res.writeHead(202, { 'content-length': '0' }).end();
      return true;
    },
    options,
  );
  return { ...quirk, deleted };
}

/**
 * Answers DELETE manifests/<tag> with `answer`, once the caller's credentials passed: the same
 * DELETE goes to the real registry first, and only its refusal of a tag (400, which 2.8 gives after
 * the credentials passed) leads to `answer`; any other answer (a 401 challenge) is relayed.
 */
export function onTagDelete(
  registry: Target,
  answer: (repository: string, tag: string, res: ServerResponse) => Promise<true>,
  options: TagDeletionOptions = {},
): Quirk {
  return {
    async request(req, res) {
      const match = MANIFEST_PATH.exec(req.path);
      if (req.method !== 'DELETE' || !match || match[2]!.includes(':')) return false;
      const [, repository, tag] = match as unknown as [string, string, string];
      const authorization = req.headers.authorization;
      const check = await fetch(new URL(req.url, registry.url), { method: 'DELETE', headers: authorization ? { authorization } : {} });
      if (check.status !== 400) return relay(check, res, req, options.challenge);
      await check.body?.cancel();
      return answer(repository, tag, res);
    },
  };
}

async function relay(answer: Response, res: ServerResponse, req: QuirkRequest, challenge?: TagDeletionOptions['challenge']): Promise<true> {
  const body = Buffer.from(await answer.arrayBuffer());
  const headers: Record<string, string> = { 'content-length': String(body.byteLength) };
  const type = answer.headers.get('content-type');
  if (type) headers['content-type'] = type;
  const authenticate = answer.headers.get('www-authenticate');
  if (authenticate) headers['www-authenticate'] = challenge ? challenge(authenticate, req.headers.host ?? '') : authenticate;
  res.writeHead(answer.status, headers).end(body);
  return true;
}

export interface BurstOptions {
  /** Every this many requests, a burst starts: every request gets 429 until it is over. */
  every: number;
  /** How long a burst lasts, and what Retry-After says. */
  retryAfterSeconds: number;
  /** The requests the limit applies to (a per-endpoint limit); default: all. */
  only?: (req: QuirkRequest) => boolean;
  /** Bursts at most, until reset (default: no bound). */
  times?: number;
}

export interface Throttled {
  method: string;
  url: string;
  /** When the 429 went out (ms since the epoch), and the Retry-After it carried (seconds). */
  at: number;
  retryAfterSeconds: number;
}

export interface Bursts extends Quirk {
  /** Off until a test arms it. */
  armed: boolean;
  throttled: Throttled[];
  /** Every request the limit covers that reached the proxy while armed. */
  arrivals: { method: string; url: string; at: number }[];
  /** Forgets the requests seen and any burst under way. */
  reset(): void;
}

const NGINX_429 = '<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

/** A rate limit that trips every `every` requests and answers 429 to everything it covers for a while. */
export function bursts(options: BurstOptions): Bursts {
  let seen = 0;
  let trips = 0;
  let blockedUntil = 0;
  const state: Bursts = {
    armed: false,
    throttled: [],
    arrivals: [],
    reset() {
      seen = trips = blockedUntil = 0;
      state.throttled.length = 0;
      state.arrivals.length = 0;
    },
    async request(req, res, raw) {
      if (!state.armed || (options.only && !options.only(req))) return false;
      const now = Date.now();
      state.arrivals.push({ method: req.method, url: req.url, at: now });
      seen++;
      if (now >= blockedUntil) {
        if (seen % options.every !== 0 || trips >= (options.times ?? Number.POSITIVE_INFINITY)) return false;
        blockedUntil = now + options.retryAfterSeconds * 1000;
        trips++;
      }
      const retryAfterSeconds = Math.ceil((blockedUntil - now) / 1000);
      // Read what the client sends first, so it sees the 429 rather than a connection cut mid-upload.
      await drain(raw);
      state.throttled.push({ method: req.method, url: req.url, at: Date.now(), retryAfterSeconds });
      res.writeHead(429, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(NGINX_429), 'retry-after': String(retryAfterSeconds) });
      res.end(NGINX_429);
      return true;
    },
  };
  return state;
}

/** Reads and drops a request body. */
export async function drain(raw: IncomingMessage): Promise<void> {
  if (raw.readableEnded) return;
  await new Promise<void>((resolve, reject) => {
    raw.on('end', resolve).on('error', reject);
    raw.resume();
  });
}
