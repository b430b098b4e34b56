import { describe, expect, it } from 'vitest';
import { insecureHosts } from '../../../lib/config/insecure.ts';

describe('insecureHosts', () => {
  describe('loopback is always insecure, even with no list', () => {
    const isInsecure = insecureHosts(undefined);
    it.each(['127.0.0.1:5000', '127.0.0.1', 'localhost', 'localhost:5000', 'LOCALHOST:5000', '[::1]:5000', '[::1]', '127.1.2.3:80'])('%s', (host) => {
      expect(isInsecure(host)).toBe(true);
    });
  });

  describe('nothing else is insecure without a list', () => {
    const isInsecure = insecureHosts('');
    it.each([
      'registry.example',
      'docker.io',
      '128.0.0.1:5000',
      '10.0.0.1:5000',
      'localhost.example.com',
      'localhost.example.com:5000',
      '127.0.0.1.nip.io',
      '[::2]:5000',
      '[::ffff:7f00:1]:5000',
    ])('%s', (host) => {
      expect(isInsecure(host)).toBe(false);
    });
  });

  const isInsecure = insecureHosts(' Registry.Internal , mirror.lan:5000,*.example.com,,10.0.0.7 ');

  it.each<[host: string, insecure: boolean]>([
    // listed without a port: any port
    ['registry.internal', true],
    ['registry.internal:5000', true],
    ['REGISTRY.INTERNAL:443', true],
    ['registry.internal.evil.com', false],
    ['xregistry.internal', false],
    // listed with a port: only that port
    ['mirror.lan:5000', true],
    ['MIRROR.LAN:5000', true],
    ['mirror.lan', false],
    ['mirror.lan:5001', false],
    // wildcard: any subdomain, any port, not the apex nor look-alikes
    ['registry.example.com', true],
    ['a.b.example.com:8443', true],
    ['REGISTRY.EXAMPLE.COM', true],
    ['example.com', false],
    ['evil-example.com', false],
    ['example.com.evil.net', false],
    // IP address entry
    ['10.0.0.7', true],
    ['10.0.0.7:5000', true],
    ['10.0.0.70', false],
    // loopback still
    ['localhost:5000', true],
    // unrelated
    ['docker.io', false],
    ['ghcr.io', false],
  ])('%s → %s', (host, insecure) => {
    expect(isInsecure(host)).toBe(insecure);
  });

  it('an empty or comma-only list adds nothing', () => {
    for (const list of ['', ' ', ',', ' , ,']) {
      expect(insecureHosts(list)('registry.example')).toBe(false);
      expect(insecureHosts(list)('')).toBe(false);
    }
  });
});
