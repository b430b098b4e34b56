// API latency under load (`npm run bench:api`): prints figures, asserts nothing.
// The local service (`node dist/cli.mjs serve`, embedded store) mirrors one image; then 50
// concurrent clients send GET /v1/images/{id} (each a DynamoDB read and a HEAD on the
// destination), then POST /v1/images with the same body (idempotent, already in sync).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { pushImage } from '../harness/images.ts';
import { startRegistry } from '../harness/registry.ts';

const clients = Number(process.env.BENCH_CLIENTS ?? 50);
const perClient = Number(process.env.BENCH_REQUESTS ?? 40);
const token = 'bench-token';

async function main(): Promise<void> {
  const [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
  const dataDir = await mkdtemp(join(tmpdir(), 'imagesync-api-bench-'));
  const server = spawn(process.execPath, [...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean), process.env.BENCH_CLI ?? 'dist/cli.mjs', 'serve', '--port', '0'], {
    env: { ...process.env, IMAGESYNC_DATA_DIR: dataDir, IMAGESYNC_API_TOKEN: token, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let stderr = '';
      server.stderr!.on('data', (c: Buffer) => {
        stderr += c;
        const m = /imagesync (http:\/\/\S+)/.exec(stderr);
        if (m) resolve(m[1]!);
      });
      server.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
    await pushImage(source, 'bench/app', 'v1', { format: 'oci', layers: 2, layerSize: 100_000 });
    const body = JSON.stringify({ source: `${source.host}/bench/app:v1`, destination: `${destination.host}/bench/app:v1` });
    const agent = new Agent({ connections: clients });
    const send = async (method: 'GET' | 'POST', path: string): Promise<number> => {
      const started = performance.now();
      const answer = await request(`${url}${path}`, {
        dispatcher: agent,
        method,
        headers: { authorization: `Bearer ${token}`, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
        body: method === 'POST' ? body : undefined,
      });
      await answer.body.text();
      if (answer.statusCode >= 300) throw new Error(`${method} ${path}: ${answer.statusCode}`);
      return performance.now() - started;
    };
    const created = await request(`${url}/v1/images`, { dispatcher: agent, method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
    const { id } = (await created.body.json()) as { id: string };
    console.log(`service ${url}; record ${id}; ${clients} clients x ${perClient} requests each`);

    for (const [name, method, path] of [
      ['GET /v1/images/{id}', 'GET', `/v1/images/${id}`],
      ['POST /v1/images (in sync)', 'POST', '/v1/images'],
    ] as const) {
      // Warm-up: connections, JIT, token caches.
      await Promise.all(Array.from({ length: clients }, () => send(method, path)));
      const started = performance.now();
      const samples = (await Promise.all(Array.from({ length: clients }, async () => {
        const mine: number[] = [];
        for (let i = 0; i < perClient; i++) mine.push(await send(method, path));
        return mine;
      }))).flat().sort((a, b) => a - b);
      const seconds = (performance.now() - started) / 1000;
      const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!.toFixed(1);
      console.log(`${name.padEnd(28)} ${samples.length} requests in ${seconds.toFixed(2)} s (${(samples.length / seconds).toFixed(0)}/s): median ${at(0.5)} ms, p90 ${at(0.9)} ms, p99 ${at(0.99)} ms, max ${samples.at(-1)!.toFixed(1)} ms`);
    }
    await agent.close();
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    await rm(dataDir, { recursive: true, force: true });
    await Promise.all([source.stop(), destination.stop()]);
  }
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
