// The Node transport keeps connections: HEADs (the scheduled check's bread and butter) and
// answers whose short bodies are discarded go back to the pool instead of being closed.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { discard } from '../../lib/transport/types.ts';
import { undiciTransport } from '../../functions/node/undici-transport.ts';

let server: Server;
let url: string;
let connections = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    // Like a registry: HEAD answers carry the Content-Length a GET body would have.
    const body = JSON.stringify({ errors: [{ code: 'NAME_UNKNOWN' }] });
    res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

it('sends a hundred HEADs over one connection', async () => {
  const transport = undiciTransport();
  connections = 0;
  for (let i = 0; i < 100; i++) {
    const response = await transport({ method: 'HEAD', url: `${url}/v2/x/manifests/latest`, headers: {} });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).not.toBeNull();
    expect(response.body).toBeNull();
  }
  // undici's pool may open a second connection when a request follows the previous answer in the
  // same tick; what matters is that connections are reused, not one per request.
  expect(connections).toBeLessThanOrEqual(2);
  await transport.close();
});

it('keeps the connection when a short error body is discarded', async () => {
  const transport = undiciTransport();
  connections = 0;
  for (let i = 0; i < 50; i++) {
    const response = await transport({ method: 'GET', url: `${url}/missing`, headers: {} });
    expect(response.status).toBe(404);
    await discard(response);
  }
  expect(connections).toBeLessThanOrEqual(2);
  await transport.close();
});
