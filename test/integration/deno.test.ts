// The portable core on Deno: the same copy with Deno's own fetch as transport.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pushIndex } from '../harness/images.ts';
import { deno, runProcess } from '../harness/processes.ts';
import { startRegistry, type RunningRegistry } from '../harness/registry.ts';
import { expectCopied } from './support.ts';

let source: RunningRegistry;
let destination: RunningRegistry;

beforeAll(async () => {
  [source, destination] = await Promise.all([startRegistry(), startRegistry({ relativeUrls: true })]);
});
afterAll(async () => {
  await Promise.all([source?.stop(), destination?.stop()]);
});

it('copies a multi-platform image on Deno, byte for byte', async () => {
  const pushed = await pushIndex(source, 'deno/app', 'v1', { format: 'oci', layers: 2, layerSize: 500_000, sharedLayer: true });
  const run = deno(['run', '-A', 'test/deno/copy.ts', `${source.host}/deno/app:v1`, `${destination.host}/deno/app:v1`]);
  const { code, stdout, stderr } = await runProcess(run.command, run.args, { env: run.env, timeoutMs: 100_000 });
  expect(code, stderr).toBe(0);
  const result = JSON.parse(stdout) as { digest: string; image: string; blobs: Record<string, number> };
  expect(result.digest).toBe(pushed.digest);
  expect(result.image).toBe(`${destination.host}/deno/app@${pushed.digest}`);
  expect(result.blobs).toEqual({ copied: 5, present: 0, mounted: 0 });
  await expectCopied(pushed, source, 'deno/app', destination, 'deno/app', 'v1');
}, 120_000);
