// The Artifact Registry / GCR profile's pure parts: which hosts it covers, and the policy its
// quirks call for (whole uploads only, no mounts, one repository a token).
import { describe, expect, it } from 'vitest';
import { gar, isGar } from '../../../../lib/registry/profiles/gar.ts';
import { profileSelector } from '../../../../lib/registry/profiles/index.ts';

describe('the Artifact Registry / GCR profile', () => {
  it.each([
    ['europe-docker.pkg.dev', true],
    ['europe-west1-docker.pkg.dev', true],
    ['us-docker.pkg.dev:443', true],
    ['Europe-Docker.PKG.dev', true],
    ['gcr.io', true],
    ['eu.gcr.io', true],
    ['asia.gcr.io:5000', true],
    // Look-alikes.
    ['docker.pkg.dev', false],
    ['europe-docker.pkg.dev.example.com', false],
    ['europe-docker.pkg.devx', false],
    ['notgcr.io', false],
    ['gcr.io.example.com', false],
    ['pkg.dev', false],
  ])('%s is Artifact Registry / GCR: %s', (registry, expected) => {
    expect(isGar(registry)).toBe(expected);
    expect(profileSelector()(registry).name === 'gar').toBe(expected);
  });

  it('uploads whole blobs and never chunks (no chunked uploads there)', () => {
    expect(gar.upload.mode).toBe('whole-only');
  });

  it('mounts nothing and asks one scope a token (tokens are per repository)', () => {
    expect(gar.crossRepositoryMount).toBe(false);
    expect(gar.maxScopesPerToken).toBe(1);
  });

  it('deletes through the v2 path (tag first, then the untagged image)', () => {
    expect(gar.removeImage).toBeUndefined();
  });
});
