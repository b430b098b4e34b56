// Moving a tag away on registries that refuse to delete a tag alone (distribution 2.8): push a
// throwaway manifest with a unique config to the tag, then delete the throwaway by digest, which
// takes the tag with it and leaves every other tag alone.
import { digestOf } from '../util/digest.ts';
import type { RegistryClient } from '../registry/client.ts';
import { putManifest, type Manifest } from '../registry/manifest.ts';
import { OCI_MANIFEST } from '../registry/media-types.ts';
import { putBlob, startUpload } from '../registry/upload.ts';

export interface Throwaway {
  manifest: Manifest;
  config: Uint8Array;
  configDigest: string;
}

/** Builds a throwaway (nothing is sent yet), so its digest can be saved before the tag moves. */
export function throwawayManifest(): Throwaway {
  const config = new TextEncoder().encode(JSON.stringify({ imagesync: 'throwaway: moves a tag away before deletion', nonce: crypto.randomUUID() }));
  const configDigest = digestOf(config);
  const json = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.byteLength },
    layers: [],
  };
  const bytes = new TextEncoder().encode(JSON.stringify(json));
  return { manifest: { bytes, mediaType: OCI_MANIFEST, digest: digestOf(bytes), json }, config, configDigest };
}

/** Points `tag` at the throwaway: its config blob first, then the manifest. */
export async function pushThrowaway(client: RegistryClient, repository: string, tag: string, throwaway: Throwaway, signal?: AbortSignal): Promise<void> {
  const session = await startUpload(client, repository, signal);
  await putBlob(client, repository, session, throwaway.configDigest, throwaway.config.byteLength, throwaway.config, signal);
  await putManifest(client, repository, tag, throwaway.manifest, signal);
}
