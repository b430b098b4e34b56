// The ACR profile's pure parts: which hosts it covers (the public and sovereign clouds), and the
// bound on scopes per token request its header limits call for.
import { describe, expect, it } from 'vitest';
import { acr, isAcr } from '../../../../lib/registry/profiles/acr.ts';
import { profileSelector } from '../../../../lib/registry/profiles/index.ts';
import { distribution } from '../../../../lib/registry/profiles/profile.ts';

describe('the ACR profile', () => {
  it.each([
    ['myregistry.azurecr.io', true],
    ['myregistry.azurecr.cn', true],
    ['myregistry.azurecr.us', true],
    ['myregistry.azurecr.io:443', true],
    ['MyRegistry.AzureCR.io', true],
    ['azurecr.io', false],
    ['myregistry.azurecr.io.example.com', false],
    ['myregistry.notazurecr.io', false],
    ['myregistry.azurecr.com', false],
  ])('%s is ACR: %s', (registry, expected) => {
    expect(isAcr(registry)).toBe(expected);
    expect(profileSelector()(registry).name === 'acr').toBe(expected);
  });

  it('asks at most 4 scopes a token request, fewer than the default, and otherwise behaves as distribution', () => {
    expect(acr.maxScopesPerToken).toBe(4);
    expect(acr.maxScopesPerToken).toBeLessThan(distribution.maxScopesPerToken);
    expect(acr).toEqual({ ...distribution, name: 'acr', maxScopesPerToken: 4 });
  });
});
