// The HTTP API (docs/api.md) as one web-standard Hono app; functions/ adapts it to Node,
// Deno and Lambda. Every answer is JSON; errors are application/problem+json; every request
// gets an id (X-Request-Id) and one JSON log line.
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from '../log.ts';
import { describeError } from '../sync/errors.ts';
import type { ImageService } from '../sync/service.ts';
import { tokenChecker } from './auth.ts';
import { toApiError } from './errors.ts';
import { isRecordId } from './ids.ts';
import { parseImageSpec, type InputPolicy } from './input.ts';
import { ApiError, badRequest, notFound, problemBody } from './problem.ts';
import { publicRecord } from './record.ts';

export interface ApiOptions {
  service: ImageService;
  /** Accepted bearer tokens; empty: every /v1 call is refused (Lambda without a token). */
  tokens: string[];
  policy: InputPolicy;
  log: Logger;
  now?: () => number;
  /** The latest a request may be answered (epoch ms), when the runtime sets one per request (Lambda). */
  deadlineOf?: (c: Context<ApiEnv>) => number | undefined;
}

export type ApiEnv = { Variables: { requestId: string } };

export const MAX_BODY_BYTES = 64 * 1024;
const MAX_PAGE = 1000;

export function createApp(options: ApiOptions): Hono<ApiEnv> {
  const { service, log } = options;
  const now = options.now ?? (() => performance.now());
  const authorized = tokenChecker(options.tokens);
  const begin = (c: Context<ApiEnv>, wait: boolean) => service.begin(wait, options.deadlineOf?.(c));
  const app = new Hono<ApiEnv>();

  app.use(async (c, next) => {
    const started = now();
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && /^[A-Za-z0-9._:-]{1,128}$/.test(incoming) ? incoming : crypto.randomUUID();
    c.set('requestId', requestId);
    try {
      await next();
    } catch (error) {
      // Hono hands only Error instances to onError; anything else thrown ends up here.
      c.res = problem(c, error, log);
    }
    c.header('x-request-id', requestId);
    log('info', 'request', { request_id: requestId, method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(now() - started) });
  });

  app.onError((error, c) => problem(c, error, log));
  app.notFound((c) => problem(c, notFound(`no route for ${c.req.method} ${c.req.path}`), log));

  app.get('/healthz', (c) => c.json({ ok: true }));

  app.use('/v1/*', async (c, next) => {
    if (options.tokens.length === 0) {
      throw new ApiError(401, 'no-token-configured', 'Unauthorized', 'IMAGESYNC_API_TOKEN is not set on the server: every /v1 call is refused', { 'www-authenticate': 'Bearer' });
    }
    if (!authorized(c.req.header('authorization'))) {
      throw new ApiError(401, 'unauthorized', 'Unauthorized', 'a valid "Authorization: Bearer <token>" header is required', { 'www-authenticate': 'Bearer' });
    }
    await next();
  });
  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError(413, 'body-too-large', 'Payload too large', `the body is larger than ${MAX_BODY_BYTES} bytes`);
      },
    }),
  );

  app.post('/v1/images', async (c) => {
    const spec = parseImageSpec(await jsonBody(c), options.policy);
    const answer = await service.create(spec, begin(c, wantsWait(c)));
    return c.json(publicRecord(answer.record), answer.status);
  });

  app.get('/v1/images', async (c) => {
    const limitText = c.req.query('limit');
    const limit = limitText === undefined ? 100 : /^\d{1,4}$/.test(limitText) ? Number(limitText) : Number.NaN;
    if (!(limit >= 1 && limit <= MAX_PAGE)) throw badRequest('invalid-limit', `limit must be an integer from 1 to ${MAX_PAGE}`);
    const page = await service.list(limit, c.req.query('cursor') || undefined);
    return c.json({ items: page.items.map(publicRecord), next_cursor: page.nextCursor ?? null });
  });

  app.get('/v1/images/:id', async (c) => {
    const id = recordIdParam(c);
    const record = await service.read(id, begin(c, true));
    if (!record) throw notFound(`no record ${id}`);
    return c.json(publicRecord(record));
  });

  app.put('/v1/images/:id', async (c) => {
    const id = recordIdParam(c);
    const spec = parseImageSpec(await jsonBody(c), options.policy);
    const answer = await service.replace(id, spec, begin(c, wantsWait(c)));
    if (!answer) throw notFound(`no record ${id}`);
    return c.json(publicRecord(answer.record), answer.status === 201 ? 200 : answer.status);
  });

  app.delete('/v1/images/:id', async (c) => {
    const id = recordIdParam(c);
    const removal = await service.remove(id, begin(c, true));
    if (removal.outcome === 'absent') throw notFound(`no record ${id}`);
    // Still going on (a sync elsewhere letting go, a long deletion): the record says where it is.
    if (removal.outcome === 'pending') return c.json(publicRecord(removal.record), 202);
    // 204 has no body: what a registry refused to delete is said in a header (and the log),
    // in printable ASCII (a header must be bytes; registries' messages need not be).
    if (removal.left.length > 0) c.header('x-imagesync-left', removal.left.join('; ').replace(/[^\x20-\x7e]/g, '?').slice(0, 2000));
    return c.body(null, 204);
  });

  app.post('/v1/images/:id/sync', async (c) => {
    const id = recordIdParam(c);
    const answer = await service.checkNow(id, begin(c, wantsWait(c)));
    if (!answer) throw notFound(`no record ${id}`);
    return c.json(publicRecord(answer.record), answer.status === 201 ? 200 : answer.status);
  });

  return app;
}

function recordIdParam(c: Context<ApiEnv>): string {
  const id = c.req.param('id') ?? '';
  // Ids are ours: anything else cannot name a record (and must not reach the store).
  if (!isRecordId(id)) throw notFound(`no record ${JSON.stringify(id.slice(0, 100))}`);
  return id;
}

/** `?wait=false` answers 202 at once and syncs in the background. */
function wantsWait(c: Context<ApiEnv>): boolean {
  return c.req.query('wait') !== 'false';
}

async function jsonBody(c: Context<ApiEnv>): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i.test(type)) {
    throw new ApiError(415, 'unsupported-media-type', 'Unsupported media type', `the body must be application/json${type ? `, not ${type.split(';')[0]}` : ''}`);
  }
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest('invalid-json', 'the body is not valid JSON');
  }
}

function problem(c: Context<ApiEnv>, error: unknown, log: Logger): Response {
  const requestId = c.get('requestId');
  let apiError = toApiError(error);
  if (!apiError) {
    log('error', 'unexpected error', { request_id: requestId, error: describeError(error), stack: error instanceof Error ? error.stack : undefined });
    apiError = new ApiError(500, 'internal', 'Internal error', `something went wrong; the server log has request ${requestId}`);
  } else if (apiError.status >= 500) {
    log('warn', 'request failed', { request_id: requestId, status: apiError.status, error: apiError.detail });
  }
  return new Response(JSON.stringify(problemBody(apiError, requestId)), {
    status: apiError.status,
    headers: { 'content-type': 'application/problem+json', 'x-request-id': requestId ?? '', ...apiError.headers },
  });
}
