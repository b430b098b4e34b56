// Cold copies through registry profiles (`npm run bench:profiles`): prints figures, asserts
// nothing. The image (BENCH_LAYERS x BENCH_LAYER_MIB, default 8 x 64 MiB) is copied in-process
// with the Node transport into a fresh real registry behind a proxy, per profile:
// - distribution: whole-blob PUTs (the default);
// - ECR and GHCR as they run where whole uploads are allowed (ECR: one PATCH carrying the blob,
//   then the closing PUT, as docker pushes there; GHCR: whole PUTs);
// - ECR and GHCR where the registry refuses whole blobs (413 over 1 MiB): chunks of 10 MiB and
//   4 MiB, their profiles' bounds.
// Runs alternate between configurations; medians of BENCH_RUNS (default 3) after a warm-up.
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { nodeTransport } from '../../functions/node/transport.ts';
import { copyImage } from '../../lib/copy/image.ts';
import { insecureHosts } from '../../lib/config/insecure.ts';
import { parseReference } from '../../lib/reference/reference.ts';
import { RegistryClients } from '../../lib/registry/client.ts';
import { ecrProfile } from '../../lib/registry/profiles/ecr.ts';
import { ghcrProfile } from '../../lib/registry/profiles/ghcr.ts';
import { distribution, type RegistryProfile } from '../../lib/registry/profiles/profile.ts';
import { pushBlob, pushManifest, sha256Digest } from '../harness/images.ts';
import { ociError, startQuirkProxy, type Quirk } from '../harness/quirk-proxy.ts';
import { startRegistry } from '../harness/registry.ts';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const layers = Number(process.env.BENCH_LAYERS ?? 8);
const layerMiB = Number(process.env.BENCH_LAYER_MIB ?? 64);
const repo = 'bench/profile';

/**
 * Refuses a whole blob over 1 MiB (413), as registries that cap a request's body do: a PUT with
 * a body, or a PATCH without Content-Range (one carrying the whole blob; a chunk has a range).
 */
const capWholeUploads: Quirk = {
  request(req, res, raw) {
    const length = Number(req.headers['content-length'] ?? 0);
    const whole = req.method === 'PUT' || (req.method === 'PATCH' && !req.headers['content-range']);
    if (!whole || !req.path.includes('/blobs/uploads/') || length <= 1024 * 1024) return false;
    raw.resume();
    return ociError(res, 413, 'SIZE_INVALID', 'request body too large');
  },
};

/** ECR answers 201 to a PATCH (regclient/regclient#82). */
const patchAnswers201: Quirk = {
  response(req, answer) {
    if (req.method === 'PATCH' && answer.status === 202) answer.status = 201;
  },
};

interface Configuration {
  name: string;
  profile: RegistryProfile;
  quirks: Quirk[];
}

const configurations: Configuration[] = [
  { name: 'distribution, whole PUTs', profile: distribution, quirks: [] },
  { name: 'ECR profile, whole blobs allowed', profile: withoutHooks(ecrProfile()), quirks: [patchAnswers201] },
  { name: 'GHCR profile, whole blobs allowed', profile: withoutHooks(ghcrProfile()), quirks: [] },
  { name: 'ECR profile, chunks (10 MiB)', profile: withoutHooks(ecrProfile()), quirks: [capWholeUploads, patchAnswers201] },
  { name: 'GHCR profile, chunks (4 MiB)', profile: withoutHooks(ghcrProfile()), quirks: [capWholeUploads] },
];

/** The upload policy alone: no ECR API to create repositories here, no vendor deletion. */
function withoutHooks(profile: RegistryProfile): RegistryProfile {
  return { name: profile.name, upload: profile.upload, crossRepositoryMount: profile.crossRepositoryMount, maxScopesPerToken: profile.maxScopesPerToken };
}

async function main(): Promise<void> {
  console.log(`image: ${layers} layers x ${layerMiB} MiB; ${runs} runs per configuration, alternating; node ${process.version}`);
  const source = await startRegistry();
  const transport = nodeTransport();
  try {
    const digest = await pushImage(source);
    const times = new Map<string, { ms: number[]; requests: number[] }>(configurations.map((c) => [c.name, { ms: [], requests: [] }]));
    for (let round = -1; round < runs; round++) {
      const order = round % 2 === 0 ? configurations : [...configurations].reverse();
      for (const configuration of order) {
        const destination = await startRegistry();
        const proxy = await startQuirkProxy(destination.url, configuration.quirks);
        try {
          const clients = new RegistryClients({ transport, isInsecure: insecureHosts(undefined), profiles: (registry) => (registry === proxy.host ? configuration.profile : distribution) });
          const started = performance.now();
          const result = await copyImage(parseReference(`${source.host}/${repo}:v1`), parseReference(`${proxy.host}/${repo}:v1`), { clients });
          const ms = performance.now() - started;
          if (result.digest !== digest) throw new Error(`${configuration.name}: copied ${result.digest}, expected ${digest}`);
          // The first round warms up (connections, JIT, the source's page cache): not counted.
          if (round >= 0) {
            times.get(configuration.name)!.ms.push(ms);
            times.get(configuration.name)!.requests.push(proxy.requests.length);
          }
        } finally {
          await proxy.stop();
          await destination.stop();
        }
      }
    }
    const base = median(times.get(configurations[0]!.name)!.ms);
    console.log(`${'configuration'.padEnd(34)} ${'median'.padStart(8)}  ratio   requests`);
    for (const configuration of configurations) {
      const { ms, requests } = times.get(configuration.name)!;
      console.log(`${configuration.name.padEnd(34)} ${(median(ms) / 1000).toFixed(2).padStart(7)} s  ${(median(ms) / base).toFixed(3)}  ${median(requests)}`);
    }
  } finally {
    await transport.close();
    await source.stop();
  }
}

async function pushImage(registry: Awaited<ReturnType<typeof startRegistry>>): Promise<string> {
  const descriptors = [];
  for (let i = 0; i < layers; i++) {
    // Stored gzip blocks: a real gzip stream, cheap to make, incompressible content.
    const blob = gzipSync(randomBytes(layerMiB * 1024 * 1024), { level: 0 });
    descriptors.push(await pushBlob(registry, repo, blob, 'application/vnd.oci.image.layer.v1.tar+gzip'));
  }
  const config = await pushBlob(registry, repo, new TextEncoder().encode('{"architecture":"amd64","os":"linux"}'), 'application/vnd.oci.image.config.v1+json');
  const manifest = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: descriptors }));
  await pushManifest(registry, repo, 'v1', manifest, 'application/vnd.oci.image.manifest.v1+json');
  return sha256Digest(manifest);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
