// IMAGESYNC_ALLOWED_REGISTRIES (lib/config/allowlist.ts).
import { describe, expect, it } from 'vitest';
import { parseImageSpec } from '../../../lib/api/input.ts';
import { hostPatterns as registryAllowlist } from '../../../lib/config/host-patterns.ts';
import { parseReference } from '../../../lib/reference/reference.ts';

function allow(list: string): (registry: string) => boolean {
  const allowed = registryAllowlist(list);
  expect(allowed).toBeTypeOf('function');
  return allowed!;
}

describe('registryAllowlist', () => {
  it('is undefined (anything goes) when unset, empty or only separators', () => {
    expect(registryAllowlist(undefined)).toBeUndefined();
    expect(registryAllowlist('')).toBeUndefined();
    expect(registryAllowlist('   ')).toBeUndefined();
    expect(registryAllowlist(' , ,, ')).toBeUndefined();
  });

  it('allows a listed host and nothing else', () => {
    const allowed = allow('ghcr.io');
    expect(allowed('ghcr.io')).toBe(true);
    expect(allowed('quay.io')).toBe(false);
    expect(allowed('docker.io')).toBe(false);
  });

  it('does not treat a host as a suffix or prefix', () => {
    const allowed = allow('example.com');
    expect(allowed('evil-example.com')).toBe(false);
    expect(allowed('example.com.evil.net')).toBe(false);
    expect(allowed('sub.example.com')).toBe(false);
  });

  it('allows a host without port on any port', () => {
    const allowed = allow('registry.example.com');
    expect(allowed('registry.example.com:5000')).toBe(true);
    expect(allowed('registry.example.com:443')).toBe(true);
  });

  it('allows a host:port entry on that port only', () => {
    const allowed = allow('localhost:5000');
    expect(allowed('localhost:5000')).toBe(true);
    expect(allowed('localhost:5001')).toBe(false);
    expect(allowed('localhost')).toBe(false);
  });

  it('allows subdomains at any depth for *.example.com, not the apex', () => {
    const allowed = allow('*.example.com');
    expect(allowed('a.example.com')).toBe(true);
    expect(allowed('a.b.c.example.com')).toBe(true);
    expect(allowed('a.example.com:5000')).toBe(true);
    expect(allowed('example.com')).toBe(false);
    expect(allowed('badexample.com')).toBe(false);
    expect(allowed('a.example.com.evil.net')).toBe(false);
  });

  it('is case-insensitive on both sides', () => {
    expect(allow('GHCR.IO')('ghcr.io')).toBe(true);
    expect(allow('ghcr.io')('GHCR.io')).toBe(true);
    expect(allow('*.Example.COM')('Registry.example.com')).toBe(true);
  });

  it('takes several comma-separated entries, trimming spaces and skipping empty ones', () => {
    const allowed = allow(' ghcr.io , ,*.corp.example,localhost:5000 ,');
    expect(allowed('ghcr.io')).toBe(true);
    expect(allowed('r.corp.example')).toBe(true);
    expect(allowed('localhost:5000')).toBe(true);
    expect(allowed('quay.io')).toBe(false);
  });

  it('handles IPv6 with a port', () => {
    const allowed = allow('[::1]:5000');
    expect(allowed('[::1]:5000')).toBe(true);
    expect(allowed('[::1]:5001')).toBe(false);
    expect(allowed('[::1]')).toBe(false);
  });

  it('handles IPv6 without a port as any port', () => {
    const allowed = allow('[::1]');
    expect(allowed('[::1]')).toBe(true);
    expect(allowed('[::1]:5000')).toBe(true);
    expect(allowed('[::2]:5000')).toBe(false);
  });

  it('allows Docker Hub when listed as docker.io (the name references normalize to)', () => {
    expect(allow('docker.io')(parseReference('busybox').registry)).toBe(true);
  });

  // Regression (found by these tests, fixed): the allowlist compares entries with normalized registries (Docker Hub is always
  // "docker.io") but does not normalize its own entries. IMAGESYNC_ALLOWED_REGISTRIES=
  // registry.hub.docker.com (the host of the contract's own Terraform example) or
  // index.docker.io refuses every Docker Hub image with 403, including
  // "registry.hub.docker.com/library/busybox:1.32". Expected: Docker Hub aliases in the list
  // allow Docker Hub. Actual: allowed('docker.io') is false.
  it('allows Docker Hub when listed under another of its names (registry.hub.docker.com, index.docker.io)', () => {
    for (const alias of ['registry.hub.docker.com', 'index.docker.io', 'registry-1.docker.io']) {
      const allowed = allow(alias);
      expect(() =>
        parseImageSpec({ source: 'registry.hub.docker.com/library/busybox:1.32', destination: 'registry.hub.docker.com/me/busybox:1.32' }, { allowed }),
      ).not.toThrow();
    }
  });
});
