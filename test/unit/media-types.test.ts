import { describe, expect, it } from 'vitest';
import {
  DOCKER_LIST,
  DOCKER_MANIFEST,
  isForeignLayer,
  MANIFEST_ACCEPT,
  manifestMediaType,
  ManifestFormatError,
  OCI_INDEX,
  OCI_MANIFEST,
  parseManifestContent,
  type Descriptor,
} from '../../lib/registry/media-types.ts';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const D3 = `sha256:${'3'.repeat(64)}`;
const SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+prettyjws';

const ociManifest = {
  schemaVersion: 2,
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D1, size: 123 },
  layers: [
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D2, size: 4567 },
    { digest: D3, size: 0 },
  ],
};
const ociIndex = {
  schemaVersion: 2,
  manifests: [
    { mediaType: OCI_MANIFEST, digest: D1, size: 500, platform: { os: 'linux', architecture: 'amd64' } },
    { mediaType: OCI_MANIFEST, digest: D2, size: 501, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
  ],
};

describe('MANIFEST_ACCEPT', () => {
  it('lists all four manifest types', () => {
    const types = MANIFEST_ACCEPT.split(',').map((t) => t.trim());
    expect(new Set(types)).toEqual(new Set([OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST]));
  });
});

describe('manifestMediaType', () => {
  it.each<[label: string, json: unknown, contentType: string | null, expected: string]>([
    ['own mediaType', { mediaType: DOCKER_MANIFEST, config: {} }, null, DOCKER_MANIFEST],
    ['own mediaType wins over Content-Type', { mediaType: OCI_INDEX, manifests: [] }, DOCKER_MANIFEST, OCI_INDEX],
    ['own mediaType even when unknown', { mediaType: SCHEMA1 }, OCI_MANIFEST, SCHEMA1],
    ['Content-Type when there is no mediaType', { schemaVersion: 2, config: {}, layers: [] }, DOCKER_MANIFEST, DOCKER_MANIFEST],
    ['Content-Type with parameters', { schemaVersion: 2 }, `${OCI_MANIFEST}; charset=utf-8`, OCI_MANIFEST],
    ['Content-Type with parameters and spaces', { schemaVersion: 2 }, ` ${DOCKER_LIST} ;q=1`, DOCKER_LIST],
    ['Content-Type wins over the shape', { manifests: [] }, OCI_MANIFEST, OCI_MANIFEST],
    ['empty mediaType falls through to Content-Type', { mediaType: '', manifests: [] }, DOCKER_LIST, DOCKER_LIST],
    ['OCI index shape without mediaType', { schemaVersion: 2, manifests: [] }, 'application/json', OCI_INDEX],
    ['OCI manifest shape without mediaType', ociManifest, 'application/json', OCI_MANIFEST],
    ['OCI manifest shape, no Content-Type', ociManifest, null, OCI_MANIFEST],
    ['OCI index shape, no Content-Type', ociIndex, null, OCI_INDEX],
    ['unknown shape: the Content-Type as given', { schemaVersion: 1, fsLayers: [] }, `${SCHEMA1}; charset=utf-8`, SCHEMA1],
    ['unknown shape, no Content-Type', { schemaVersion: 1 }, null, 'application/octet-stream'],
    ['JSON null, no Content-Type', null, null, 'application/octet-stream'],
    ['a non-string mediaType is ignored', { mediaType: 42, config: {} }, null, OCI_MANIFEST],
  ])('%s', (_label, json, contentType, expected) => {
    expect(manifestMediaType(json, contentType)).toBe(expected);
  });
});

describe('parseManifestContent', () => {
  it.each([OCI_MANIFEST, DOCKER_MANIFEST])('reads config and layers of %s', (mediaType) => {
    expect(parseManifestContent(ociManifest, mediaType, 'm')).toEqual({
      kind: 'image',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D1, size: 123 },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D2, size: 4567 },
        { mediaType: 'application/octet-stream', digest: D3, size: 0 }, // missing mediaType defaulted
      ],
    });
  });

  it.each([OCI_INDEX, DOCKER_LIST])('reads the manifests of %s, keeping platforms', (mediaType) => {
    const content = parseManifestContent(ociIndex, mediaType, 'i');
    expect(content).toEqual({ kind: 'index', manifests: ociIndex.manifests });
  });

  it('keeps urls on a descriptor', () => {
    const layer = { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: D2, size: 1, urls: ['https://x/y'] };
    const content = parseManifestContent({ config: ociManifest.config, layers: [layer] }, DOCKER_MANIFEST, 'm');
    expect(content.kind === 'image' && content.layers[0]).toEqual(layer);
  });

  it('an empty index and an image without layers are valid', () => {
    expect(parseManifestContent({ manifests: [] }, OCI_INDEX, 'i')).toEqual({ kind: 'index', manifests: [] });
    expect(parseManifestContent({ config: ociManifest.config, layers: [] }, OCI_MANIFEST, 'm')).toMatchObject({ kind: 'image', layers: [] });
  });

  it.each<[label: string, json: unknown, mediaType: string, message: RegExp]>([
    ['schema1', { schemaVersion: 1, fsLayers: [{ blobSum: D1 }] }, SCHEMA1, /unsupported manifest type "application\/vnd\.docker\.distribution\.manifest\.v1\+prettyjws"/],
    ['an unknown type', {}, 'application/json', /unsupported manifest type "application\/json"/],
    ['an image without layers', { config: ociManifest.config }, OCI_MANIFEST, /manifest without a "layers" list/],
    ['an image with layers not a list', { config: ociManifest.config, layers: {} }, DOCKER_MANIFEST, /"layers" list/],
    ['an image without config', { layers: [] }, OCI_MANIFEST, /ref config: not a descriptor/],
    ['an index without manifests', { layers: [] }, OCI_INDEX, /index without a "manifests" list/],
    ['an index with manifests not a list', { manifests: 'x' }, DOCKER_LIST, /"manifests" list/],
    ['a layer without digest', { config: ociManifest.config, layers: [{ size: 1 }] }, OCI_MANIFEST, /ref layers\[0\]: not a descriptor/],
    ['a layer with a string size', { config: ociManifest.config, layers: [ociManifest.layers[0], { digest: D2, size: '10' }] }, OCI_MANIFEST, /ref layers\[1\]/],
    ['a negative size', { config: ociManifest.config, layers: [{ digest: D2, size: -1 }] }, OCI_MANIFEST, /layers\[0\]/],
    ['a fractional size', { config: ociManifest.config, layers: [{ digest: D2, size: 1.5 }] }, OCI_MANIFEST, /layers\[0\]/],
    ['an unsafe integer size', { config: ociManifest.config, layers: [{ digest: D2, size: 2 ** 60 }] }, OCI_MANIFEST, /layers\[0\]/],
    ['a null layer', { config: ociManifest.config, layers: [null] }, OCI_MANIFEST, /layers\[0\]/],
    ['a string layer', { config: ociManifest.config, layers: [D2] }, OCI_MANIFEST, /layers\[0\]/],
    ['a bad index entry', { manifests: [ociIndex.manifests[0], { digest: 5, size: 1 }] }, OCI_INDEX, /ref manifests\[1\]: not a descriptor/],
  ])('refuses %s', (_label, json, mediaType, message) => {
    let error: unknown;
    try {
      parseManifestContent(json, mediaType, 'ref');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ManifestFormatError);
    expect((error as Error).message).toMatch(/^ref/);
    expect((error as Error).message).toMatch(message);
  });
});

describe('isForeignLayer', () => {
  const layer = (mediaType: string, urls?: string[]): Descriptor => ({ mediaType, digest: D1, size: 1, ...(urls ? { urls } : {}) });
  const urls = ['https://mcr.microsoft.com/v2/windows/servercore/blobs/sha256:abc'];

  it.each<[mediaType: string, urls: string[] | undefined, foreign: boolean]>([
    ['application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', urls, true],
    ['application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', urls, true],
    ['application/vnd.oci.image.layer.nondistributable.v1.tar', urls, true],
    ['application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', undefined, false],
    ['application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', [], false],
    ['application/vnd.docker.image.rootfs.diff.tar.gzip', urls, false],
    ['application/vnd.oci.image.layer.v1.tar+gzip', urls, false],
    ['application/vnd.oci.image.layer.v1.tar+gzip', undefined, false],
  ])('%s with urls %j → %s', (mediaType, u, foreign) => {
    expect(isForeignLayer(layer(mediaType, u))).toBe(foreign);
  });
});
