// Test doubles shared by the unit tests: a recording fake transport, stream builders, deferreds.
// No network: every "server" here is a function returning a web-standard Response.
import type { HttpRequest, HttpResponse, Transport } from '../../../lib/transport/types.ts';

/** What the fake transport saw, copied at call time (headers are mutable). */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: HttpRequest['body'];
  signal?: AbortSignal;
}

export type Responder = (request: HttpRequest, index: number) => Response | Promise<Response>;

export interface FakeTransport extends Transport {
  calls: RecordedRequest[];
}

/**
 * A transport answering from a list (one entry per call, the last repeated) or a function.
 * An entry that is an Error is thrown instead of answered.
 */
export function fakeTransport(answers: Responder | Array<Response | Error | (() => Response | Error)>): FakeTransport {
  const calls: RecordedRequest[] = [];
  const transport = (async (request: HttpRequest): Promise<HttpResponse> => {
    const index = calls.length;
    calls.push({
      method: request.method,
      url: request.url,
      headers: { ...request.headers },
      body: request.body,
      signal: request.signal,
    });
    if (typeof answers === 'function') return answers(request, index);
    let answer = answers[Math.min(index, answers.length - 1)]!;
    if (typeof answer === 'function') answer = answer();
    if (answer instanceof Error) throw answer;
    return answer;
  }) as FakeTransport;
  transport.calls = calls;
  return transport;
}

/** A responder per origin (`https://host[:port]`), for a registry and the hosts it sends clients to. */
export function byOrigin(handlers: Record<string, Responder>): Responder {
  return (request, index) => {
    const origin = new URL(request.url).origin;
    const handler = handlers[origin];
    if (!handler) throw new Error(`the fake network has no ${origin}`);
    return handler(request, index);
  };
}

export function request(url: string, init: Partial<Omit<HttpRequest, 'url'>> = {}): HttpRequest {
  return { method: init.method ?? 'GET', url, headers: init.headers ?? {}, body: init.body, signal: init.signal };
}

export function status(code: number, headers: Record<string, string> = {}, body: ConstructorParameters<typeof Response>[0] = null): Response {
  return new Response(body, { status: code, headers });
}

export function json(value: unknown, code = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(value), { status: code, headers: { 'content-type': 'application/json', ...headers } });
}

/** The body of a response as text (HttpResponse has no text()). */
export async function text(response: HttpResponse): Promise<string> {
  return response.body ? new Response(response.body).text() : '';
}

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Deterministic pseudo-random bytes. */
export function pattern(length: number, seed = 7): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = x >>> 16;
  }
  return out;
}

/** Splits bytes into chunks of the given sizes (cycled) and streams them, one chunk per pull. */
export function chunkedStream(data: Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (let i = 0; offset < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    chunks.push(data.slice(offset, offset + size));
    offset += size;
  }
  return streamOf(chunks);
}

export function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (i < chunks.length) controller.enqueue(chunks[i++]!);
        else controller.close();
      },
    },
    { highWaterMark: 0 },
  );
}

/** Reads a stream to the end, keeping each chunk; rejects with the stream's error. */
export async function readChunks(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out.push(value);
  }
}

export function concat(chunks: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.byteLength;
  }
  return all;
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every queued microtask and pending promise job run. */
export async function flushMicrotasks(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}
