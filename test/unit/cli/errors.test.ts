import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CredentialsFileError } from '../../../lib/auth/credentials.ts';
import { errorLine, UsageError } from '../../../lib/cli/errors.ts';
import { ConfigError } from '../../../lib/config/errors.ts';
import { SourceNotFoundError } from '../../../lib/copy/errors.ts';
import { InvalidReferenceError } from '../../../lib/reference/reference.ts';
import { AuthenticationError, NotFoundError, RegistryError, RegistryProtocolError } from '../../../lib/registry/errors.ts';
import { MalformedManifestError, ManifestFormatError } from '../../../lib/registry/media-types.ts';
import { SizeLimitError } from '../../../lib/util/stream.ts';
import { BodyTooLargeError } from '../../../lib/registry/upload.ts';
import { NetworkError, RefusedUrlError } from '../../../lib/transport/errors.ts';
import { DigestError, DigestMismatchError } from '../../../lib/util/digest.ts';

/** An error of the given name, built without depending on each class's constructor. */
function named(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

describe('errorLine', () => {
  it.each([
    'UsageError',
    'InvalidReferenceError',
    'SourceNotFoundError',
    'RegistryError',
    'RegistryProtocolError',
    'MalformedManifestError',
    'SizeLimitError',
    'AuthenticationError',
    'NotFoundError',
    'BodyTooLargeError',
    'NetworkError',
    'RefusedUrlError',
    'DigestError',
    'DigestMismatchError',
    'ManifestFormatError',
    'ConfigError',
    'CredentialsFileError',
  ])('%s keeps its message as it is', (name) => {
    expect(errorLine(named(name, 'the message for the user'))).toBe('the message for the user');
  });

  it('the real error classes are recognised by their names', () => {
    const notFound = new NotFoundError('docker.io', 'get manifest', 404, [{ code: 'MANIFEST_UNKNOWN' }]);
    const errors: Error[] = [
      new UsageError('usage: imagesync copy SRC DST'),
      new NetworkError('registry.example', 'ECONNREFUSED'),
      new RefusedUrlError('refusing plain http'),
      new RegistryError('r', 'put blob', 500),
      new AuthenticationError('r', 'get token', 401),
      notFound,
      new DigestError('malformed digest'),
      new DigestMismatchError('blob: content does not match'),
      new ManifestFormatError('m: index without a "manifests" list'),
      new CredentialsFileError('auth.json is not valid JSON'),
      new ConfigError('cannot read registry auth file'),
      new SourceNotFoundError({ registry: 'docker.io', repository: 'library/busybox', tag: 'nope' }, notFound),
      new InvalidReferenceError('Busybox', 'repository name must be lowercase'),
      new BodyTooLargeError('r', 'put blob', 413),
      new RegistryProtocolError('r', 'get manifest a:v1', 'invalid digest', { field: 'layers[0].digest' }),
      new MalformedManifestError('r: manifest a@sha256:1', 'config', 'not a descriptor'),
      new SizeLimitError('the manifest', 4194304),
    ];
    for (const error of errors) expect(errorLine(error), error.name).toBe(error.message);
  });

  it.each<[label: string, error: unknown, expected: string]>([
    ['TypeError', new TypeError('x is not a function'), 'unexpected error: x is not a function'],
    ['plain Error', new Error('boom'), 'unexpected error: boom'],
    ['RangeError', new RangeError('bad'), 'unexpected error: bad'],
    ['a string', 'just text', 'unexpected error: just text'],
    ['a number', 42, 'unexpected error: 42'],
    ['null', null, 'unexpected error: null'],
    ['undefined', undefined, 'unexpected error: undefined'],
    ['an error-like object that is not an Error', { name: 'UsageError', message: 'spoof' }, 'unexpected error: [object Object]'],
  ])('%s → unexpected error', (_label, error, expected) => {
    expect(errorLine(error)).toBe(expected);
  });

  it.each<[label: string, error: unknown, expected: string]>([
    ['known error', named('RegistryError', 'first line\nsecond line'), 'first line second line'],
    ['unknown error', new Error('first\n   second\r\nthird'), 'unexpected error: first second third'],
    ['blank lines', named('UsageError', 'usage:\n\n  imagesync copy SRC DST\n'), 'usage: imagesync copy SRC DST '],
  ])('%s: everything on one line', (_label, error, expected) => {
    const line = errorLine(error);
    expect(line).toBe(expected);
    expect(line).not.toMatch(/[\r\n]/);
  });

  it('never includes a stack trace', () => {
    const error = new Error('boom');
    expect(errorLine(error)).not.toContain(' at ');
  });

  it('a parseArgs error keeps its first sentence', () => {
    let error: unknown;
    try {
      parseArgs({ args: ['--nope'], options: {}, strict: true });
    } catch (e) {
      error = e;
    }
    expect((error as { code?: string }).code).toMatch(/^ERR_PARSE_ARGS/);
    const line = errorLine(error);
    expect(line).toContain("'--nope'");
    expect(line).not.toMatch(/unexpected error/);
    expect(line).not.toMatch(/\n/);
    expect(line).not.toContain('. ');
  });

  it('a parseArgs-like error: first sentence only, on one line', () => {
    const error = Object.assign(new TypeError("Unknown option '--x'. To specify a positional argument starting with\n a '-', place it after '--'."), {
      code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION',
    });
    expect(errorLine(error)).toBe("Unknown option '--x'");
  });
});
