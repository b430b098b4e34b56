// The copy benchmark (`npm run bench`): prints figures, asserts nothing.
// An image of 8 layers x 64 MiB sits in one local registry; each run copies it into a fresh,
// empty registry (nothing to mount or skip) with `imagesync copy` and with `skopeo copy`,
// alternating which goes first, after one untimed warm-up copy each. Then each tool copies again
// into the registry it just filled (the re-copy). For context, the same blobs streamed by parallel `curl GET | curl PUT` pipes
// give the practical limit of this machine.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { startFaultProxy } from '../harness/fault-proxy.ts';
import { pushBlob, pushManifest, sha256Digest } from '../harness/images.ts';
import { headManifest } from '../harness/registry-api.ts';
import { startRegistry, type RunningRegistry } from '../harness/registry.ts';

const runs = Number(process.env.BENCH_RUNS ?? 5);
const layers = Number(process.env.BENCH_LAYERS ?? 8);
const layerMiB = Number(process.env.BENCH_LAYER_MIB ?? 64);
const imagesyncArgs = (process.env.BENCH_IMAGESYNC_ARGS ?? '').split(' ').filter(Boolean);
const repo = 'bench/image';
const TIME = '/usr/bin/time';

interface Sample {
  ms: number;
  rssKiB: number;
}

async function main(): Promise<void> {
  if (!existsSync(TIME)) throw new Error(`${TIME} measures peak RSS; install it: apt-get install -y time`);
  if (!existsSync('dist/cli.mjs')) throw new Error('dist/cli.mjs is missing: run npm run build');
  console.log(`image: ${layers} layers x ${layerMiB} MiB; ${runs} runs per tool, alternating; node ${process.version}${imagesyncArgs.length ? `; imagesync ${imagesyncArgs.join(' ')}` : ''}`);

  const source = await startRegistry();
  const registries: RunningRegistry[] = [source];
  try {
    const { digest, blobs } = await pushBenchImage(source);
    const src = `${source.host}/${repo}:v1`;
    const contenders: Record<string, { cold: Sample[]; again: Sample[] }> = { imagesync: { cold: [], again: [] }, skopeo: { cold: [], again: [] }, curl: { cold: [], again: [] } };
    const commands = (dst: string) => ({
      imagesync: [process.execPath, 'dist/cli.mjs', 'copy', '-q', ...imagesyncArgs, src, dst],
      skopeo: ['skopeo', 'copy', '-q', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${src}`, `docker://${dst}`],
    });
    // One untimed round first: whoever ran first right after the push paid for a cold source.
    for (const tool of ['imagesync', 'skopeo'] as const) {
      const destination = await startRegistry();
      await measure(commands(`${destination.host}/${repo}:v1`)[tool]);
      await destination.stop();
    }
    for (let round = 0; round < runs; round++) {
      const order = round % 2 === 0 ? (['imagesync', 'skopeo', 'curl'] as const) : (['skopeo', 'imagesync', 'curl'] as const);
      for (const tool of order) {
        const destination = await startRegistry();
        registries.push(destination);
        const dst = `${destination.host}/${repo}:v1`;
        if (tool === 'curl') {
          contenders.curl.cold.push(await curlPipes(source, destination, blobs));
        } else {
          const argv = commands(dst)[tool];
          contenders[tool]!.cold.push(await measure(argv));
          const landed = await headManifest(destination, repo, 'v1');
          if (landed.digestHeader !== digest) throw new Error(`${tool} left ${landed.digestHeader} at the destination, expected ${digest}`);
          contenders[tool]!.again.push(await measure(argv));
        }
        await destination.stop();
        registries.pop();
      }
      const last = (tool: string) => contenders[tool]!.cold.at(-1)!;
      console.log(`run ${round + 1}: imagesync ${seconds(last('imagesync').ms)}, skopeo ${seconds(last('skopeo').ms)}, curl pipes ${seconds(last('curl').ms)}`);
    }
    await checkRecopyMovesNothing(src, registries);
    report(contenders);
    await recopyOverLatency(source, registries);
  } finally {
    await Promise.all(registries.map((r) => r.stop()));
  }
}

/**
 * Random layers, pushed once; returns what curl needs to stream them. Each layer is a real gzip
 * stream (level 0: stored blocks, cheap to make) so skopeo takes it as it is instead of
 * rewriting the manifest for what it detects as uncompressed data.
 */
async function pushBenchImage(source: RunningRegistry): Promise<{ digest: string; blobs: { digest: string; size: number }[] }> {
  const started = performance.now();
  const layerDescriptors = [];
  for (let i = 0; i < layers; i++) {
    layerDescriptors.push(await pushBlob(source, repo, gzipSync(randomBytes(layerMiB * 1024 * 1024), { level: 0 }), 'application/vnd.oci.image.layer.v1.tar+gzip'));
  }
  const configBytes = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layerDescriptors.map((l) => l.digest) } }));
  const config = await pushBlob(source, repo, configBytes, 'application/vnd.oci.image.config.v1+json');
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: layerDescriptors }));
  await pushManifest(source, repo, 'v1', manifest, 'application/vnd.oci.image.manifest.v1+json');
  console.log(`pushed the source image in ${seconds(performance.now() - started)}`);
  return { digest: sha256Digest(manifest), blobs: [config, ...layerDescriptors] };
}

/** Wall time measured here; peak RSS from GNU time (wait4's ru_maxrss). */
function measure(argv: string[]): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(TIME, ['-f', '%M', ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (code !== 0) return reject(new Error(`${argv.slice(0, 3).join(' ')} failed (${code}): ${stderr.trim()}`));
      resolve({ ms, rssKiB: Number(stderr.trim().split('\n').at(-1)) });
    });
  });
}

/** Every blob as its own `curl GET | curl PUT` pipe, all at once: the streaming limit. */
async function curlPipes(source: RunningRegistry, destination: RunningRegistry, blobs: { digest: string }[]): Promise<Sample> {
  const started = performance.now();
  await Promise.all(
    blobs.map(async ({ digest }) => {
      const post = await fetch(`${destination.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
      const location = new URL(post.headers.get('location')!, destination.url).href;
      const put = `${location}&digest=${digest}`;
      const script = `curl -sf ${source.url}/v2/${repo}/blobs/${digest} | curl -sf -X PUT -H 'Content-Type: application/octet-stream' -T - '${put}' -o /dev/null`;
      await new Promise<void>((resolve, reject) => execFile('sh', ['-c', script], (error) => (error ? reject(error) : resolve())));
    }),
  );
  return { ms: performance.now() - started, rssKiB: 0 };
}

/**
 * The re-copy again, with every request to either registry delayed as across a network
 * (BENCH_LATENCY_MS, default 25 ms): what decides a re-copy's time once registries are remote
 * is how many requests it sends, not process start-up.
 */
async function recopyOverLatency(source: RunningRegistry, registries: RunningRegistry[]): Promise<void> {
  const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 25);
  const destination = await startRegistry();
  registries.push(destination);
  const [sourceProxy, destinationProxy] = await Promise.all([startFaultProxy(source.url, { latencyMs }), startFaultProxy(destination.url, { latencyMs })]);
  try {
    const src = `${sourceProxy.host}/${repo}:v1`;
    const dst = `${destinationProxy.host}/${repo}:v1`;
    await measure([process.execPath, 'dist/cli.mjs', 'copy', '-q', src, dst]);
    const tools = {
      imagesync: [process.execPath, 'dist/cli.mjs', 'copy', '-q', src, dst],
      skopeo: ['skopeo', 'copy', '-q', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${src}`, `docker://${dst}`],
    };
    const line: string[] = [];
    for (const [tool, argv] of Object.entries(tools)) {
      const times: number[] = [];
      let requests = 0;
      for (let i = 0; i < 5; i++) {
        sourceProxy.clear();
        destinationProxy.clear();
        times.push((await measure(argv)).ms);
        requests = sourceProxy.requests.length + destinationProxy.requests.length;
      }
      times.sort((a, b) => a - b);
      line.push(`${tool} ${seconds(times[2]!)} (${requests} requests)`);
    }
    console.log(`re-copy with ${latencyMs} ms per request: ${line.join(', ')}`);
  } finally {
    await Promise.all([sourceProxy.stop(), destinationProxy.stop()]);
  }
}

/** A re-copy must not move blob bytes: imagesync says so itself with -v. */
async function checkRecopyMovesNothing(src: string, registries: RunningRegistry[]): Promise<void> {
  const destination = await startRegistry();
  registries.push(destination);
  const dst = `${destination.host}/${repo}:v1`;
  await measure([process.execPath, 'dist/cli.mjs', 'copy', '-q', src, dst]);
  const line = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['dist/cli.mjs', 'copy', '-v', src, dst], (error, _out, err) => (error ? reject(error) : resolve(err.trim().split('\n').at(-1)!))),
  );
  console.log(`re-copy check: ${line}`);
}

function report(contenders: Record<string, { cold: Sample[]; again: Sample[] }>): void {
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const mid = s.length >> 1;
    return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  };
  const row = (tool: string) => {
    const c = contenders[tool]!;
    return {
      cold: median(c.cold.map((s) => s.ms)),
      min: Math.min(...c.cold.map((s) => s.ms)),
      max: Math.max(...c.cold.map((s) => s.ms)),
      rss: Math.max(...c.cold.map((s) => s.rssKiB), ...c.again.map((s) => s.rssKiB)) / 1024,
      again: c.again.length ? median(c.again.map((s) => s.ms)) : NaN,
    };
  };
  const i = row('imagesync');
  const s = row('skopeo');
  const l = row('curl');
  const gib = (layers * layerMiB) / 1024;
  console.log('');
  console.log('tool        cold median   (min..max)          throughput   peak RSS    re-copy median');
  for (const [name, r] of [['imagesync', i], ['skopeo', s]] as const) {
    console.log(`${name.padEnd(11)} ${seconds(r.cold).padStart(8)}   (${seconds(r.min)}..${seconds(r.max)})`.padEnd(51) + `${(gib / (r.cold / 1000)).toFixed(2)} GiB/s    ${r.rss.toFixed(1)} MiB   ${seconds(r.again)}`);
  }
  console.log(`curl pipes  ${seconds(l.cold).padStart(8)}   (${seconds(l.min)}..${seconds(l.max)})`.padEnd(51) + `${(gib / (l.cold / 1000)).toFixed(2)} GiB/s    (the limit)`);
  console.log('');
  console.log(`cold copy: imagesync / skopeo = ${(i.cold / s.cold).toFixed(3)} (target <= 0.95); imagesync / curl limit = ${(i.cold / l.cold).toFixed(3)}; skopeo / curl limit = ${(s.cold / l.cold).toFixed(3)}`);
  console.log(`peak RSS: imagesync ${i.rss.toFixed(1)} MiB (target <= 100), skopeo ${s.rss.toFixed(1)} MiB`);
  console.log(`re-copy: imagesync ${seconds(i.again)} vs skopeo ${seconds(s.again)} = ${(i.again / s.again).toFixed(3)} (target <= 1)`);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
