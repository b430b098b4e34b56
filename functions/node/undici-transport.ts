// The Node transport: undici's connection pool and its request API. Node's fetch is not used for
// uploads because it reads a streamed request body without backpressure (a 512 MiB copy measured
// 580 MB of RSS through fetch, 80 MB through this). Only the pool and the request API are
// imported: undici's index loads fetch, WebSocket, caches and more, 73 ms of start-up against 27.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import Agent from 'undici/lib/dispatcher/agent.js';
import requestApi from 'undici/lib/api/api-request.js';
import Pool from 'undici/lib/dispatcher/pool.js';
import { classifyAddress } from '../../lib/transport/addresses.ts';
import { ForbiddenAddressError, type AddressGuard } from '../../lib/transport/address-guard.ts';
import { NetworkError, describeNetworkError } from '../../lib/transport/errors.ts';
import type { HttpRequest, HttpResponse, Transport } from '../../lib/transport/types.ts';

export interface UndiciTransportOptions {
  /** Connections per origin. */
  connections?: number;
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  /** Longest silence while a body is flowing. */
  bodyTimeoutMs?: number;
  /** Called with the size of every response body chunk (the Node runtime uses it to pace GC). */
  onBodyBytes?: (bytes: number) => void;
  /** Checked against every address a connection is about to use (after DNS, at connection time). */
  guard?: AddressGuard;
  /** Name resolution (default: the system's, node:dns lookup); tests map names to addresses. */
  lookup?: LookupFunction;
}

export type LookupFunction = (hostname: string, options: LookupOptions & { all: true }, callback: (error: Error | null, addresses: LookupAddress[]) => void) => void;

export interface ClosableTransport extends Transport {
  close(): Promise<void>;
}

type NodeBody = AsyncIterable<Uint8Array> & { destroy(error?: Error): void };

export function undiciTransport(options: UndiciTransportOptions = {}): ClosableTransport {
  const resolve = options.lookup ?? (dnsLookup as unknown as LookupFunction);
  const guard = options.guard;
  const agent = new Agent({
    connections: options.connections ?? 32,
    connectTimeout: options.connectTimeoutMs ?? 30_000,
    headersTimeout: options.headersTimeoutMs ?? 60_000,
    bodyTimeout: options.bodyTimeoutMs ?? 120_000,
    keepAliveTimeout: 10_000,
    // One pool per origin, whose connections resolve the name through the guard: the addresses
    // checked are the ones connected to (no second lookup to rebind in between).
    factory: (origin, poolOptions) => {
      const host = new URL(String(origin)).host;
      return new Pool(origin, { ...poolOptions, connect: { ...(poolOptions as { connect?: object }).connect, lookup: guardedLookup(host, resolve, guard) } });
    },
  });
  const transport = async (request: HttpRequest): Promise<HttpResponse> => {
    const url = new URL(request.url);
    // A literal IP skips name resolution, so it is checked here.
    if (guard && classifyAddress(url.hostname) !== undefined) guard(url.host, url.hostname.replace(/^\[|\]$/g, ''));
    let answer;
    try {
      answer = await requestApi.call(agent, {
        origin: url.origin,
        path: url.pathname + url.search,
        method: request.method as 'GET',
        headers: request.headers,
        // undici sends any async iterable with backpressure, which a web ReadableStream is on Node.
        body: request.body as Uint8Array | undefined,
        signal: request.signal,
        // undici closes the connection after every HEAD unless told otherwise (for servers that
        // wrongly send a HEAD body); registries do not, and the scheduled check is mostly HEADs.
        reset: false,
      });
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason;
      const forbidden = findForbidden(error);
      if (forbidden) throw forbidden;
      throw new NetworkError(url.host, describeNetworkError(error), { cause: error });
    }
    const headers = answer.headers;
    // Destroying an unfinished body emits an error; whoever reads it learns of failures anyway.
    answer.body.on('error', () => {});
    const nullBody = request.method === 'HEAD' || answer.statusCode === 204 || answer.statusCode === 304;
    // dump() ends an empty body and keeps the connection; destroy() would close it.
    if (nullBody) await answer.body.dump();
    return {
      status: answer.statusCode,
      headers: {
        // undici gives lower-case names; repeated headers come as arrays.
        get: (name) => {
          const value = headers[name.toLowerCase()];
          return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
        },
      },
      body: nullBody ? null : toWebStream(answer.body as unknown as NodeBody, url.host, options.onBodyBytes),
    };
  };
  return Object.assign(transport, { close: () => agent.close() });
}

/** node:dns-style lookup that resolves every address and refuses the lot if any is forbidden. */
function guardedLookup(host: string, resolve: LookupFunction, guard: AddressGuard | undefined) {
  return (hostname: string, lookupOptions: LookupOptions, callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    resolve(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      try {
        for (const { address } of addresses) guard?.(host, address);
      } catch (refused) {
        return callback(refused as Error, []);
      }
      if (lookupOptions.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(new Error(`no address for ${hostname}`), []);
      callback(null, first.address, first.family);
    });
  };
}

function findForbidden(error: unknown): ForbiddenAddressError | undefined {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof ForbiddenAddressError) return e;
  }
  return undefined;
}

/** A pull-driven web stream over a Node stream: nothing is read before the consumer asks. */
function toWebStream(source: NodeBody, host: string, onBytes?: (bytes: number) => void): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let step: IteratorResult<Uint8Array>;
        try {
          step = await iterator.next();
        } catch (error) {
          controller.error(new NetworkError(host, `connection lost while reading: ${describeNetworkError(error)}`, { cause: error }));
          return;
        }
        if (step.done) return controller.close();
        onBytes?.(step.value.byteLength);
        controller.enqueue(step.value);
      },
      cancel(reason) {
        source.destroy(reason instanceof Error ? reason : undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
