// What every registry profile must get through, as a source and as a destination, through the
// HTTP API and the scheduled check: create; re-copy (nothing sent again); check after the source
// tag moved; restore after the copy was deleted out of band; delete while another tag shares the
// digest (that tag stays whole); delete again (404), then the other record. The registry behind
// each profile is the real docker-registry; a profile's quirks sit in a proxy in front of it.
import { expect } from 'vitest';
import { recordId } from '../../../lib/api/ids.ts';
import { parseReference } from '../../../lib/reference/reference.ts';
import type { PushedImage, Target } from '../../harness/images.ts';
import { getBlob, getManifest, headManifest } from '../../harness/registry-api.ts';
import type { RunningApi } from '../api-support.ts';

export interface ScenarioSetup {
  /** The service under test, wired as the profile needs (transport, name resolution, settings). */
  api: RunningApi;
  source: {
    /** Pushes an image to the source registry (the real one behind, when the source is a profile). */
    push(repository: string, tag: string): Promise<PushedImage>;
    /** How the service names a source repository and tag. */
    reference(repository: string, tag: string): string;
  };
  destination: {
    reference(repository: string, tag: string): string;
    /** The real registry behind the destination, read back directly. */
    registry: Target;
    /** Blob uploads the destination received so far (counted in front of it). */
    uploads(): number;
  };
  /** The repository both sides use (different per scenario). */
  repository: string;
  /**
   * What deleting a record leaves: nothing (the tag goes, and the image once no tag uses it),
   * or the image stays and the X-Imagesync-Left header says why (a registry that cannot delete).
   */
  deletion: 'removes' | { leaves: RegExp };
}

export async function runScenario(setup: ScenarioSetup): Promise<void> {
  const { api, source, destination, repository } = setup;
  const tag = (name: string) => destination.reference(repository, name);
  const body = (name: string) => ({ source: source.reference(repository, 'v1'), destination: tag(name) });
  const id = (name: string) => recordId(parseReference(tag(name)));
  const resolves = async (name: string) => (await headManifest(destination.registry, repository, name)).digestHeader;

  // Create.
  let pushed = await source.push(repository, 'v1');
  const created = await api.call('POST', '/v1/images', body('a'));
  expect(created.status, created.text).toBe(201);
  expect(created.json).toMatchObject({ status: 'synced', source_digest: pushed.digest });
  expect(await resolves('a')).toBe(pushed.digest);
  await expectWhole(destination.registry, repository, pushed.digest);

  // Re-copy: in sync, nothing is sent again.
  const uploads = destination.uploads();
  const again = await api.call('POST', '/v1/images', body('a'));
  expect(again.status, again.text).toBe(200);
  expect(destination.uploads()).toBe(uploads);

  // The scheduled check follows a moved source tag.
  pushed = await source.push(repository, 'v1');
  expect(await api.server.check()).toMatchObject({ synced: 1, failed: 0 });
  expect(await resolves('a')).toBe(pushed.digest);
  await expectWhole(destination.registry, repository, pushed.digest);

  // A copy deleted out of band is restored by the next check.
  const manifest = await getManifest(destination.registry, repository, pushed.digest);
  expect(manifest.status).toBe(200);
  await deleteManifest(destination.registry, repository, pushed.digest);
  expect(await resolves('a')).toBeNull();
  expect(await api.server.check()).toMatchObject({ synced: 1, failed: 0 });
  expect(await resolves('a')).toBe(pushed.digest);

  // Delete while another record's tag shares the digest: that tag stays whole.
  const other = await api.call('POST', '/v1/images', body('b'));
  expect(other.status, other.text).toBe(201);
  expect(await resolves('b')).toBe(pushed.digest);
  const deleted = await api.call('DELETE', `/v1/images/${id('a')}`);
  expect(deleted.status, deleted.text).toBe(204);
  if (setup.deletion === 'removes') {
    expect(deleted.headers.get('x-imagesync-left')).toBeNull();
    expect(await resolves('a')).toBeNull();
  } else {
    expect(deleted.headers.get('x-imagesync-left')).toMatch(setup.deletion.leaves);
  }
  expect(await resolves('b')).toBe(pushed.digest);
  await expectWhole(destination.registry, repository, pushed.digest);

  // Delete again: the record is gone; then the other record goes, and with it the image.
  expect((await api.call('DELETE', `/v1/images/${id('a')}`)).status).toBe(404);
  const last = await api.call('DELETE', `/v1/images/${id('b')}`);
  expect(last.status, last.text).toBe(204);
  if (setup.deletion === 'removes') {
    expect(await resolves('b')).toBeNull();
    expect((await getManifest(destination.registry, repository, pushed.digest)).status).toBe(404);
  }
  expect((await api.call('GET', `/v1/images/${id('b')}`)).status).toBe(404);
}

/** The image and every blob it uses are at the registry. */
async function expectWhole(registry: Target, repository: string, digest: string): Promise<void> {
  const manifest = await getManifest(registry, repository, digest);
  expect(manifest.status).toBe(200);
  const json = JSON.parse(new TextDecoder().decode(manifest.bytes)) as { manifests?: { digest: string }[]; config?: { digest: string }; layers?: { digest: string }[] };
  if (json.manifests) {
    for (const child of json.manifests) await expectWhole(registry, repository, child.digest);
    return;
  }
  for (const blob of [json.config!, ...json.layers!]) expect(await getBlob(registry, repository, blob.digest), `blob ${blob.digest}`).toBeDefined();
}

/** DELETE manifests/<digest> on the real registry, out of band (2.8 removes every tag on it). */
async function deleteManifest(registry: Target, repository: string, digest: string): Promise<void> {
  const { rawFetch } = await import('../../harness/raw-client.ts');
  const response = await rawFetch(registry, `/v2/${repository}/manifests/${digest}`, { method: 'DELETE' }, `repository:${repository}:delete`);
  expect(response.status).toBe(202);
}
