// The Harbor profile: chosen by configuration only (any host can run Harbor), and the distribution
// spec's policy otherwise (v2 deletion by digest, Basic credentials for robot accounts).
import { describe, expect, it } from 'vitest';
import { harbor } from '../../../../lib/registry/profiles/harbor.ts';
import { DEFAULT_PROFILE_SETTINGS, parseConfiguredProfiles, profileSelector } from '../../../../lib/registry/profiles/index.ts';
import { distribution } from '../../../../lib/registry/profiles/profile.ts';

describe('the Harbor profile', () => {
  it.each(['harbor.example.com', 'goharbor.io', 'demo.goharbor.io', 'registry.example.com:8443'])('is never chosen by host name (%s)', (registry) => {
    expect(profileSelector()(registry).name).toBe('distribution');
  });

  it('is chosen by IMAGESYNC_REGISTRY_PROFILES, for a host (any port) or a wildcard', () => {
    const select = profileSelector({ ...DEFAULT_PROFILE_SETTINGS, configured: parseConfiguredProfiles('harbor.example.com=harbor,*.corp.example=Harbor') });
    expect(select('harbor.example.com').name).toBe('harbor');
    expect(select('harbor.example.com:8443').name).toBe('harbor');
    expect(select('registry.corp.example').name).toBe('harbor');
    expect(select('corp.example').name).toBe('distribution');
  });

  it("keeps the distribution spec's policy and deletes through the v2 path", () => {
    expect(harbor).toEqual({ ...distribution, name: 'harbor' });
    expect(harbor.removeImage).toBeUndefined();
  });
});
