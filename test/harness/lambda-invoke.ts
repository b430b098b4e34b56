// A loopback stand-in for the Lambda Invoke API (POST /2015-03-31/functions/NAME/invocations),
// reached by the AWS SDK through AWS_ENDPOINT_URL_LAMBDA. It records each invocation and, for
// `Event` invocations, answers 202 and hands the payload to a callback, as Lambda would run it.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from './read-body.ts';

export interface Invocation {
  functionName: string;
  invocationType: string;
  payload: unknown;
}

export interface LambdaStandIn {
  url: string;
  invocations: Invocation[];
  /** Settles when every run started for an invocation has finished. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startLambdaStandIn(run: (payload: unknown) => Promise<unknown>): Promise<LambdaStandIn> {
  const invocations: Invocation[] = [];
  const runs = new Set<Promise<unknown>>();
  const server = createServer(async (req, res) => {
    const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) {
      res.writeHead(404).end();
      return;
    }
    const body = await readBody(req);
    const invocation: Invocation = {
      functionName: decodeURIComponent(match[1]!),
      invocationType: String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse'),
      payload: JSON.parse(body || 'null'),
    };
    invocations.push(invocation);
    res.writeHead(invocation.invocationType === 'Event' ? 202 : 200, { 'content-type': 'application/json' }).end('{}');
    // Like Lambda, run the event after accepting it, not while the caller waits.
    const started = new Promise((resolve) => setImmediate(resolve)).then(() => run(invocation.payload));
    runs.add(started);
    started.finally(() => runs.delete(started)).catch(() => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    invocations,
    async idle() {
      while (runs.size > 0) await Promise.allSettled([...runs]);
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
