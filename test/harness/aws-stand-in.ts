// A loopback stand-in for the two AWS JSON APIs imagesync calls for registry credentials:
// ECR GetAuthorizationToken and Secrets Manager GetSecretValue (the SDK reaches it through
// AWS_ENDPOINT_URL_ECR / AWS_ENDPOINT_URL_SECRETS_MANAGER). Answers are set per test.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from './read-body.ts';

export interface AwsStandIn {
  url: string;
  calls: { target: string; body: unknown }[];
  /** ECR: the Basic user and password to hand out, and how long the token lives. */
  ecr: { username: string; password: string; lifetimeMs: number };
  /** Secrets Manager: secret id to value; a missing id answers ResourceNotFoundException. */
  secrets: Map<string, string>;
  stop(): Promise<void>;
}

export async function startAwsStandIn(): Promise<AwsStandIn> {
  const state: Omit<AwsStandIn, 'url' | 'stop'> = { calls: [], ecr: { username: 'AWS', password: '', lifetimeMs: 12 * 3600_000 }, secrets: new Map() };
  const server = createServer((req, res) => {
    void readBody(req).then((text) => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const body = JSON.parse(text || '{}') as { SecretId?: string };
      state.calls.push({ target, body });
      const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(value));
      if (target.endsWith('.GetAuthorizationToken')) {
        return json(200, {
          authorizationData: [
            {
              authorizationToken: Buffer.from(`${state.ecr.username}:${state.ecr.password}`).toString('base64'),
              expiresAt: (Date.now() + state.ecr.lifetimeMs) / 1000,
              proxyEndpoint: 'https://123456789012.dkr.ecr.us-east-1.amazonaws.com',
            },
          ],
        });
      }
      if (target.endsWith('.GetSecretValue')) {
        const value = state.secrets.get(body.SecretId ?? '');
        if (value === undefined) return json(400, { __type: 'ResourceNotFoundException', message: `Secrets Manager can't find the specified secret.` });
        return json(200, { ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${body.SecretId}`, Name: body.SecretId, SecretString: value });
      }
      json(400, { __type: 'UnknownOperationException' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(state, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
