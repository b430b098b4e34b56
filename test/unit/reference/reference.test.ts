import { describe, expect, it } from 'vitest';
import {
  InvalidReferenceError,
  formatReference,
  hostWithoutPort,
  isDockerHub,
  isLoopbackHost,
  normalizeRegistryHost,
  parseReference,
  pinnedReference,
  registryApiHost,
  validateDigest,
  validateRepositoryPath,
  validateTag,
  digestProblem,
  repositoryProblem,
  tagProblem,
  type Reference,
} from '../../../lib/reference/reference.ts';

const HEX64 = 'a'.repeat(32) + '0123456789abcdef'.repeat(2);
const SHA = `sha256:${HEX64}`;
const SHA512 = `sha512:${'0123456789abcdef'.repeat(8)}`;

function thrown(fn: () => unknown): InvalidReferenceError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidReferenceError);
    return err as InvalidReferenceError;
  }
  throw new Error('expected InvalidReferenceError, nothing was thrown');
}

describe('parseReference: valid references', () => {
  const cases: Array<[input: string, expected: Reference]> = [
    // Docker Hub, familiar and canonical spellings
    ['busybox', { registry: 'docker.io', repository: 'library/busybox', tag: 'latest' }],
    ['busybox:1.32', { registry: 'docker.io', repository: 'library/busybox', tag: '1.32' }],
    ['library/busybox', { registry: 'docker.io', repository: 'library/busybox', tag: 'latest' }],
    ['docker.io/busybox', { registry: 'docker.io', repository: 'library/busybox', tag: 'latest' }],
    ['index.docker.io/library/busybox:1', { registry: 'docker.io', repository: 'library/busybox', tag: '1' }],
    ['registry.hub.docker.com/library/busybox:1.32', { registry: 'docker.io', repository: 'library/busybox', tag: '1.32' }],
    ['registry-1.docker.io/x/y', { registry: 'docker.io', repository: 'x/y', tag: 'latest' }],
    ['Docker.IO/busybox', { registry: 'docker.io', repository: 'library/busybox', tag: 'latest' }],
    ['docker.io/library/a/b', { registry: 'docker.io', repository: 'library/a/b', tag: 'latest' }],
    ['test_com/foo', { registry: 'docker.io', repository: 'test_com/foo', tag: 'latest' }],
    // a name without '/' is always a Docker Hub path, even when it looks like a host
    ['localhost:5000', { registry: 'docker.io', repository: 'library/localhost', tag: '5000' }],
    ['example.com', { registry: 'docker.io', repository: 'library/example.com', tag: 'latest' }],
    // localhost and ports
    ['localhost:5000/a', { registry: 'localhost:5000', repository: 'a', tag: 'latest' }],
    ['localhost/a', { registry: 'localhost', repository: 'a', tag: 'latest' }],
    ['localhost:5000/a:tag', { registry: 'localhost:5000', repository: 'a', tag: 'tag' }],
    ['LOCALHOST:5000/a', { registry: 'localhost:5000', repository: 'a', tag: 'latest' }],
    ['LocalHost/a', { registry: 'localhost', repository: 'a', tag: 'latest' }],
    ['127.0.0.1:5000/a/b/c:tag', { registry: '127.0.0.1:5000', repository: 'a/b/c', tag: 'tag' }],
    ['host:5000/a', { registry: 'host:5000', repository: 'a', tag: 'latest' }],
    ['test-com:8080/foo', { registry: 'test-com:8080', repository: 'foo', tag: 'latest' }],
    ['a/b:5000', { registry: 'docker.io', repository: 'a/b', tag: '5000' }],
    ['example.com/a/b/c/d', { registry: 'example.com', repository: 'a/b/c/d', tag: 'latest' }],
    ['xn--n3h.com:18080/foo', { registry: 'xn--n3h.com:18080', repository: 'foo', tag: 'latest' }],
    ['EXAMPLE.com/a', { registry: 'example.com', repository: 'a', tag: 'latest' }],
    // IPv6
    ['[::1]:5000/a:t', { registry: '[::1]:5000', repository: 'a', tag: 't' }],
    ['[fc00::1]/a', { registry: '[fc00::1]', repository: 'a', tag: 'latest' }],
    ['[FC00:1:2:3:4:5:6:7]:5000/library/debian', { registry: '[fc00:1:2:3:4:5:6:7]:5000', repository: 'library/debian', tag: 'latest' }],
    // digests
    [`gcr.io/proj/img@${SHA}`, { registry: 'gcr.io', repository: 'proj/img', digest: SHA }],
    [`quay.io/a/b:t@${SHA}`, { registry: 'quay.io', repository: 'a/b', tag: 't', digest: SHA }],
    [`busybox:latest@${SHA}`, { registry: 'docker.io', repository: 'library/busybox', tag: 'latest', digest: SHA }],
    [`localhost:5000/a@${SHA512}`, { registry: 'localhost:5000', repository: 'a', digest: SHA512 }],
    ['a@sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564', { registry: 'docker.io', repository: 'library/a', digest: 'sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564' }],
    // path component separators
    ['a__b', { registry: 'docker.io', repository: 'library/a__b', tag: 'latest' }],
    ['a--b', { registry: 'docker.io', repository: 'library/a--b', tag: 'latest' }],
    ['a---b/c', { registry: 'docker.io', repository: 'a---b/c', tag: 'latest' }],
    ['a.b', { registry: 'docker.io', repository: 'library/a.b', tag: 'latest' }],
    ['a_b.c-d__e', { registry: 'docker.io', repository: 'library/a_b.c-d__e', tag: 'latest' }],
    ['d/t', { registry: 'docker.io', repository: 'd/t', tag: 'latest' }],
    // tags
    ['a:_x', { registry: 'docker.io', repository: 'library/a', tag: '_x' }],
    ['a:V1.2-rc_3', { registry: 'docker.io', repository: 'library/a', tag: 'V1.2-rc_3' }],
    [`a:${'t'.repeat(128)}`, { registry: 'docker.io', repository: 'library/a', tag: 't'.repeat(128) }],
    // a 63-char hex name is a name, only exactly 64 hex chars is an image id
    ['0123456789abcdef'.repeat(4).slice(1), { registry: 'docker.io', repository: `library/${'0123456789abcdef'.repeat(4).slice(1)}`, tag: 'latest' }],
    [`docker.io/${HEX64}`, { registry: 'docker.io', repository: `library/${HEX64}`, tag: 'latest' }],
    // name of exactly 255 characters
    [`example.com/${'a'.repeat(243)}`, { registry: 'example.com', repository: 'a'.repeat(243), tag: 'latest' }],
  ];

  it.each(cases)('%s', (input, expected) => {
    expect(parseReference(input)).toStrictEqual(expected);
  });

  it.each(cases)('round-trips %s through formatReference', (input) => {
    const ref = parseReference(input);
    expect(parseReference(formatReference(ref))).toStrictEqual(ref);
  });
});

describe('parseReference: invalid references', () => {
  const cases: Array<[input: string, reason: string]> = [
    ['', 'empty reference'],
    // upper case in the repository path
    ['Foo/bar', 'repository name must be lowercase'],
    ['docker.io/Foo', 'repository name must be lowercase'],
    ['docker/Docker', 'repository name must be lowercase'],
    ['Busybox', 'repository name must be lowercase'],
    ['example.com/a/B:t', 'repository name must be lowercase'],
    // slashes
    ['a//b', 'empty path component (repeated "/")'],
    ['a/', 'repository path must not end with "/"'],
    ['/a', 'repository path must not start with "/"'],
    ['example.com/', 'missing repository path after registry "example.com"'],
    ['[::1]:5000', 'missing repository path after registry "[::1]:5000"'],
    // path components
    ['a___b', 'invalid separator "___" in path component "a___b"'],
    ['a..b', 'invalid separator ".." in path component "a..b"'],
    ['a-.b', 'invalid separator "-." in path component "a-.b"'],
    ['a-', 'path component "a-" must start and end with a letter or digit'],
    ['-a', 'path component "-a" must start and end with a letter or digit'],
    ['_a/b', 'path component "_a" must start and end with a letter or digit'],
    ['a b', 'invalid character " " in path component "a b"'],
    ['a/b c:t', 'invalid character " " in path component "b c"'],
    [' busybox', 'invalid character " " in path component " busybox"'],
    ['a/b!', 'invalid character "!" in path component "b!"'],
    // tags
    [':tag', 'missing repository name before ":"'],
    ['a:', 'empty tag after ":"'],
    ['a:b:c', 'invalid tag "b:c"'],
    ['a:-bad', 'invalid tag "-bad": must start with a letter, digit or "_"'],
    ['a:.bad', 'invalid tag ".bad": must start with a letter, digit or "_"'],
    ['a:b c', 'invalid tag "b c": invalid character " "'],
    [`a:${'t'.repeat(129)}`, 'longer than 128 characters (129)'],
    // digests
    ['a@', 'empty digest after "@"'],
    ['@' + SHA, 'missing repository name before "@"'],
    ['a@sha256:short', 'invalid digest "sha256:short": sha256 needs 64 hex digits; "s" is not a hex digit'],
    ['a@sha256:abc', 'invalid digest "sha256:abc": sha256 needs 64 hex digits, got 3'],
    [`a@sha256:${HEX64.toUpperCase()}`, 'sha256 hex digits must be lower-case'],
    [`a@sha256:${HEX64}0`, 'sha256 needs 64 hex digits, got 65'],
    [`a@sha512:${HEX64}`, 'sha512 needs 128 hex digits, got 64'],
    [`a@SHA256:${HEX64}`, 'algorithm must be written "sha256"'],
    [`a@${HEX64}`, 'expected "algorithm:encoded"'],
    [`a@:${HEX64}`, 'missing algorithm before ":"'],
    [`a@1sha:${HEX64}`, 'invalid algorithm "1sha"'],
    ['a@sha256:', 'missing encoded value after ":"'],
    ['a@foo:a/b', 'invalid character "/" in encoded value'],
    [`a@${SHA}@${SHA}`, 'invalid character "@" in encoded value'],
    // registries
    ['https://example.com/a', 'a reference has no URL scheme; remove "https://"'],
    ['http://localhost:5000/a:t', 'remove "http://"'],
    ['host:port/x', 'invalid port "port" in registry "host:port"'],
    ['host:/x', 'empty port in registry "host:"'],
    ['host:99999/x', 'invalid port "99999" in registry "host:99999": above 65535'],
    ['a:tag/b', 'invalid port "tag" in registry "a:tag"'],
    ['fc00::1:5000/debian', 'too many ":" in registry "fc00::1:5000"'],
    ['[fe80::1%eth0]:5000/debian', 'invalid IPv6 address "[fe80::1%eth0]"'],
    ['[2001:db8::192.0.2.33]:5000/debian', 'invalid IPv6 address "[2001:db8::192.0.2.33]"'],
    ['[::1/a', 'unclosed "[" in registry "[::1"'],
    ['[::1]x/a', 'unexpected "x" after IPv6 address'],
    ['-docker.io/docker/docker', 'label "-docker" of registry host "-docker.io" must not start or end with "-"'],
    ['example..com/a', 'empty label (leading, trailing or repeated ".") in registry host "example..com"'],
    ['.example.com/a', 'empty label'],
    ['exa_mple.com/a', 'invalid character "_" in registry host "exa_mple.com"'],
    [':5000/a', 'empty host in registry ":5000"'],
    // image ids and lengths
    [HEX64, 'a 64-character hex string is an image id, not a repository name'],
    [`example.com/${'a'.repeat(244)}`, 'name longer than 255 characters'],
    [`${'a'.repeat(238)}`, 'name longer than 255 characters'], // 'docker.io/library/' makes it 256
  ];

  it.each(cases)('%j', (input, reason) => {
    const err = thrown(() => parseReference(input));
    expect(err.input).toBe(input);
    expect(err.reason).toContain(reason);
    expect(err.message).toContain(reason);
    expect(err.message.startsWith('invalid reference "')).toBe(true);
    expect(err.name).toBe('InvalidReferenceError');
  });

  it('names the input and the reason in the message', () => {
    expect(() => parseReference('Foo/bar')).toThrow('invalid reference "Foo/bar": repository name must be lowercase');
    expect(() => parseReference('a:b:c')).toThrow('invalid reference "a:b:c": invalid tag "b:c"');
    expect(() => parseReference('a@sha256:abc')).toThrow(
      'invalid reference "a@sha256:abc": invalid digest "sha256:abc": sha256 needs 64 hex digits',
    );
  });

  it('never says just "invalid"', () => {
    for (const [input] of cases) {
      expect(thrown(() => parseReference(input)).reason.length).toBeGreaterThan(12);
    }
  });

  it('shortens very long inputs in the message but keeps them in .input', () => {
    const input = `a:${'t'.repeat(300)}`;
    const err = thrown(() => parseReference(input));
    expect(err.input).toBe(input);
    expect(err.message.length).toBeLessThan(300);
  });
});

describe('parseReference options', () => {
  it.each([
    ['busybox', 'stable', { registry: 'docker.io', repository: 'library/busybox', tag: 'stable' }],
    ['busybox:1', 'stable', { registry: 'docker.io', repository: 'library/busybox', tag: '1' }],
    [`busybox@${SHA}`, 'stable', { registry: 'docker.io', repository: 'library/busybox', digest: SHA }],
  ] as const)('%s with defaultTag %s', (input, defaultTag, expected) => {
    expect(parseReference(input, { defaultTag })).toStrictEqual(expected);
  });

  it('rejects an invalid default tag', () => {
    expect(thrown(() => parseReference('busybox', { defaultTag: '-x' })).reason).toBe('invalid default tag "-x"');
  });
});

describe('normalizeRegistryHost', () => {
  it.each([
    ['https://index.docker.io/v1/', 'docker.io'],
    ['index.docker.io', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['https://registry-1.docker.io/v2/', 'docker.io'],
    ['registry.hub.docker.com', 'docker.io'],
    ['docker.io', 'docker.io'],
    ['http://localhost:5000', 'localhost:5000'],
    ['localhost:5000', 'localhost:5000'],
    ['Quay.IO', 'quay.io'],
    ['https://ghcr.io', 'ghcr.io'],
    ['https://user@Example.com:8443/path?x=1', 'example.com:8443'],
    ['  gcr.io  ', 'gcr.io'],
    ['[::1]:5000', '[::1]:5000'],
  ])('%j → %j', (input, expected) => {
    expect(normalizeRegistryHost(input)).toBe(expected);
  });

  it('agrees with parseReference on the registry', () => {
    for (const input of ['index.docker.io/a/b', 'LOCALHOST:5000/a', 'Quay.IO/a/b', 'registry-1.docker.io/x/y']) {
      const host = input.slice(0, input.indexOf('/'));
      expect(normalizeRegistryHost(host)).toBe(parseReference(input).registry);
    }
  });
});

describe('registryApiHost', () => {
  it.each([
    ['docker.io', 'registry-1.docker.io'],
    ['index.docker.io', 'registry-1.docker.io'],
    ['quay.io', 'quay.io'],
    ['localhost:5000', 'localhost:5000'],
    ['[::1]:5000', '[::1]:5000'],
  ])('%s → %s', (registry, expected) => {
    expect(registryApiHost(registry)).toBe(expected);
  });

  it('isDockerHub knows every spelling', () => {
    expect(['docker.io', 'Index.Docker.io', 'registry-1.docker.io', 'registry.hub.docker.com'].every(isDockerHub)).toBe(true);
    expect(isDockerHub('docker.io:443')).toBe(false);
    expect(isDockerHub('quay.io')).toBe(false);
  });
});

describe('formatReference', () => {
  it.each<[Reference, string]>([
    [{ registry: 'docker.io', repository: 'library/busybox', tag: '1.32' }, 'docker.io/library/busybox:1.32'],
    [{ registry: 'host:5000', repository: 'a/b', digest: SHA }, `host:5000/a/b@${SHA}`],
    [{ registry: 'host', repository: 'a', tag: 'tag', digest: SHA }, `host/a:tag@${SHA}`],
    [{ registry: '[::1]:5000', repository: 'a', tag: 't' }, '[::1]:5000/a:t'],
    [{ registry: 'quay.io', repository: 'a' }, 'quay.io/a'],
  ])('%j → %s', (ref, expected) => {
    expect(formatReference(ref)).toBe(expected);
  });

  it('produces the canonical form of familiar names', () => {
    expect(formatReference(parseReference('busybox'))).toBe('docker.io/library/busybox:latest');
    expect(formatReference(parseReference('index.docker.io/x/y:1'))).toBe('docker.io/x/y:1');
  });
});

describe('pinnedReference', () => {
  it('drops the tag and uses the given digest', () => {
    expect(pinnedReference(parseReference('quay.io/a/b:t'), SHA)).toBe(`quay.io/a/b@${SHA}`);
    expect(pinnedReference(parseReference(`busybox:1@${SHA512}`), SHA)).toBe(`docker.io/library/busybox@${SHA}`);
  });

  it('rejects a malformed digest', () => {
    expect(thrown(() => pinnedReference(parseReference('a'), 'sha256:abc')).reason).toContain('sha256 needs 64 hex digits');
  });
});

describe('validateTag and validateDigest', () => {
  it('return valid values', () => {
    expect(validateTag('v1.0')).toBe('v1.0');
    expect(validateDigest(SHA)).toBe(SHA);
  });

  it('throw with the reason', () => {
    expect(thrown(() => validateTag('-x')).reason).toContain('must start with a letter, digit or "_"');
    expect(thrown(() => validateDigest('sha256:xyz')).reason).toContain('"x" is not a hex digit');
  });
});

describe('path components from registries: validateRepositoryPath, digestProblem, tagProblem, repositoryProblem', () => {
  it.each(['a', 'library/busybox', 'team/app', 'a/b/c/d', 'my-app_2/x.y', 'a__b/c---d', 'x'.repeat(255)])('accepts the repository %j', (repository) => {
    expect(validateRepositoryPath(repository)).toBe(repository);
    expect(repositoryProblem(repository)).toBeUndefined();
  });

  it.each<[repository: string, reason: RegExp]>([
    ['', /empty repository name/],
    ['..', /must start and end with a letter or digit/],
    ['a/../b', /must start and end with a letter or digit/],
    ['a/./b', /must start and end with a letter or digit/],
    ['/a', /must not start with "\/"/],
    ['a/', /must not end with "\/"/],
    ['a//b', /repeated "\/"/],
    ['a/b?x=1', /invalid character "\?"/],
    ['a/b#f', /invalid character "#"/],
    ['a%2fb', /invalid character "%"/],
    ['a b', /invalid character " "/],
    ['A/b', /lowercase/],
    ['a\nb', /invalid character/],
    ['a:tag', /invalid character ":"/],
    ['a@sha256', /invalid character "@"/],
    ['x'.repeat(256), /longer than 255 characters \(256\)/],
  ])('refuses the repository %j', (repository, reason) => {
    expect(repositoryProblem(repository)).toMatch(reason);
    const error = thrown(() => validateRepositoryPath(repository));
    expect(error.reason).toMatch(reason);
  });

  it.each<[tag: string, reason: RegExp | undefined]>([
    ['v1', undefined],
    ['_x', undefined],
    ['1.2.3-rc.1_b', undefined],
    ['a'.repeat(128), undefined],
    ['', /empty tag/],
    ['..', /must start with a letter, digit or "_"/],
    ['../x', /invalid character "\/"/],
    ['a/b', /invalid character "\/"/],
    ['x?y', /invalid character "\?"/],
    ['sha256:abc', /invalid character ":"/],
    ['-x', /must start with/],
    ['a'.repeat(129), /longer than 128 characters/],
  ])('tagProblem(%j)', (tagValue, reason) => {
    if (reason === undefined) expect(tagProblem(tagValue)).toBeUndefined();
    else expect(tagProblem(tagValue)).toMatch(reason);
  });

  it.each<[digest: string, reason: RegExp | undefined]>([
    [SHA, undefined],
    [SHA512, undefined],
    // The grammar alone allows algorithms it cannot check; util/digest refuses those.
    ['sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564', undefined],
    [`${SHA}/../../x`, /invalid character "\/"/],
    ['sha256:', /missing encoded value/],
    [':abc', /missing algorithm/],
    ['abc', /algorithm:encoded/],
    ['', /empty digest/],
  ])('digestProblem(%j)', (digest, reason) => {
    if (reason === undefined) expect(digestProblem(digest)).toBeUndefined();
    else expect(digestProblem(digest)).toMatch(reason);
  });

  it('gives each call its own reason (no state kept between calls)', () => {
    expect(tagProblem('a/b')).toMatch(/"\/"/);
    expect(tagProblem('a?b')).toMatch(/"\?"/);
  });
});

describe('isLoopbackHost and hostWithoutPort', () => {
  it.each([
    ['localhost', true],
    ['localhost:5000', true],
    ['LOCALHOST:5000', true],
    ['127.0.0.1', true],
    ['127.0.0.1:5000', true],
    ['127.255.3.4:80', true],
    ['[::1]', true],
    ['[::1]:5000', true],
    ['[0:0:0:0:0:0:0:1]:5000', true],
    ['[0000::0001]', true],
    ['127.256.0.1', false],
    ['127.0.0', false],
    ['128.0.0.1', false],
    ['10.0.0.1:5000', false],
    ['[::2]', false],
    ['[::]', false],
    ['[1::1]', false],
    ['[:::1]', false],
    ['localhost.example.com', false],
    ['mylocalhost', false],
    ['docker.io', false],
    ['', false],
  ])('isLoopbackHost(%j) = %s', (registry, expected) => {
    expect(isLoopbackHost(registry)).toBe(expected);
  });

  it.each([
    ['localhost:5000', 'localhost'],
    ['localhost', 'localhost'],
    ['[::1]:5000', '[::1]'],
    ['[::1]', '[::1]'],
    ['example.com:443', 'example.com'],
  ])('hostWithoutPort(%j) = %j', (registry, expected) => {
    expect(hostWithoutPort(registry)).toBe(expected);
  });
});
