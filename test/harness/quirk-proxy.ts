// A reverse proxy in front of the real registry (docker-registry 2.8) that behaves the way a
// hosted registry does where it differs from distribution: each quirk (test/harness/quirks/)
// may answer a request itself, or rewrite the registry's answer; everything else passes through,
// streamed. The Host header goes through as the client sent it, so the registry builds its
// absolute Location URLs with the name the client used (an ECR-like name, through a resolution hook).
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface QuirkRequest {
  method: string;
  /** Path and query. */
  url: string;
  path: string;
  headers: IncomingHttpHeaders;
}

export interface Quirk {
  /** Answers the request itself (true), or lets it through (false). The upload body is unread until then. */
  request?(req: QuirkRequest, res: ServerResponse, raw: IncomingMessage): boolean | Promise<boolean>;
  /** Rewrites the registry's answer before it goes out (status, extra or removed headers). */
  response?(req: QuirkRequest, answer: { status: number; headers: IncomingHttpHeaders }): void;
}

export interface QuirkProxy {
  url: string;
  /** 127.0.0.1:PORT */
  host: string;
  port: number;
  requests: QuirkRequest[];
  count(method: string, path: RegExp): number;
  clear(): void;
  stop(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'transfer-encoding']);

function withoutHopByHop(headers: IncomingHttpHeaders, keepFraming: boolean): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !HOP_BY_HOP.has(k) || (keepFraming && k === 'transfer-encoding')));
}

/** An OCI error answer, as registries send them. */
export function ociError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): true {
  const body = JSON.stringify({ errors: [{ code, message }] });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
  return true;
}

export async function startQuirkProxy(upstreamUrl: string, quirks: Quirk[]): Promise<QuirkProxy> {
  const upstream = new URL(upstreamUrl);
  const agent = new Agent({ keepAlive: true });
  const requests: QuirkRequest[] = [];

  const forward = (req: QuirkRequest, raw: IncomingMessage, res: ServerResponse) => {
    const upstreamReq = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: withoutHopByHop(raw.headers, true), agent });
    raw.pipe(upstreamReq);
    res.on('close', () => {
      if (!res.writableFinished) upstreamReq.destroy();
    });
    upstreamReq.on('error', (error) => {
      if (res.headersSent) res.destroy();
      else res.writeHead(502, { 'content-type': 'text/plain' }).end(`quirk proxy: upstream error: ${error.message}`);
    });
    upstreamReq.on('response', (up) => {
      const answer = { status: up.statusCode ?? 502, headers: withoutHopByHop(up.headers, false) };
      for (const quirk of quirks) quirk.response?.(req, answer);
      res.writeHead(answer.status, answer.headers);
      up.pipe(res);
    });
  };

  const server = createServer(async (raw, res) => {
    const url = raw.url ?? '/';
    const req: QuirkRequest = { method: raw.method ?? 'GET', url, path: url.split('?')[0]!, headers: raw.headers };
    requests.push(req);
    try {
      for (const quirk of quirks) {
        if (quirk.request && (await quirk.request(req, res, raw))) return;
      }
      forward(req, raw, res);
    } catch (error) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    port,
    requests,
    count: (method, path) => requests.filter((r) => r.method === method && path.test(r.path)).length,
    clear: () => void (requests.length = 0),
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
