// Wires the pieces each runtime supplies (transport, credentials, store, continuation, log) into
// the sync core (registry clients, sync engine, scheduled check) and, for the HTTP API, the
// service and the Hono app. functions/ (Node CLI and serve, Lambda, Deno) call these.
import type { Hono } from 'hono';
import { createApp, type ApiEnv, type ApiOptions } from './api/app.ts';
import type { CredentialStore } from './auth/credentials.ts';
import { runCheck, type CheckSummary } from './check/run.ts';
import type { Settings } from './config/settings.ts';
import type { Logger } from './log.ts';
import { RegistryClients } from './registry/client.ts';
import type { RecordStore } from './store/types.ts';
import type { Continuation } from './sync/continuation.ts';
import { SyncEngine } from './sync/engine.ts';
import { ImageService } from './sync/service.ts';
import { DEFAULT_STALL } from './transport/stall.ts';
import { profileSelector } from './registry/profiles/index.ts';
import type { Transport } from './transport/types.ts';

export interface CoreParts {
  settings: Settings;
  transport: Transport;
  credentials: CredentialStore;
  store: RecordStore;
  log: Logger;
  /** This worker's name: its jobs' lease tokens start with it. */
  worker: string;
  userAgent?: string;
}

export interface Core {
  store: RecordStore;
  clients: RegistryClients;
  engine: SyncEngine;
  /** One run of the scheduled check; `deadline` (epoch ms) and `signal` stop it early; `now` is its clock. */
  check(options?: { deadline?: number; signal?: AbortSignal; now?: () => number }): Promise<CheckSummary>;
}

export function createCore(parts: CoreParts): Core {
  const { settings, log, store } = parts;
  const clients = new RegistryClients({
    transport: parts.transport,
    credentials: parts.credentials,
    isInsecure: settings.isInsecure,
    userAgent: parts.userAgent,
    stall: { ...DEFAULT_STALL, ms: settings.stallTimeoutMs },
    profiles: profileSelector(settings.profiles),
    onRetry: (event) => log('info', 'registry retry', { ...event }),
  });
  const engine = new SyncEngine({
    store,
    clients,
    worker: parts.worker,
    log,
    leaseMs: settings.leaseMs,
    syncTimeoutMs: settings.syncTimeoutMs,
    limits: settings.limits,
  });
  return { store, clients, engine, check: (options = {}) => runCheck({ store, engine, clients, log, ...options }) };
}

export interface ServerParts extends CoreParts {
  continuation: Continuation;
  /** The latest a request may be answered, per request (Lambda: the invocation's end, less a reserve). */
  deadlineOf?: ApiOptions['deadlineOf'];
}

export interface Server extends Core {
  app: Hono<ApiEnv>;
  service: ImageService;
}

export function createServer(parts: ServerParts): Server {
  const core = createCore(parts);
  const { settings, log } = parts;
  const service = new ImageService({
    store: parts.store,
    engine: core.engine,
    clients: core.clients,
    continuation: parts.continuation,
    log,
    budgetMs: settings.requestBudgetMs,
  });
  const app = createApp({ service, tokens: settings.tokens, policy: { allowed: settings.allowed }, log, deadlineOf: parts.deadlineOf });
  return { ...core, app, service };
}
