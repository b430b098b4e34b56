// The default profile (distribution 2.8, the registry behind every other profile's quirks), as
// destination and as source, through the whole scenario.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { pushImage } from '../../harness/images.ts';
import { startQuirkProxy, type QuirkProxy } from '../../harness/quirk-proxy.ts';
import { startRegistry, type RunningRegistry } from '../../harness/registry.ts';
import { startApi, type RunningApi } from '../api-support.ts';
import { runScenario } from './scenario.ts';

let source: RunningRegistry;
let destination: RunningRegistry;
let front: QuirkProxy;
let api: RunningApi;

beforeAll(async () => {
  [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
  front = await startQuirkProxy(destination.url, []);
  api = await startApi();
});
afterAll(async () => {
  await api?.stop();
  await front?.stop();
  await Promise.all([source?.stop(), destination?.stop()]);
});

const uploads = (proxy: QuirkProxy) => () => proxy.count('PUT', /\/blobs\/uploads\//);

describe('distribution', () => {
  it('as destination: create, re-copy, check after a move, restore, delete shared, delete again', async () => {
    await runScenario({
      api,
      repository: 'profile/dist-dest',
      source: { push: (repo, tag) => pushImage(source, repo, tag, { format: 'oci', layers: 2 }), reference: (repo, tag) => `${source.host}/${repo}:${tag}` },
      destination: { reference: (repo, tag) => `${front.host}/${repo}:${tag}`, registry: destination, uploads: uploads(front) },
      deletion: 'removes',
    });
  });

  it('as source: the same, reading through the profile', async () => {
    await runScenario({
      api,
      repository: 'profile/dist-src',
      source: { push: (repo, tag) => pushImage(destination, repo, tag, { format: 'docker', layers: 2 }), reference: (repo, tag) => `${front.host}/${repo}:${tag}` },
      destination: { reference: (repo, tag) => `${source.host}/${repo}:${tag}`, registry: source, uploads: () => 0 },
      deletion: 'removes',
    });
  });
});
