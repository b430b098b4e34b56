// Error mapping (lib/api/errors.ts): what each failure answers.
import { describe, expect, it } from 'vitest';
import { toApiError } from '../../../lib/api/errors.ts';
import { ApiError } from '../../../lib/api/problem.ts';
import { ConflictError } from '../../../lib/sync/errors.ts';
import { ImageLimitError, SourceNotFoundError } from '../../../lib/copy/errors.ts';
import { parseReference } from '../../../lib/reference/reference.ts';
import { AuthenticationError, NotFoundError, RegistryError, RegistryProtocolError } from '../../../lib/registry/errors.ts';
import { MalformedManifestError, ManifestFormatError, parseManifestContent, OCI_MANIFEST } from '../../../lib/registry/media-types.ts';
import { SizeLimitError } from '../../../lib/util/stream.ts';
import { InvalidReferenceError } from '../../../lib/reference/reference.ts';
import { InvalidCursorError, StoreError } from '../../../lib/store/types.ts';
import { NetworkError, RefusedUrlError } from '../../../lib/transport/errors.ts';
import { DigestError, DigestMismatchError } from '../../../lib/util/digest.ts';

function mapped(error: unknown): ApiError {
  const out = toApiError(error);
  expect(out).toBeInstanceOf(ApiError);
  return out!;
}

describe('toApiError', () => {
  it('answers a missing source 422 source-not-found with its message', () => {
    const source = parseReference('ghcr.io/team/app:9.9');
    const error = new SourceNotFoundError(source, new NotFoundError('ghcr.io', 'HEAD manifest', 404, [{ code: 'MANIFEST_UNKNOWN' }]));
    const out = mapped(error);
    expect([out.status, out.code]).toEqual([422, 'source-not-found']);
    expect(out.detail).toBe(error.message);
    expect(out.detail).toContain('ghcr.io/team/app:9.9');
    expect(out.detail).toContain('MANIFEST_UNKNOWN');
  });

  it('answers an invalid cursor 400 invalid-cursor', () => {
    const out = mapped(new InvalidCursorError('cursor "zz" was not handed out by this store'));
    expect([out.status, out.code, out.detail]).toEqual([400, 'invalid-cursor', 'cursor "zz" was not handed out by this store']);
  });

  it('answers an unsupported manifest 422', () => {
    const out = mapped(new ManifestFormatError('unsupported media type application/vnd.docker.distribution.manifest.v1+json'));
    expect([out.status, out.code, out.detail]).toEqual([422, 'unsupported-image', 'unsupported media type application/vnd.docker.distribution.manifest.v1+json']);
  });

  it.each([
    ['RegistryError', new RegistryError('ghcr.io', 'PUT manifest', 500, [{ code: 'UNKNOWN', message: 'storage down' }])],
    ['AuthenticationError', new AuthenticationError('ghcr.io', 'PUT manifest', 403, [{ code: 'DENIED' }])],
    ['NotFoundError (not a source)', new NotFoundError('ghcr.io', 'GET blob', 404)],
    ['NetworkError', new NetworkError('registry.example.com', 'ECONNRESET')],
    ['DigestMismatchError', new DigestMismatchError('blob sha256:aa did not match: got sha256:bb')],
    ['DigestError', new DigestError('malformed digest "sha256:zz"')],
    ['RefusedUrlError', new RefusedUrlError('refused redirect to ftp://x')],
  ])('answers %s 502 registry-failed with the message as detail', (_, error) => {
    const out = mapped(error);
    expect([out.status, out.code, out.title]).toEqual([502, 'registry-failed', 'Registry failed']);
    expect(out.detail).toBe((error as Error).message);
  });

  it.each([
    ['a manifest that is not JSON', new RegistryProtocolError('127.0.0.1:5000', 'get manifest src/app:v1', 'the manifest is not JSON'), /^127\.0\.0\.1:5000: get manifest src\/app:v1: the manifest is not JSON$/],
    [
      'a malformed descriptor',
      new RegistryProtocolError('ghcr.io', 'get manifest team/app:v1', 'invalid digest "sha256:0/..": invalid character "/"', { field: 'layers[0].digest' }),
      /^ghcr\.io: get manifest team\/app:v1: layers\[0\]\.digest: invalid digest/,
    ],
    ['a malformed header', new RegistryProtocolError('quay.io', 'HEAD manifest a/b:v1', 'invalid digest "x"', { field: 'Docker-Content-Digest' }), /quay\.io: HEAD manifest a\/b:v1: Docker-Content-Digest: invalid digest/],
    ['a manifest too large', new RegistryProtocolError('r.example', 'get manifest a:v1', 'the manifest is larger than 4194304 bytes', { cause: new SizeLimitError('the manifest', 4194304) }), /r\.example: .*larger than 4194304/],
    ['bad content seen outside getManifest', new MalformedManifestError('r.example: manifest a@sha256:1', 'config.size', 'not a non-negative integer'), /^r\.example: manifest a@sha256:1: config\.size: /],
    ['a bare size limit', new SizeLimitError('the tag list', 10), /the tag list is larger than 10 bytes/],
  ])('answers %s 502 registry-failed, naming the registry and the field', (_, error, detail) => {
    const out = mapped(error);
    expect([out.status, out.code, out.title]).toEqual([502, 'registry-failed', 'Registry failed']);
    expect(out.detail).toMatch(detail);
  });

  it('a bad descriptor from parseManifestContent maps to 502, an unsupported type to 422', () => {
    const caught = (json: unknown, mediaType: string) => {
      try {
        parseManifestContent(json, mediaType, 'r.example: manifest a@sha256:1');
      } catch (error) {
        return error;
      }
      throw new Error('expected a refusal');
    };
    const bad = mapped(caught({ config: { digest: '../../x', size: 1 }, layers: [] }, OCI_MANIFEST));
    expect([bad.status, bad.code]).toEqual([502, 'registry-failed']);
    expect(bad.detail).toContain('config.digest');
    const unsupported = mapped(caught({}, 'application/vnd.docker.distribution.manifest.v1+prettyjws'));
    expect([unsupported.status, unsupported.code]).toEqual([422, 'unsupported-image']);
  });

  it('carries the registry\'s own code for a missing source (422), not the status name', () => {
    const source = parseReference('127.0.0.1:5000/src/app:gone');
    const out = mapped(new SourceNotFoundError(source, new NotFoundError('127.0.0.1:5000', 'get manifest src/app:gone', 404, [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }])));
    expect(out.status).toBe(422);
    expect(out.detail).toContain('404 MANIFEST_UNKNOWN');
    expect(out.detail).not.toContain('NOT_FOUND');
  });

  it('a protocol error has no code of its own: the 502 does not invent one', () => {
    const error = new RegistryProtocolError('r.example', 'list tags of a', 'the tag list is not JSON');
    expect(error.code).toBeUndefined();
    expect(error).toBeInstanceOf(RegistryError);
    expect(mapped(error).detail).toBe('r.example: list tags of a: the tag list is not JSON');
  });

  it('leaves a path builder\'s refusal unmapped: it is a caller bug, never a registry answer', () => {
    expect(toApiError(new InvalidReferenceError('../x', 'invalid tag'))).toBeUndefined();
  });

  it('names the registry and its error code in a 502', () => {
    const out = mapped(new RegistryError('quay.io', 'PUT manifest', 503, [{ code: 'UNAVAILABLE' }]));
    expect(out.detail).toContain('quay.io');
    expect(out.detail).toContain('UNAVAILABLE');
  });

  it('keeps a 502 detail on one line', () => {
    const out = mapped(new RegistryError('ghcr.io', 'PUT manifest', 500, [{ code: 'UNKNOWN', message: 'line one\nline two' }]));
    expect(out.detail).not.toContain('\n');
    expect(out.detail).toContain('line one line two');
  });

  it('answers an image past the bounds on one copy 502 image-limit, naming the bound and its setting', () => {
    const out = mapped(new ImageLimitError('r.example', 'team/app lists more than 10 manifests in one image (IMAGESYNC_MAX_MANIFESTS)'));
    expect([out.status, out.code, out.title]).toEqual([502, 'image-limit', 'Image exceeds a limit']);
    expect(out.detail).toBe('r.example: team/app lists more than 10 manifests in one image (IMAGESYNC_MAX_MANIFESTS)');
  });

  it('answers a store failure 503 store-unavailable', () => {
    const out = mapped(new StoreError('DynamoDB: ResourceNotFoundException'));
    expect([out.status, out.code, out.detail]).toEqual([503, 'store-unavailable', 'DynamoDB: ResourceNotFoundException']);
  });

  it('passes an ApiError through as is', () => {
    const error = new ApiError(400, 'invalid-body', 'Bad request', 'no');
    expect(toApiError(error)).toBe(error);
  });

  it('maps a ConflictError to 409 with its code', () => {
    const out = toApiError(new ConflictError('destination-taken', 'destination x is already mirrored from y'))!;
    expect([out.status, out.code, out.title, out.detail]).toEqual([409, 'destination-taken', 'Conflict', 'destination x is already mirrored from y']);
  });

  it.each([
    ['a plain Error', new Error('password=hunter2')],
    ['a TypeError', new TypeError('x is undefined')],
    ['a string', 'boom'],
    ['undefined', undefined],
    ['null', null],
    ['an object', { status: 400, message: 'looks like an API error' }],
  ])('leaves %s unmapped (undefined: the caller answers 500)', (_, error) => {
    expect(toApiError(error)).toBeUndefined();
  });
});
