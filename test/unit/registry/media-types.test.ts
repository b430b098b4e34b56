import { describe, expect, it } from 'vitest';
import {
  DOCKER_LIST,
  DOCKER_MANIFEST,
  isForeignLayer,
  isSupportedManifestType,
  MalformedManifestError,
  MANIFEST_ACCEPT,
  manifestMediaType,
  ManifestFormatError,
  OCI_INDEX,
  OCI_MANIFEST,
  parseManifestContent,
  type Descriptor,
} from '../../../lib/registry/media-types.ts';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const D3 = `sha256:${'3'.repeat(64)}`;
const SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+prettyjws';

/** What fn throws (an Error), failing the test when it throws nothing. */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return error as Error;
  }
  throw new Error('expected an error, nothing was thrown');
}

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

describe('isSupportedManifestType', () => {
  it.each([OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST])('%s is supported', (type) => {
    expect(isSupportedManifestType(type)).toBe(true);
  });
  it.each([SCHEMA1, 'application/json', `${OCI_MANIFEST}; charset=utf-8`, OCI_MANIFEST.toUpperCase(), ''])('%j is not', (type) => {
    expect(isSupportedManifestType(type)).toBe(false);
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
    ['an unknown type, even when the JSON is not an object', null, 'text/html', /unsupported manifest type "text\/html"/],
  ])('refuses %s as unsupported (ManifestFormatError)', (_label, json, mediaType, message) => {
    const error = thrown(() => parseManifestContent(json, mediaType, 'ref'));
    expect(error).toBeInstanceOf(ManifestFormatError);
    expect(error).not.toBeInstanceOf(MalformedManifestError);
    expect(error.message).toMatch(/^ref: /);
    expect(error.message).toMatch(message);
  });

  it('cuts a huge unsupported media type in its message', () => {
    const error = thrown(() => parseManifestContent({}, `application/${'x'.repeat(100_000)}`, 'ref'));
    expect(error).toBeInstanceOf(ManifestFormatError);
    expect(error.message.length).toBeLessThan(300);
  });

  const layer = (d: Record<string, unknown>) => ({ config: ociManifest.config, layers: [ociManifest.layers[0], d] });
  const good = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D2, size: 1 };

  it.each<[label: string, json: unknown, mediaType: string, field: string | undefined, problem: RegExp]>([
    // The document and its lists.
    ['JSON null', null, OCI_MANIFEST, undefined, /not a JSON object/],
    ['a JSON array', [], OCI_INDEX, undefined, /not a JSON object/],
    ['a JSON string', 'x', DOCKER_MANIFEST, undefined, /not a JSON object/],
    ['an image without layers', { config: ociManifest.config }, OCI_MANIFEST, 'layers', /needs a "layers" list/],
    ['an image with layers not a list', { config: ociManifest.config, layers: {} }, DOCKER_MANIFEST, 'layers', /"layers" list/],
    ['an index without manifests', { layers: [] }, OCI_INDEX, 'manifests', /needs a "manifests" list/],
    ['an index with manifests not a list', { manifests: 'x' }, DOCKER_LIST, 'manifests', /"manifests" list/],
    ['an image without config', { layers: [] }, OCI_MANIFEST, 'config', /not a descriptor/],
    ['a null layer', { config: ociManifest.config, layers: [null] }, OCI_MANIFEST, 'layers[0]', /not a descriptor/],
    ['a string layer', { config: ociManifest.config, layers: [D2] }, OCI_MANIFEST, 'layers[0]', /not a descriptor/],
    ['an array layer', { config: ociManifest.config, layers: [[D2, 1]] }, OCI_MANIFEST, 'layers[0]', /not a descriptor/],
    // Digests: they go into URLs.
    ['a layer without digest', layer({ size: 1 }), OCI_MANIFEST, 'layers[1].digest', /missing or not a string/],
    ['a numeric digest', { manifests: [ociIndex.manifests[0], { digest: 5, size: 1 }] }, OCI_INDEX, 'manifests[1].digest', /not a string/],
    ['a path traversal', layer({ ...good, digest: `sha256:${'0'.repeat(64)}/../../../../../v2/mirror/app/manifests/v1` }), OCI_MANIFEST, 'layers[1].digest', /invalid character "\/"/],
    ['a traversal in the config', { config: { ...ociManifest.config, digest: `sha256:${'0'.repeat(64)}/..` }, layers: [] }, OCI_MANIFEST, 'config.digest', /invalid character/],
    ['a traversal in an index', { manifests: [{ mediaType: OCI_MANIFEST, digest: '../../x', size: 1 }] }, OCI_INDEX, 'manifests[0].digest', /invalid digest/],
    ['a query in a digest', layer({ ...good, digest: `sha256:${'0'.repeat(64)}?x=1` }), OCI_MANIFEST, 'layers[1].digest', /invalid character "\?"/],
    ['an encoded slash', layer({ ...good, digest: `sha256:${'0'.repeat(60)}%2F..` }), OCI_MANIFEST, 'layers[1].digest', /invalid character "%"/],
    ['no algorithm', layer({ ...good, digest: '0'.repeat(64) }), OCI_MANIFEST, 'layers[1].digest', /algorithm:encoded/],
    ['an empty digest', layer({ ...good, digest: '' }), OCI_MANIFEST, 'layers[1].digest', /empty digest/],
    ['a short sha256', layer({ ...good, digest: `sha256:${'a'.repeat(63)}` }), OCI_MANIFEST, 'layers[1].digest', /64 hex digits, got 63/],
    ['a long sha256', layer({ ...good, digest: `sha256:${'a'.repeat(65)}` }), OCI_MANIFEST, 'layers[1].digest', /64 hex digits, got 65/],
    ['upper-case hex', layer({ ...good, digest: `sha256:${'A'.repeat(64)}` }), OCI_MANIFEST, 'layers[1].digest', /lower-case/],
    ['upper-case algorithm', layer({ ...good, digest: `SHA256:${'a'.repeat(64)}` }), OCI_MANIFEST, 'layers[1].digest', /must be written "sha256"/],
    ['a sha512 of sha256 length', layer({ ...good, digest: `sha512:${'a'.repeat(64)}` }), OCI_MANIFEST, 'layers[1].digest', /128 hex digits/],
    ['an unverifiable algorithm', layer({ ...good, digest: `sha384:${'a'.repeat(96)}` }), OCI_MANIFEST, 'layers[1].digest', /unsupported digest algorithm "sha384"/],
    ['a base64 algorithm', layer({ ...good, digest: 'sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564' }), OCI_MANIFEST, 'layers[1].digest', /unsupported digest algorithm/],
    ['whitespace around', layer({ ...good, digest: ` ${D2}` }), OCI_MANIFEST, 'layers[1].digest', /invalid/],
    ['a newline after', layer({ ...good, digest: `${D2}\n` }), OCI_MANIFEST, 'layers[1].digest', /invalid character/],
    // Sizes.
    ['a string size', layer({ ...good, size: '10' }), OCI_MANIFEST, 'layers[1].size', /not a non-negative integer/],
    ['a missing size', layer({ mediaType: good.mediaType, digest: D2 }), OCI_MANIFEST, 'layers[1].size', /not a non-negative integer/],
    ['a negative size', layer({ ...good, size: -1 }), OCI_MANIFEST, 'layers[1].size', /-1/],
    ['a fractional size', layer({ ...good, size: 1.5 }), OCI_MANIFEST, 'layers[1].size', /1\.5/],
    ['an unsafe integer size', layer({ ...good, size: 2 ** 60 }), OCI_MANIFEST, 'layers[1].size', /not a non-negative integer/],
    ['a null size', layer({ ...good, size: null }), OCI_MANIFEST, 'layers[1].size', /null/],
    // Media types (RFC 6838 restricted names, no parameters).
    ['a numeric media type', layer({ ...good, mediaType: 7 }), OCI_MANIFEST, 'layers[1].mediaType', /not a string/],
    ['an empty media type', layer({ ...good, mediaType: '' }), OCI_MANIFEST, 'layers[1].mediaType', /not a media type/],
    ['a media type without subtype', layer({ ...good, mediaType: 'application' }), OCI_MANIFEST, 'layers[1].mediaType', /not a media type/],
    ['a media type with two slashes', layer({ ...good, mediaType: 'application/x/y' }), OCI_MANIFEST, 'layers[1].mediaType', /not a media type/],
    ['a media type with parameters', layer({ ...good, mediaType: 'application/json; charset=utf-8' }), OCI_MANIFEST, 'layers[1].mediaType', /not a media type/],
    ['a media type with a header break', layer({ ...good, mediaType: 'application/json\r\nx-evil: 1' }), OCI_MANIFEST, 'layers[1].mediaType', /not a media type/],
    ['a media type starting with a symbol', layer({ ...good, mediaType: '+application/json' }), OCI_MANIFEST, 'layers[1].mediaType', /not a media type/],
    ['a subtype of 128 characters', layer({ ...good, mediaType: `application/${'x'.repeat(128)}` }), OCI_MANIFEST, 'layers[1].mediaType', /not a media type/],
    ['a non-ASCII media type', layer({ ...good, mediaType: 'application/jsön' }), OCI_MANIFEST, 'layers[1].mediaType', /not a media type/],
    // urls and platform.
    ['urls not a list', layer({ ...good, urls: 'https://x' }), OCI_MANIFEST, 'layers[1].urls', /not a list/],
    ['a url not a string', layer({ ...good, urls: ['https://x', 5] }), OCI_MANIFEST, 'layers[1].urls[1]', /not a string/],
    ['a platform not an object', { manifests: [{ ...ociIndex.manifests[0], platform: 'linux/amd64' }] }, OCI_INDEX, 'manifests[0].platform', /not an object/],
    ['a platform os not a string', { manifests: [{ ...ociIndex.manifests[0], platform: { os: 1, architecture: 'amd64' } }] }, OCI_INDEX, 'manifests[0].platform.os', /not a string/],
    ['a platform architecture not a string', { manifests: [{ ...ociIndex.manifests[0], platform: { os: 'linux', architecture: ['amd64'] } }] }, DOCKER_LIST, 'manifests[0].platform.architecture', /not a string/],
    ['a platform variant not a string', { manifests: [{ ...ociIndex.manifests[0], platform: { os: 'linux', architecture: 'arm', variant: null } }] }, OCI_INDEX, 'manifests[0].platform.variant', /not a string/],
    ['a platform os.version not a string', { manifests: [{ ...ociIndex.manifests[0], platform: { os: 'windows', architecture: 'amd64', 'os.version': 10 } }] }, OCI_INDEX, 'manifests[0].platform.os.version', /not a string/],
    ['a platform os.features not a list', { manifests: [{ ...ociIndex.manifests[0], platform: { os: 'windows', architecture: 'amd64', 'os.features': 'win32k' } }] }, OCI_INDEX, 'manifests[0].platform.os.features', /not a list/],
    ['a platform feature not a string', { manifests: [{ ...ociIndex.manifests[0], platform: { os: 'linux', architecture: 'amd64', features: ['sse4', 1] } }] }, OCI_INDEX, 'manifests[0].platform.features[1]', /not a string/],
  ])('refuses %s as malformed, naming the field', (_label, json, mediaType, field, problem) => {
    const error = thrown(() => parseManifestContent(json, mediaType, 'ref'));
    expect(error).toBeInstanceOf(MalformedManifestError);
    const malformed = error as MalformedManifestError;
    expect(malformed.field).toBe(field);
    expect(malformed.what).toBe('ref');
    expect(malformed.problem).toMatch(problem);
    expect(malformed.message).toBe(`ref: ${field ? `${field}: ` : ''}${malformed.problem}`);
  });

  it.each<[label: string, d: Record<string, unknown>]>([
    ['a sha512 digest', { ...good, digest: `sha512:${'ab'.repeat(64)}` }],
    ['the largest safe size', { ...good, size: Number.MAX_SAFE_INTEGER }],
    ['a media type using every allowed symbol', { ...good, mediaType: 'application/vnd.a!b#c$d&e^f_g-h+i.j' }],
    ['a media type of the longest names', { ...good, mediaType: `${'a'.repeat(127)}/${'b'.repeat(127)}` }],
    ['urls and annotations', { ...good, urls: ['https://x/y', 'https://z'], annotations: { a: 'b' } }],
    ['an empty urls list', { ...good, urls: [] }],
  ])('accepts %s, keeping every field', (_label, d) => {
    const content = parseManifestContent(layer(d), OCI_MANIFEST, 'm');
    expect(content.kind === 'image' && content.layers[1]).toEqual(d);
  });

  it('accepts a full platform (os.version, os.features, features, variant)', () => {
    const platform = { os: 'windows', architecture: 'amd64', variant: 'v3', 'os.version': '10.0.17763.1', 'os.features': ['win32k'], features: ['sse4'] };
    const manifests = [{ mediaType: OCI_MANIFEST, digest: D1, size: 2, platform }];
    expect(parseManifestContent({ manifests }, OCI_INDEX, 'i')).toEqual({ kind: 'index', manifests });
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
