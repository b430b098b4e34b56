// Error mapping (lib/api/errors.ts): what each failure answers.
import { describe, expect, it } from 'vitest';
import { toApiError } from '../../lib/api/errors.ts';
import { ApiError } from '../../lib/api/problem.ts';
import { ConflictError } from '../../lib/sync/errors.ts';
import { SourceNotFoundError } from '../../lib/copy/errors.ts';
import { parseReference } from '../../lib/reference/reference.ts';
import { AuthenticationError, NotFoundError, RegistryError } from '../../lib/registry/errors.ts';
import { ManifestFormatError } from '../../lib/registry/media-types.ts';
import { InvalidCursorError, StoreError } from '../../lib/store/types.ts';
import { RecordChangedError } from '../../lib/sync/deletion.ts';
import { NetworkError, RefusedUrlError } from '../../lib/transport/errors.ts';
import { DigestError, DigestMismatchError } from '../../lib/util/digest.ts';

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

  it('answers a record changed under a deletion 409 record-changed', () => {
    const out = mapped(new RecordChangedError('record 0123 changed while it was being deleted'));
    expect([out.status, out.code, out.title, out.detail]).toEqual([409, 'record-changed', 'Conflict', 'record 0123 changed while it was being deleted']);
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
