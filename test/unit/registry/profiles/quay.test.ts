// The Quay profile's pure parts: which hosts it covers, and that it keeps the distribution spec's
// policy (v2 tag deletion and 429s need nothing of its own).
import { describe, expect, it } from 'vitest';
import { profileSelector } from '../../../../lib/registry/profiles/index.ts';
import { distribution } from '../../../../lib/registry/profiles/profile.ts';
import { isQuay, quay } from '../../../../lib/registry/profiles/quay.ts';

describe('the Quay profile', () => {
  it.each([
    ['quay.io', true],
    ['quay.io:443', true],
    ['Quay.IO', true],
    ['quay.io.example.com', false],
    ['notquay.io', false],
    ['registry.quay.example', false],
  ])('%s is Quay: %s', (registry, expected) => {
    expect(isQuay(registry)).toBe(expected);
    expect(profileSelector()(registry).name === 'quay').toBe(expected);
  });

  it("keeps the distribution spec's uploads, mounts and scopes, and the usual retries for its 429s", () => {
    expect(quay).toEqual({ ...distribution, name: 'quay' });
    expect(quay.throttle).toBeUndefined();
    expect(quay.removeImage).toBeUndefined();
  });
});
