// A reverse proxy in front of a registry that injects faults on demand: error statuses,
// connections cut mid-body, corrupted bodies, dropped connections. Everything else passes
// through unchanged, streamed. The Host header is forwarded as is, so the registry builds
// its absolute Location URLs with the proxy's address and clients stay behind the proxy.
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  method: string;
  url: string; // path and query
  headers: IncomingHttpHeaders;
}

export type FaultAction =
  /** Answer this status without asking upstream (registry-style JSON error body). */
  | { status: number; retryAfter?: string }
  /** Forward, but destroy the client socket after this many body bytes (headers are sent). */
  | { cut: number }
  /** Forward, but flip one byte in the middle of the body (same length). */
  | { corrupt: true }
  /** Destroy the client socket without any answer. */
  | { drop: true }
  /** Forward, adding these headers to the answer (e.g. Docker Hub's ratelimit-remaining). */
  | { headers: Record<string, string> };

export interface FaultRuleSpec {
  match: (req: ProxiedRequest) => boolean;
  /** How many matching requests get the fault; later ones pass through. */
  times: number;
  action: FaultAction;
}

export interface FaultRule extends FaultRuleSpec {
  /** Requests this rule has faulted so far. */
  hits: number;
}

export interface FaultProxy {
  url: string; // http://127.0.0.1:PORT
  host: string; // 127.0.0.1:PORT
  requests: { method: string; url: string }[];
  fail(spec: FaultRuleSpec): FaultRule;
  /** Forgets all rules and the request log. */
  clear(): void;
  stop(): Promise<void>;
}

// Per-connection headers must not be copied from one hop to the next.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'transfer-encoding']);

function withoutHopByHop(headers: IncomingHttpHeaders, keepFraming: boolean): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (HOP_BY_HOP.has(k) && !(keepFraming && k === 'transfer-encoding')) continue;
    out[k] = v;
  }
  return out;
}

const STATUS_CODES: Record<number, string> = {
  408: 'REQUEST_TIMEOUT',
  429: 'TOOMANYREQUESTS',
  500: 'UNKNOWN',
  502: 'BAD_GATEWAY',
  503: 'UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
  413: 'SIZE_INVALID',
};

function answerStatus(req: IncomingMessage, res: ServerResponse, status: number, retryAfter?: string): void {
  req.resume(); // drain any upload body so the connection stays usable
  const body = JSON.stringify({ errors: [{ code: STATUS_CODES[status] ?? 'UNKNOWN', message: 'injected fault', detail: null }] });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...(retryAfter !== undefined ? { 'retry-after': retryAfter } : {}),
  });
  res.end(body);
}

/** Streams the upstream body but kills the client socket after `limit` bytes. */
function relayCut(upstream: IncomingMessage, res: ServerResponse, limit: number): void {
  let sent = 0;
  const kill = (): void => {
    upstream.destroy();
    res.socket?.destroy();
  };
  if (limit === 0) {
    res.write(Buffer.alloc(0), kill); // flushes the headers first
    return;
  }
  upstream.on('data', (chunk: Buffer) => {
    if (sent >= limit) return;
    const part = chunk.subarray(0, limit - sent);
    sent += part.length;
    if (sent >= limit) res.write(part, kill);
    else res.write(part);
  });
  upstream.on('end', () => {
    if (sent < limit) res.write(Buffer.alloc(0), kill); // body shorter than the limit: close anyway
  });
}

/** Buffers the upstream body and flips the middle byte. */
function relayCorrupt(upstream: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  upstream.on('data', (c: Buffer) => chunks.push(c));
  upstream.on('end', () => {
    const body = Buffer.concat(chunks);
    if (body.length > 0) body[body.length >> 1] = body[body.length >> 1]! ^ 0xff;
    res.end(body);
  });
}

export interface FaultProxyOptions {
  /** Added before every request is handled: a registry across a network instead of on loopback. */
  latencyMs?: number;
}

export async function startFaultProxy(upstreamUrl: string, options: FaultProxyOptions = {}): Promise<FaultProxy> {
  const upstream = new URL(upstreamUrl);
  const agent = new Agent({ keepAlive: true });
  let rules: FaultRule[] = [];
  const requests: { method: string; url: string }[] = [];

  const forward = (req: IncomingMessage, res: ServerResponse, action: FaultAction | undefined): void => {
    const upstreamReq = httpRequest({
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers: withoutHopByHop(req.headers, true), // Host stays the proxy's
      agent,
    });
    req.pipe(upstreamReq);
    res.on('close', () => {
      if (!res.writableFinished) upstreamReq.destroy(); // client went away
    });
    upstreamReq.on('error', (err) => {
      if (res.headersSent) res.destroy();
      else {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`fault proxy: upstream error: ${err.message}`);
      }
    });
    upstreamReq.on('response', (up) => {
      const extra = action !== undefined && 'headers' in action ? action.headers : {};
      res.writeHead(up.statusCode ?? 502, up.statusMessage, { ...withoutHopByHop(up.headers, false), ...extra });
      if (action !== undefined && 'cut' in action) relayCut(up, res, action.cut);
      else if (action !== undefined && 'corrupt' in action) relayCorrupt(up, res);
      else up.pipe(res);
    });
  };

  const server = createServer(async (req, res) => {
    if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
    const seen: ProxiedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers };
    requests.push({ method: seen.method, url: seen.url });
    const rule = rules.find((r) => r.hits < r.times && r.match(seen));
    if (rule) rule.hits++;
    const action = rule?.action;
    if (action !== undefined && 'status' in action) answerStatus(req, res, action.status, action.retryAfter);
    else if (action !== undefined && 'drop' in action) req.socket.destroy();
    else forward(req, res, action);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: `http://${host}`,
    host,
    requests,
    fail(spec) {
      const rule: FaultRule = { ...spec, hits: 0 };
      rules.push(rule);
      return rule;
    },
    clear() {
      rules = [];
      requests.length = 0;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
