// The scheduled check at scale (`npm run bench:check`): prints figures, asserts nothing.
// 1,000 records in sync (the embedded store, as `serve` runs it, in its worker thread), one
// check run over them with the Node transport; every HTTP request the registry clients send is
// counted at the bottom of the transport stack (retries, redirects and tokens included).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedDynamo } from '../../functions/node/embedded-dynamodb.ts';
import { recordId } from '../../lib/api/ids.ts';
import { staticCredentials } from '../../lib/auth/credentials.ts';
import { readSettings } from '../../lib/config/settings.ts';
import { copyImage } from '../../lib/copy/image.ts';
import { Limiter } from '../../lib/util/limit.ts';
import { RegistryClients } from '../../lib/registry/client.ts';
import { parseReference } from '../../lib/reference/reference.ts';
import { createCore } from '../../lib/server.ts';
import { dynamoClient } from '../../lib/store/client.ts';
import { DynamoRecordStore } from '../../lib/store/dynamodb.ts';
import { ensureTable } from '../../lib/store/table.ts';
import type { Transport } from '../../lib/transport/types.ts';
import { undiciTransport } from '../../functions/node/undici-transport.ts';
import { pushImage, pushManifest } from '../harness/images.ts';
import { startRegistry } from '../harness/registry.ts';

const count = Number(process.env.BENCH_RECORDS ?? 1000);
const sourceTags = 50;

async function main(): Promise<void> {
  const [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
  const dir = await mkdtemp(join(tmpdir(), 'imagesync-check-bench-'));
  const dynamo = await startEmbeddedDynamo(dir);
  try {
    const client = dynamoClient({}, { endpoint: dynamo.endpoint });
    await ensureTable(client, 'imagesync');
    const store = new DynamoRecordStore({ client, table: 'imagesync' });

    // One image, under 50 source tags and 1,000 destination tags: every record in sync.
    const image = await pushImage(source, 'bench/src', 's0', { format: 'oci', layers: 1 });
    for (let i = 1; i < sourceTags; i++) await pushManifest(source, 'bench/src', `s${i}`, image.manifest, image.mediaType);
    const clients = new RegistryClients({ transport: undiciTransport(), isInsecure: () => true });
    await copyImage(parseReference(`${source.host}/bench/src:s0`), parseReference(`${destination.host}/bench/dst:t0`), { clients });
    const setup = new Limiter(16);
    await Promise.all(Array.from({ length: count }, (_, i) => setup.run(() => pushManifest(destination, 'bench/dst', `t${i}`, image.manifest, image.mediaType))));
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        setup.run(async () => {
          const destinationRef = `${destination.host}/bench/dst:t${i}`;
          await store.create({
            id: recordId(parseReference(destinationRef)),
            source: `${source.host}/bench/src:s${i % sourceTags}`,
            destination: destinationRef,
            status: 'synced',
            image: `${destination.host}/bench/dst@${image.digest}`,
            source_digest: image.digest,
          });
        }),
      ),
    );

    const requests = new Map<string, number>();
    const base = undiciTransport();
    const counting: Transport = (request) => {
      requests.set(request.method, (requests.get(request.method) ?? 0) + 1);
      return base(request);
    };
    const core = createCore({ settings: readSettings({}), transport: counting, credentials: staticCredentials(new Map()), store, log: () => {}, worker: 'bench' });
    console.log(`${count} records in sync, ${sourceTags} source tags, 1 destination repository; node ${process.version}`);
    for (const run of [1, 2]) {
      requests.clear();
      const started = performance.now();
      const summary = await core.check();
      const seconds = (performance.now() - started) / 1000;
      const total = [...requests.values()].reduce((a, b) => a + b, 0);
      const byMethod = [...requests].map(([m, n]) => `${m} ${n}`).join(', ');
      console.log(`run ${run}: ${seconds.toFixed(2)} s wall (${(count / seconds).toFixed(0)} records/s); HTTP requests ${total} (${byMethod}) = ${(total / count).toFixed(2)} per record; summary ${JSON.stringify(summary)}`);
    }
    await base.close();
    client.destroy();
  } finally {
    await dynamo.close();
    await rm(dir, { recursive: true, force: true });
    await Promise.all([source.stop(), destination.stop()]);
  }
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exitCode = 1;
});
