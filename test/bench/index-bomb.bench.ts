// A hostile source against the local service (`npm run bench:bomb`): prints figures, asserts
// nothing. A registry on loopback serves an index of WIDTH child indexes of WIDTH images each
// (BOMB_WIDTH, default 200: 40,201 manifests). `node dist/cli.mjs serve` is asked to mirror it
// into a real registry while /healthz is timed every 50 ms and the service's RSS is sampled.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nestedIndex, startHostileRegistry } from '../harness/hostile-registry.ts';
import { startRegistry } from '../harness/registry.ts';

const width = Number(process.env.BOMB_WIDTH ?? 200);
const token = 'bench-token';
const limitMs = 300_000;

function rssMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return kib / 1024;
}

async function main(): Promise<void> {
  const tree = nestedIndex(width);
  const source = await startHostileRegistry({ manifest: tree.manifest, blob: tree.blob });
  const destination = await startRegistry();
  const dataDir = await mkdtemp(join(tmpdir(), 'imagesync-bomb-bench-'));
  const server = spawn(process.execPath, [process.env.BENCH_CLI ?? 'dist/cli.mjs', 'serve', '--port', '0'], {
    env: { ...process.env, IMAGESYNC_DATA_DIR: dataDir, IMAGESYNC_API_TOKEN: token, IMAGESYNC_CHECK_INTERVAL: '24h', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  try {
    let stderr = '';
    server.once('exit', (code, signal) => console.log(`serve exited (${code ?? signal}) ${stderr.slice(-1500)}`));
    const url = await new Promise<string>((resolve, reject) => {
      server.stderr!.on('data', (c: Buffer) => {
        stderr += c;
        const m = /imagesync (http:\/\/\S+)/.exec(stderr);
        if (m) resolve(m[1]!);
      });
      server.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
    const baseline = rssMiB(server.pid!, 'VmRSS');
    console.log(`index of ${width} x ${width}: ${tree.manifests} manifests; service ${url}, RSS at start ${baseline.toFixed(1)} MiB`);

    let done = false;
    const health: number[] = [];
    let peakRss = baseline;
    let failures = 0;
    const probe = (async () => {
      while (!done) {
        const started = performance.now();
        try {
          await fetch(`${url}/healthz`).then((r) => r.text());
          health.push(performance.now() - started);
        } catch {
          failures++;
        }
        if (server.exitCode !== null || server.signalCode !== null) break;
        peakRss = Math.max(peakRss, rssMiB(server.pid!, 'VmRSS'));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const started = performance.now();
    const answer = await fetch(`${url}/v1/images`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ source: `${source.host}/bomb/app:bomb`, destination: `${destination.host}/bomb/app:v1` }),
      signal: AbortSignal.timeout(limitMs),
    }).catch((error: unknown) => {
      throw new Error(`POST failed after ${((performance.now() - started) / 1000).toFixed(1)} s`, { cause: error });
    });
    let text = await answer.text();
    let status = answer.status;
    // Answered 202: the sync goes on in the service; follow it to its end (or the limit).
    while (status === 202 && performance.now() - started < limitMs) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const id = (JSON.parse(text) as { id: string }).id;
      // A busy service may drop a kept-alive connection: ask again at the next round.
      const record = await fetch(`${url}/v1/images/${id}`, { headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
      if (!record) continue;
      const body = await record.text();
      if (record.status !== 200 || (JSON.parse(body) as { status: string }).status !== 'syncing') {
        text = body;
        status = record.status;
      }
    }
    const seconds = (performance.now() - started) / 1000;
    done = true;
    await probe;
    const detail = (() => {
      try {
        const json = JSON.parse(text) as { status?: string; detail?: string };
        return json.detail ?? (json.status === 'failed' ? `failed: ${(json as { error?: string }).error}` : json.status) ?? text;
      } catch {
        return text;
      }
    })();
    health.sort((a, b) => a - b);
    const at = (q: number) => health[Math.min(health.length - 1, Math.floor(q * health.length))]!.toFixed(1);
    console.log(`POST answered ${answer.status}, settled ${status} in ${seconds.toFixed(2)} s: ${String(detail).slice(0, 200)}`);
    console.log(`source manifest GETs: ${source.count('GET', /\/manifests\//)}, HEADs: ${source.count('HEAD', /\/manifests\//)}; destination manifest PUTs: see registry`);
    const hwm = server.exitCode === null && server.signalCode === null ? `${rssMiB(server.pid!, 'VmHWM').toFixed(1)} MiB` : 'unknown (the service died)';
    console.log(`service RSS: peak sampled ${peakRss.toFixed(1)} MiB, high-water mark ${hwm} (start ${baseline.toFixed(1)} MiB)`);
    console.log(`/healthz during the sync: ${health.length} probes (${failures} failed), median ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${health.at(-1)!.toFixed(1)} ms`);
  } finally {
    try {
      process.kill(-server.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    await rm(dataDir, { recursive: true, force: true });
    await source.stop();
    await destination.stop();
  }
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? `${error.message} ${String((error as { cause?: unknown }).cause ?? "")}` : String(error)}`);
  process.exitCode = 1;
});
