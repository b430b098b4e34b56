// The HTTP API under test: the real app on @hono/node-server, the real store on an embedded
// dynalite, the real registry client; all on loopback, one instance per call.
import { serve } from '@hono/node-server';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { staticCredentials, type Credential, type CredentialStore } from '../../lib/auth/credentials.ts';
import { readSettings } from '../../lib/config/settings.ts';
import type { LogFields } from '../../lib/log.ts';
import { createServer, type Server } from '../../lib/server.ts';
import { dynamoClient } from '../../lib/store/client.ts';
import { DynamoRecordStore } from '../../lib/store/dynamodb.ts';
import { ensureTable } from '../../lib/store/table.ts';
import { InProcessContinuation } from '../../lib/sync/continuation.ts';
import type { Transport } from '../../lib/transport/types.ts';
import { undiciTransport } from '../../functions/node/undici-transport.ts';
import { startEmbeddedDynamo } from '../../functions/node/embedded-dynamodb.ts';

export interface LogLine extends LogFields {
  level: string;
  msg: string;
}

export interface RunningApi {
  url: string;
  token: string;
  server: Server;
  store: DynamoRecordStore;
  continuation: InProcessContinuation;
  /** Every log line the service wrote. */
  logs: LogLine[];
  /** Sends a request with the bearer token (unless headers say otherwise); JSON bodies are encoded. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiAnswer>;
  stop(): Promise<void>;
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  /** Parsed JSON when there is a body. */
  json: any;
  text: string;
}

const transport = undiciTransport();

export interface ApiOptions {
  env?: Record<string, string>;
  credentials?: Record<string, Credential>;
  /** Instead of `credentials`: a store as the runtimes build it (loadRegistryAuth). */
  credentialStore?: CredentialStore;
  /** The registry transport (default: undici without an address guard). */
  transport?: Transport;
}

export async function startApi(options: ApiOptions = {}): Promise<RunningApi> {
  const dir = await mkdtemp(join(tmpdir(), 'imagesync-api-'));
  const token = `test-token-${Math.random().toString(36).slice(2)}`;
  const settings = readSettings({ IMAGESYNC_API_TOKEN: token, ...options.env });
  const dynamo = await startEmbeddedDynamo(dir);
  const client = dynamoClient({}, { endpoint: dynamo.endpoint });
  await ensureTable(client, settings.table);
  const store = new DynamoRecordStore({ client, table: settings.table });
  const logs: LogLine[] = [];
  const log = (level: string, msg: string, fields: LogFields = {}) => logs.push({ level, msg, ...fields });
  const continuation = new InProcessContinuation(log);
  const server = createServer({
    settings,
    transport: options.transport ?? transport,
    credentials: options.credentialStore ?? staticCredentials(new Map(Object.entries(options.credentials ?? {}))),
    store,
    continuation,
    log,
    worker: `test-${Math.random().toString(36).slice(2, 8)}`,
  });
  const http = serve({ fetch: server.app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => http.once('listening', () => resolve()));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> => {
    const init: RequestInit = { method, headers: { authorization: `Bearer ${token}`, ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${url}${path}`, init);
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, json, text };
  };

  return {
    url,
    token,
    server,
    store,
    continuation,
    logs,
    call,
    async stop() {
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await continuation.drain();
      await dynamo.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
