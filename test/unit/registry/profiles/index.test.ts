// Which profile a registry gets: configured first (IMAGESYNC_REGISTRY_PROFILES), else by host
// name, else the distribution spec's.
import { describe, expect, it } from 'vitest';
import { DEFAULT_PROFILE_SETTINGS, parseConfiguredProfiles, profileSelector } from '../../../../lib/registry/profiles/index.ts';

const select = profileSelector();

describe('by host name', () => {
  it.each([
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com', 'ecr'],
    ['123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com', 'ecr'],
    ['123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn', 'ecr'],
    ['123456789012.dkr.ecr.eu-west-1.on.aws', 'ecr'],
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com:5000', 'ecr'],
    ['europe-west1-docker.pkg.dev', 'gar'],
    ['us-docker.pkg.dev', 'gar'],
    ['gcr.io', 'gar'],
    ['eu.gcr.io', 'gar'],
    ['ghcr.io', 'ghcr'],
    ['docker.io', 'dockerhub'],
    ['quay.io', 'quay'],
    ['myregistry.azurecr.io', 'acr'],
    ['myregistry.azurecr.cn', 'acr'],
    ['registry.example.com', 'distribution'],
    ['127.0.0.1:5000', 'distribution'],
    // Look-alikes stay plain distribution.
    ['dkr.ecr.us-east-1.amazonaws.com', 'distribution'],
    ['ghcr.io.example.com', 'distribution'],
    ['notgcr.io', 'distribution'],
    ['azurecr.io.evil.example', 'distribution'],
  ])('%s is %s', (registry, name) => {
    expect(select(registry).name).toBe(name);
  });

  it('gives each family its upload policy and mount rule', () => {
    expect(select('123456789012.dkr.ecr.us-east-1.amazonaws.com').upload).toMatchObject({ mode: 'stream', minChunk: 5 * 1024 * 1024, maxChunk: 10 * 1024 * 1024, maxChunks: 4200 });
    expect(select('ghcr.io').upload).toMatchObject({ maxChunk: 4 * 1024 * 1024 });
    expect(select('gcr.io').upload.mode).toBe('whole-only');
    expect(select('gcr.io').crossRepositoryMount).toBe(false);
    expect(select('registry.example.com').crossRepositoryMount).toBe(true);
  });
});

describe('IMAGESYNC_REGISTRY_PROFILES', () => {
  it('names the profile of a host, a host:port, or a wildcard, before the host name is looked at', () => {
    const configured = parseConfiguredProfiles('harbor.example.com=harbor, 127.0.0.1:5000=ghcr, *.corp.example=quay, ghcr.io=distribution');
    const chosen = profileSelector({ ...DEFAULT_PROFILE_SETTINGS, configured });
    expect(chosen('harbor.example.com').name).toBe('harbor');
    expect(chosen('harbor.example.com:8443').name).toBe('harbor');
    expect(chosen('127.0.0.1:5000').name).toBe('ghcr');
    expect(chosen('127.0.0.1:5001').name).toBe('distribution');
    expect(chosen('registry.corp.example').name).toBe('quay');
    expect(chosen('ghcr.io').name).toBe('distribution');
  });

  it.each([
    ['harbor.example.com', /is not host=profile/],
    ['=harbor', /is not host=profile/],
    ['harbor.example.com=nexus', /no profile "nexus" \(profiles: distribution, ecr, ghcr, gar, dockerhub, quay, acr, harbor\)/],
  ])('refuses %j', (list, message) => {
    expect(() => parseConfiguredProfiles(list)).toThrow(message);
  });

  it('is empty when unset', () => {
    expect(parseConfiguredProfiles(undefined)).toEqual([]);
    expect(parseConfiguredProfiles(' , ')).toEqual([]);
  });
});
