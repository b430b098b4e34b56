// Record ids (lib/api/ids.ts): deterministic from the normalized destination, URL-safe.
import { describe, expect, it } from 'vitest';
import { isRecordId, recordId } from '../../../lib/api/ids.ts';
import { parseReference } from '../../../lib/reference/reference.ts';

const id = (reference: string) => recordId(parseReference(reference));

describe('recordId', () => {
  it('is one id for every spelling of one Docker Hub destination', () => {
    const spellings = [
      'busybox',
      'busybox:latest',
      'library/busybox',
      'library/busybox:latest',
      'docker.io/busybox',
      'docker.io/library/busybox',
      'docker.io/library/busybox:latest',
      'index.docker.io/busybox',
      'index.docker.io/library/busybox:latest',
      'registry-1.docker.io/library/busybox',
      'registry.hub.docker.com/library/busybox:latest',
      'DOCKER.IO/busybox',
    ];
    const ids = new Set(spellings.map(id));
    expect(ids.size).toBe(1);
  });

  it('is one id whatever the case of a registry host', () => {
    expect(id('Registry.Example.com:5000/team/app:1.0')).toBe(id('registry.example.com:5000/team/app:1.0'));
  });

  it('is deterministic across calls', () => {
    expect(id('ghcr.io/team/app:1.0')).toBe(id('ghcr.io/team/app:1.0'));
  });

  it('is stable across releases (ids are stored keys: a new scheme would orphan every record)', () => {
    expect(id('busybox')).toBe('de68ccc327e508f44a3a150fc877a442');
    expect(id('localhost:5000/team/app:1.0')).toBe('50c339b7aa33a9598020c5af0089e341');
  });

  it('differs for different tags', () => {
    expect(id('busybox:1.36')).not.toBe(id('busybox:1.37'));
    expect(id('busybox:1.36')).not.toBe(id('busybox'));
  });

  it('differs for different registries, including another port', () => {
    expect(id('ghcr.io/library/busybox')).not.toBe(id('docker.io/library/busybox'));
    expect(id('localhost:5000/a:1')).not.toBe(id('localhost:5001/a:1'));
    expect(id('localhost:5000/a:1')).not.toBe(id('localhost/a:1'));
  });

  it('differs for different repositories', () => {
    expect(id('ghcr.io/team/a:1')).not.toBe(id('ghcr.io/team/b:1'));
    expect(id('busybox')).not.toBe(id('someone/busybox'));
    expect(id('ghcr.io/a/b/c:1')).not.toBe(id('ghcr.io/a/bc:1'));
  });

  it('ignores a digest: only registry, repository and tag name the destination', () => {
    const ref = parseReference('ghcr.io/team/app:1.0');
    expect(recordId({ ...ref, digest: `sha256:${'a'.repeat(64)}` })).toBe(recordId(ref));
  });

  it('is 32 lower-case hex digits: URL-safe without escaping', () => {
    for (const reference of ['busybox', 'ghcr.io/a/b:1.0', '[::1]:5000/x/y:z', 'localhost:5000/a__b/c-d:v1.2_3']) {
      const value = id(reference);
      expect(value).toMatch(/^[0-9a-f]{32}$/);
      expect(value).not.toMatch(/[/?#%]/);
      expect(encodeURIComponent(value)).toBe(value);
      expect(isRecordId(value)).toBe(true);
    }
  });
});

describe('isRecordId', () => {
  it('accepts 32 lower-case hex digits', () => {
    expect(isRecordId('0123456789abcdef0123456789abcdef')).toBe(true);
    expect(isRecordId('f'.repeat(32))).toBe(true);
  });

  it('refuses other lengths', () => {
    expect(isRecordId('')).toBe(false);
    expect(isRecordId('a'.repeat(31))).toBe(false);
    expect(isRecordId('a'.repeat(33))).toBe(false);
    expect(isRecordId('a'.repeat(64))).toBe(false);
  });

  it('refuses upper case and non-hex characters', () => {
    expect(isRecordId('A'.repeat(32))).toBe(false);
    expect(isRecordId(`${'a'.repeat(31)}g`)).toBe(false);
  });

  it('refuses anything that could escape a path or smuggle a store key', () => {
    expect(isRecordId(`../${'a'.repeat(29)}`)).toBe(false);
    expect(isRecordId(`${'a'.repeat(32)}\n`)).toBe(false);
    expect(isRecordId(` ${'a'.repeat(32)}`)).toBe(false);
    expect(isRecordId(`${'a'.repeat(16)}/${'a'.repeat(15)}`)).toBe(false);
  });
});
