// What a client may send (lib/api/input.ts): every refusal with its exact status, code and detail.
import { describe, expect, it } from 'vitest';
import { recordId } from '../../../lib/api/ids.ts';
import { parseImageSpec, type InputPolicy } from '../../../lib/api/input.ts';
import { ApiError } from '../../../lib/api/problem.ts';
import { parseReference } from '../../../lib/reference/reference.ts';

const SHA = `sha256:${'0123456789abcdef'.repeat(4)}`;
const ANY: InputPolicy = {};

function refusal(body: unknown, policy: InputPolicy = ANY): ApiError {
  try {
    parseImageSpec(body, policy);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error(`expected an ApiError for ${JSON.stringify(body)}, nothing was thrown`);
}

function expectRefusal(body: unknown, status: number, code: string, detail: string, policy: InputPolicy = ANY): ApiError {
  const error = refusal(body, policy);
  expect({ status: error.status, code: error.code, detail: error.detail }).toEqual({ status, code, detail });
  return error;
}

const NOT_AN_OBJECT = 'the body must be a JSON object with "source" and "destination"';

describe('parseImageSpec: the shape of the body', () => {
  it.each([
    ['null', null],
    ['undefined', undefined],
    ['an array', []],
    ['an array of the right strings', ['busybox', 'ghcr.io/a/b:1']],
    ['a string', 'busybox'],
    ['a number', 42],
    ['a boolean', true],
  ])('refuses %s with 400 invalid-body', (_, body) => {
    const error = expectRefusal(body, 400, 'invalid-body', NOT_AN_OBJECT);
    expect(error.title).toBe('Bad request');
  });

  it('refuses a missing source', () => {
    expectRefusal({ destination: 'ghcr.io/a/b:1' }, 400, 'invalid-body', 'source is required');
  });

  it('refuses a missing destination', () => {
    expectRefusal({ source: 'busybox' }, 400, 'invalid-body', 'destination is required');
  });

  it('refuses an empty object naming the first missing field', () => {
    expectRefusal({}, 400, 'invalid-body', 'source is required');
  });

  it('refuses empty strings', () => {
    expectRefusal({ source: '', destination: 'ghcr.io/a/b:1' }, 400, 'invalid-body', 'source must not be empty');
    expectRefusal({ source: 'busybox', destination: '' }, 400, 'invalid-body', 'destination must not be empty');
  });

  it('refuses numbers, null, objects and arrays as values', () => {
    expectRefusal({ source: 5, destination: 'ghcr.io/a/b:1' }, 400, 'invalid-body', 'source must be a string');
    expectRefusal({ source: 'busybox', destination: 5 }, 400, 'invalid-body', 'destination must be a string');
    expectRefusal({ source: null, destination: 'ghcr.io/a/b:1' }, 400, 'invalid-body', 'source must be a string');
    expectRefusal({ source: 'busybox', destination: { name: 'x' } }, 400, 'invalid-body', 'destination must be a string');
    expectRefusal({ source: ['busybox'], destination: 'ghcr.io/a/b:1' }, 400, 'invalid-body', 'source must be a string');
  });

  it('refuses one unknown key, naming it', () => {
    expectRefusal(
      { source: 'busybox', destination: 'ghcr.io/a/b:1', sorce: 'x' },
      400,
      'invalid-body',
      'unknown key "sorce": only "source" and "destination" are accepted',
    );
  });

  it('refuses several unknown keys, naming each', () => {
    expectRefusal(
      { source: 'busybox', destination: 'ghcr.io/a/b:1', id: 'x', image: 'y' },
      400,
      'invalid-body',
      'unknown keys "id", "image": only "source" and "destination" are accepted',
    );
  });

  it('refuses the server keys sent back (a record is not an input)', () => {
    const error = refusal({ source: 'busybox', destination: 'ghcr.io/a/b:1', status: 'synced' });
    expect(error.status).toBe(400);
    expect(error.detail).toContain('"status"');
  });

  it('refuses values over 1024 characters', () => {
    expectRefusal({ source: 'a'.repeat(1025), destination: 'ghcr.io/a/b:1' }, 400, 'invalid-body', 'source is longer than 1024 characters');
    expectRefusal({ source: 'busybox', destination: `ghcr.io/${'a'.repeat(1017)}` }, 400, 'invalid-body', 'destination is longer than 1024 characters');
  });
});

describe('parseImageSpec: references', () => {
  it.each([
    ['upper case', 'Busybox', 'invalid reference "Busybox": repository name must be lowercase'],
    ['a URL scheme', 'https://ghcr.io/a/b', 'invalid reference "https://ghcr.io/a/b": a reference has no URL scheme; remove "https://"'],
    ['an empty tag', 'busybox:', 'invalid reference "busybox:": empty tag after ":"'],
    ['a bad digest', 'busybox@sha256:abc', 'invalid reference "busybox@sha256:abc": invalid digest "sha256:abc": sha256 needs 64 hex digits, got 3'],
    ['a space', 'bad name', 'invalid reference "bad name": invalid character " " in path component "bad name"'],
  ])('refuses a source with %s as 400 invalid-source', (_, source, message) => {
    expectRefusal({ source, destination: 'ghcr.io/a/b:1' }, 400, 'invalid-source', `source: ${message}`);
  });

  it.each([
    ['upper case', 'ghcr.io/Team/b:1', 'invalid reference "ghcr.io/Team/b:1": repository name must be lowercase'],
    ['a URL scheme', 'http://ghcr.io/a/b', 'invalid reference "http://ghcr.io/a/b": a reference has no URL scheme; remove "http://"'],
    ['an invalid tag', 'ghcr.io/a/b:-x', 'invalid reference "ghcr.io/a/b:-x": invalid tag "-x": must start with a letter, digit or "_"'],
    ['a bad port', 'host:99999/a:1', 'invalid reference "host:99999/a:1": invalid port "99999" in registry "host:99999": above 65535'],
  ])('refuses a destination with %s as 400 invalid-destination', (_, destination, message) => {
    expectRefusal({ source: 'busybox', destination }, 400, 'invalid-destination', `destination: ${message}`);
  });

  it('reports the source first when both references are malformed', () => {
    expect(refusal({ source: 'Bad', destination: 'Bad' }).code).toBe('invalid-source');
  });

  it('refuses a destination pinned by digest', () => {
    const destination = `ghcr.io/a/b@${SHA}`;
    expectRefusal(
      { source: 'busybox', destination },
      400,
      'invalid-destination',
      `destination ${JSON.stringify(destination)} must be a tag, not a digest: the tag is what imagesync keeps current`,
    );
  });

  it('refuses a destination with both a tag and a digest', () => {
    const error = refusal({ source: 'busybox', destination: `ghcr.io/a/b:1@${SHA}` });
    expect([error.status, error.code]).toEqual([400, 'invalid-destination']);
  });

  it('accepts a source pinned by digest', () => {
    const spec = parseImageSpec({ source: `busybox@${SHA}`, destination: 'ghcr.io/a/b:1' }, ANY);
    expect(spec.sourceRef.digest).toBe(SHA);
    expect(spec.sourceRef.tag).toBeUndefined();
  });
});

describe('parseImageSpec: the allowlist', () => {
  const only = (...registries: string[]): InputPolicy => ({ allowed: (registry) => registries.includes(registry) });

  it('refuses a source registry outside the allowlist with 403', () => {
    const error = expectRefusal(
      { source: 'quay.io/a/b:1', destination: 'ghcr.io/a/b:1' },
      403,
      'registry-not-allowed',
      'source registry quay.io is not in IMAGESYNC_ALLOWED_REGISTRIES',
      only('ghcr.io'),
    );
    expect(error.title).toBe('Registry not allowed');
  });

  it('refuses a destination registry outside the allowlist with 403', () => {
    expectRefusal(
      { source: 'quay.io/a/b:1', destination: 'ghcr.io/a/b:1' },
      403,
      'registry-not-allowed',
      'destination registry ghcr.io is not in IMAGESYNC_ALLOWED_REGISTRIES',
      only('quay.io'),
    );
  });

  it('asks the allowlist about normalized registries (Docker Hub short names are docker.io)', () => {
    const asked: string[] = [];
    parseImageSpec({ source: 'busybox', destination: 'Registry.Example.com:5000/a:1' }, { allowed: (r) => (asked.push(r), true) });
    expect(asked).toEqual(['docker.io', 'registry.example.com:5000']);
  });

  it('accepts when both registries are allowed', () => {
    const spec = parseImageSpec({ source: 'quay.io/a/b:1', destination: 'ghcr.io/a/b:1' }, only('quay.io', 'ghcr.io'));
    expect(spec.destinationRef.registry).toBe('ghcr.io');
  });

  it('validates the references before the allowlist (a malformed reference is 400, not 403)', () => {
    expect(refusal({ source: 'Bad', destination: 'ghcr.io/a/b:1' }, only()).status).toBe(400);
  });
});

describe('parseImageSpec: a valid spec', () => {
  it('keeps source and destination exactly as given and fills the parsed references and id', () => {
    const spec = parseImageSpec({ source: 'registry.hub.docker.com/library/busybox:1.32', destination: 'GCR.io/my-private-registry/busybox:1.32' }, ANY);
    expect(spec.source).toBe('registry.hub.docker.com/library/busybox:1.32');
    expect(spec.destination).toBe('GCR.io/my-private-registry/busybox:1.32');
    expect(spec.sourceRef).toEqual({ registry: 'docker.io', repository: 'library/busybox', tag: '1.32' });
    expect(spec.destinationRef).toEqual({ registry: 'gcr.io', repository: 'my-private-registry/busybox', tag: '1.32' });
    expect(spec.id).toBe(recordId(parseReference('gcr.io/my-private-registry/busybox:1.32')));
  });

  it('fills the default tag in the parsed reference but not in the string', () => {
    const spec = parseImageSpec({ source: 'busybox', destination: 'ghcr.io/a/busybox' }, ANY);
    expect(spec.destination).toBe('ghcr.io/a/busybox');
    expect(spec.destinationRef.tag).toBe('latest');
  });

  it('gives the same id for two spellings of one destination', () => {
    const a = parseImageSpec({ source: 'alpine', destination: 'busybox' }, ANY);
    const b = parseImageSpec({ source: 'alpine', destination: 'docker.io/library/busybox:latest' }, ANY);
    expect(a.id).toBe(b.id);
    expect(a.destination).not.toBe(b.destination);
  });

  it('accepts values of exactly 1024 characters as far as length goes', () => {
    // 1024 characters passes the length check and reaches the reference parser (which then refuses the name length).
    const error = refusal({ source: 'a'.repeat(1024), destination: 'ghcr.io/a/b:1' });
    expect(error.code).toBe('invalid-source');
  });
});
