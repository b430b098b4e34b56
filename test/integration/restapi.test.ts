// The call sequences of Terraform's restapi provider, 2.x and 3.x, replayed against the API
// with the settings of infra/terraform/modules/imagesync.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVER_KEYS } from '../../lib/api/record.ts';
import { pushImage } from '../harness/images.ts';
import { headManifest } from '../harness/registry-api.ts';
import { startRegistry, type RunningRegistry } from '../harness/registry.ts';
import { startApi, type RunningApi } from './api-support.ts';
import { goJson, RestapiProvider, type ObjectSettings, type Version } from './restapi.ts';

let source: RunningRegistry;
let destination: RunningRegistry;
let api: RunningApi;

beforeAll(async () => {
  [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
  api = await startApi();
});
afterAll(async () => {
  await api?.stop();
  await Promise.all([source?.stop(), destination?.stop()]);
});

/** What the Terraform module configures. */
function moduleObject(sourceImage: string, destinationImage: string, createReturnsObject = true): ObjectSettings {
  return {
    path: '/v1/images',
    data: { source: sourceImage, destination: destinationImage },
    createReturnsObject,
    ignoreChangesTo: [...SERVER_KEYS],
  };
}

describe.each([2, 3] as Version[])('restapi %i.x', (version) => {
  const provider = () => new RestapiProvider(version, `${api.url}/`, api.token);
  const repo = (name: string) => `tf${version}/${name}`;

  it('creates with create_returns_object: one POST, no GET, an id and image in state, no drift', async () => {
    const pushed = await pushImage(source, repo('create'), '1.32', { format: 'docker', layers: 1 });
    const tf = provider();
    const settings = moduleObject(`${source.host}/${repo('create')}:1.32`, `${destination.host}/${repo('create')}:1.32`);
    const { id, apiData } = await tf.create(settings);
    expect(tf.calls.map((c) => c.method)).toEqual(['POST']);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(apiData.image).toBe(`${destination.host}/${repo('create')}@${pushed.digest}`);
    // The next plan reads it back and finds nothing to change.
    const read = await tf.read(settings, id);
    expect(tf.drift(settings, read!)).toEqual([]);
    expect(Object.keys(read!).filter((k) => !SERVER_KEYS.includes(k as never)).sort()).toEqual(['destination', 'source']);
    expect(tf.calls.filter((c) => c.method === 'GET')).toHaveLength(version === 2 ? 2 : 1);
  });

  it('creates without create_returns_object: POST then GET of the id right away', async () => {
    await pushImage(source, repo('get-after'), 'v1', { format: 'oci', layers: 1 });
    const tf = provider();
    const settings = moduleObject(`${source.host}/${repo('get-after')}:v1`, `${destination.host}/${repo('get-after')}:v1`, false);
    const { id, apiData } = await tf.create(settings);
    expect(tf.calls.map((c) => `${c.method} ${c.status}`)).toEqual(['POST 201', ...Array(version === 2 ? 2 : 1).fill('GET 200')]);
    expect(apiData.id).toBe(id);
  });

  it('sends the body as Go encodes it and keeps source and destination exactly as sent', async () => {
    await pushImage(source, repo('spelling'), 'latest', { format: 'oci', layers: 1 });
    const tf = provider();
    // Unusual but valid spellings must come back byte for byte, or Terraform sees drift.
    const settings = moduleObject(`${source.host}/${repo('spelling')}`, `${destination.host}/${repo('spelling')}`);
    expect(goJson(settings.data)).toBe(`{"destination":"${destination.host}/${repo('spelling')}","source":"${source.host}/${repo('spelling')}"}`);
    const { id } = await tf.create(settings);
    const read = await tf.read(settings, id);
    expect(read).toMatchObject(settings.data);
    expect(tf.drift(settings, read!)).toEqual([]);
  });

  it('updates a changed source with a PUT of the whole data, then reads it', async () => {
    await pushImage(source, repo('update'), 'v1', { format: 'oci', layers: 1 });
    const next = await pushImage(source, repo('update'), 'v2', { format: 'oci', layers: 1 });
    const tf = provider();
    const settings = moduleObject(`${source.host}/${repo('update')}:v1`, `${destination.host}/${repo('update')}:stable`);
    const { id } = await tf.create(settings);
    settings.data.source = `${source.host}/${repo('update')}:v2`;
    expect(tf.drift(settings, (await tf.read(settings, id))!)).toEqual(['source']);
    const updated = await tf.update(settings, id);
    expect(updated).toMatchObject({ source: settings.data.source, image: `${destination.host}/${repo('update')}@${next.digest}` });
    expect(tf.drift(settings, (await tf.read(settings, id))!)).toEqual([]);
  });

  it('replaces a changed destination (force_new): DELETE, then POST, and the old id can be reused', async () => {
    await pushImage(source, repo('replace'), 'v1', { format: 'oci', layers: 1 });
    const tf = provider();
    const first = moduleObject(`${source.host}/${repo('replace')}:v1`, `${destination.host}/${repo('replace')}:a`);
    const { id } = await tf.create(first);
    const second = moduleObject(`${source.host}/${repo('replace')}:v1`, `${destination.host}/${repo('replace')}:b`);
    await tf.destroy(first, id);
    const { id: newId } = await tf.create(second);
    expect(newId).not.toBe(id);
    expect((await headManifest(destination, repo('replace'), 'a')).status).toBe(404);
    expect((await headManifest(destination, repo('replace'), 'b')).status).toBe(200);
    // Replacing back re-creates the first destination under the same id.
    await tf.destroy(second, newId);
    expect((await tf.create(first)).id).toBe(id);
  });

  it('destroys, and destroying a record that is already gone is a success (404)', async () => {
    await pushImage(source, repo('destroy'), 'v1', { format: 'oci', layers: 1 });
    const tf = provider();
    const settings = moduleObject(`${source.host}/${repo('destroy')}:v1`, `${destination.host}/${repo('destroy')}:v1`);
    const { id } = await tf.create(settings);
    await tf.destroy(settings, id);
    await tf.destroy(settings, id);
    expect(tf.calls.slice(-2).map((c) => `${c.method} ${c.status}`)).toEqual(['DELETE 204', 'DELETE 404']);
    // v2 drops a 404 from state and plans a create.
    expect(await tf.read(settings, id)).toBeUndefined();
  });

  it('imports a record created with curl', async () => {
    await pushImage(source, repo('import'), 'v1', { format: 'oci', layers: 1 });
    const body = { source: `${source.host}/${repo('import')}:v1`, destination: `${destination.host}/${repo('import')}:v1` };
    const made = await api.call('POST', '/v1/images', body);
    const tf = provider();
    const imported = await tf.import(`/v1/images/${made.json.id}`);
    expect(imported).toEqual(made.json);
    expect(tf.drift(moduleObject(body.source, body.destination), imported)).toEqual([]);
  });

  it('survives ten resources applied at once, and a v3 retry of a POST', async () => {
    const tf = provider();
    const objects = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        await pushImage(source, repo(`many-${i}`), 'v1', { format: 'oci', layers: 1 });
        return moduleObject(`${source.host}/${repo(`many-${i}`)}:v1`, `${destination.host}/${repo(`many-${i}`)}:v1`);
      }),
    );
    const created = await Promise.all(objects.map((o) => tf.create(o)));
    expect(new Set(created.map((c) => c.id)).size).toBe(10);
    // A retried POST (after a timeout) finds the same record.
    const retried = await tf.create(objects[0]!);
    expect(retried.id).toBe(created[0]!.id);
    expect(tf.calls.filter((c) => c.method === 'POST').map((c) => c.status).sort((a, b) => a - b)).toEqual([200, ...Array(10).fill(201)]);
  });
});
