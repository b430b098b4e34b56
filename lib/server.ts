// Wires the service from settings and the pieces each runtime supplies (transport, store,
// continuation). functions/ (Node serve, Lambda, Deno) call this and adapt the app.
import type { Hono } from 'hono';
import { createApp, type ApiEnv } from './api/app.ts';
import type { CredentialStore } from './auth/credentials.ts';
import type { Settings } from './config/settings.ts';
import type { Logger } from './log.ts';
import { RegistryClients } from './registry/client.ts';
import type { RecordStore } from './store/types.ts';
import type { Continuation } from './sync/continuation.ts';
import { SyncEngine } from './sync/engine.ts';
import { ImageService } from './sync/service.ts';
import type { Transport } from './transport/types.ts';

export interface ServerParts {
  settings: Settings;
  transport: Transport;
  credentials: CredentialStore;
  store: RecordStore;
  continuation: Continuation;
  log: Logger;
  /** This worker's name in sync leases. */
  owner: string;
  /** Overrides the settings' request budget per request (Lambda: the invocation's time left). */
  budgetMs?: () => number;
  userAgent?: string;
}

export interface Server {
  app: Hono<ApiEnv>;
  service: ImageService;
  engine: SyncEngine;
  clients: RegistryClients;
}

export function createServer(parts: ServerParts): Server {
  const { settings, log } = parts;
  const clients = new RegistryClients({
    transport: parts.transport,
    credentials: parts.credentials,
    isInsecure: settings.isInsecure,
    userAgent: parts.userAgent,
    onRetry: (event) => log('info', 'registry retry', { ...event }),
  });
  const engine = new SyncEngine({ store: parts.store, clients, owner: parts.owner, log });
  const service = new ImageService({
    store: parts.store,
    engine,
    clients,
    continuation: parts.continuation,
    log,
    budgetMs: parts.budgetMs ?? (() => settings.requestBudgetMs),
  });
  const app = createApp({ service, tokens: settings.tokens, policy: { allowed: settings.allowed }, log });
  return { app, service, engine, clients };
}
