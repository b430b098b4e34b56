// Docker Hub's differences from distribution 2.8, emulated in front of the real registry from what
// is publicly recorded (REGISTRY-NOTES "Per registry"; docker/hub-feedback#1907;
// distribution/distribution#2055):
// - a manifest GET spends the pull allowance and says what is left in `ratelimit-remaining`
//   (`N;w=21600`); a HEAD says it without spending any;
// - a blob GET is redirected (307) to a CDN, another origin, whose signed URL answers 400 when an
//   Authorization header comes along (S3's "only one auth mechanism"), else serves the blob;
// - the anti-abuse 429, "Too Many Requests (HAP429).", for the next N requests when a test asks;
// - manifest DELETE answers 405 (Hub's own API deletes tags: test/harness/docker-hub-api.ts).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ociError, type Quirk } from '../quirk-proxy.ts';
import { rawFetch, type Target } from '../raw-client.ts';

export interface CdnRequest {
  path: string;
  authorization: boolean;
  status: number;
}

export interface DockerHubQuirks {
  quirks: Quirk[];
  /** The pull allowance: manifest GETs spend it, every manifest answer reports it. */
  pulls: { limit: number; remaining: number };
  /** Answers the next `count` requests with the anti-abuse 429. */
  antiAbuse(count: number): void;
  /** Anti-abuse 429s answered so far. */
  readonly antiAbuseAnswered: number;
  cdn: { url: string; requests: CdnRequest[] };
  stop(): Promise<void>;
}

const isManifest = (path: string) => /^\/v2\/.+\/manifests\/[^/]+$/.test(path);
const BLOB = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/;

export async function startDockerHubQuirks(registry: Target): Promise<DockerHubQuirks> {
  const pulls = { limit: 100, remaining: 100 };
  let abusive = 0;
  let answered = 0;
  const signed = new Map<string, { repository: string; digest: string }>();
  const requests: CdnRequest[] = [];

  const cdnServer = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const reply = (status: number, body: string | Uint8Array, type = 'application/xml') => {
      requests.push({ path, authorization: req.headers.authorization !== undefined, status });
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) }).end(body);
    };
    void (async () => {
      // A signed URL carries its own authorization; a second mechanism is refused (distribution/distribution#2055).
      if (req.headers.authorization !== undefined) return reply(400, '<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>');
      const blob = signed.get(path.replace(/^\/blobs\//, ''));
      if (!blob) return reply(403, '<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
      const upstream = await rawFetch(registry, `/v2/${blob.repository}/blobs/${blob.digest}`, {}, `repository:${blob.repository}:pull`);
      reply(upstream.status, new Uint8Array(await upstream.arrayBuffer()), 'application/octet-stream');
    })().catch((error: unknown) => {
      if (!res.headersSent) reply(500, String(error), 'text/plain');
    });
  });
  await new Promise<void>((resolve) => cdnServer.listen(0, '127.0.0.1', resolve));
  const cdnUrl = `http://127.0.0.1:${(cdnServer.address() as AddressInfo).port}`;

  const antiAbuseQuirk: Quirk = {
    request(req, res, raw) {
      if (abusive <= 0) return false;
      abusive--;
      answered++;
      raw.resume();
      const body = 'Too Many Requests (HAP429).\n';
      res.writeHead(429, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return true;
    },
  };

  const noManifestDelete: Quirk = {
    request(req, res) {
      if (req.method !== 'DELETE' || !isManifest(req.path)) return false;
      return ociError(res, 405, 'UNSUPPORTED', 'The operation is unsupported.');
    },
  };

  const blobsFromCdn: Quirk = {
    async request(req, res) {
      const match = BLOB.exec(req.path);
      if (req.method !== 'GET' || !match) return false;
      // Hub checks the token before redirecting: the registry behind says whether it is good; if
      // not, its own answer (401 with the challenge, 404) goes out as it is.
      const headers: Record<string, string> = req.headers.authorization ? { authorization: req.headers.authorization } : {};
      const check = await fetch(`${registry.url}${req.path}`, { method: 'HEAD', headers });
      if (check.status !== 200) return false;
      const signature = randomUUID();
      signed.set(signature, { repository: match[1]!, digest: match[2]! });
      res.writeHead(307, { location: `${cdnUrl}/blobs/${signature}?X-Amz-Expires=600&X-Amz-Signature=${signature}`, 'content-length': '0' }).end();
      return true;
    },
  };

  const pullAllowance: Quirk = {
    response(req, answer) {
      if (!isManifest(req.path) || (req.method !== 'GET' && req.method !== 'HEAD')) return;
      if (req.method === 'GET' && answer.status === 200) pulls.remaining = Math.max(0, pulls.remaining - 1);
      answer.headers['ratelimit-limit'] = `${pulls.limit};w=21600`;
      answer.headers['ratelimit-remaining'] = `${pulls.remaining};w=21600`;
    },
  };

  return {
    quirks: [antiAbuseQuirk, noManifestDelete, blobsFromCdn, pullAllowance],
    pulls,
    antiAbuse: (count) => void (abusive = count),
    get antiAbuseAnswered() {
      return answered;
    },
    cdn: { url: cdnUrl, requests },
    async stop() {
      cdnServer.closeAllConnections();
      await new Promise<void>((resolve) => cdnServer.close(() => resolve()));
    },
  };
}
