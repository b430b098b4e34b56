import { describe, expect, it } from 'vitest';
import {
  basicAuthorization,
  CredentialsFileError,
  parseDockerConfig,
  staticCredentials,
  type Credential,
} from '../../../lib/auth/credentials.ts';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const notUtf8 = Buffer.from([0x75, 0x3a, 0xff, 0xfe, 0x53, 0x65, 0x63]).toString('base64');
const config = (auths: unknown) => JSON.stringify({ auths });

function thrown(fn: () => unknown): CredentialsFileError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CredentialsFileError);
    return err as CredentialsFileError;
  }
  throw new Error('expected CredentialsFileError, nothing was thrown');
}

describe('parseDockerConfig: entries', () => {
  it.each<[label: string, entry: unknown, expected: Credential]>([
    ['auth (base64 user:pass)', { auth: b64('alice:s3cret') }, { kind: 'basic', username: 'alice', password: 's3cret' }],
    ['auth with a password containing ":"', { auth: b64('alice:pa:ss:word') }, { kind: 'basic', username: 'alice', password: 'pa:ss:word' }],
    ['auth with an empty password', { auth: b64('alice:') }, { kind: 'basic', username: 'alice', password: '' }],
    ['auth with non-ASCII (UTF-8) text', { auth: b64('jörg:pässwörd€') }, { kind: 'basic', username: 'jörg', password: 'pässwörd€' }],
    ['auth with surrounding whitespace', { auth: `  ${b64('alice:pw')}\n` }, { kind: 'basic', username: 'alice', password: 'pw' }],
    ['username and password', { username: 'bob', password: 'hunter2' }, { kind: 'basic', username: 'bob', password: 'hunter2' }],
    ['auth wins over username and password', { auth: b64('alice:a'), username: 'bob', password: 'b' }, { kind: 'basic', username: 'alice', password: 'a' }],
    ['empty auth falls back to username and password', { auth: '', username: 'bob', password: 'b' }, { kind: 'basic', username: 'bob', password: 'b' }],
    ['identitytoken', { identitytoken: 'refresh-token' }, { kind: 'identity', username: undefined, token: 'refresh-token' }],
    [
      'identitytoken with the username from auth',
      { auth: b64('<token>:'), identitytoken: 'refresh-token' },
      { kind: 'identity', username: '<token>', token: 'refresh-token' },
    ],
    ['registrytoken', { registrytoken: 'bearer-token' }, { kind: 'registry', token: 'bearer-token' }],
    ['registrytoken wins over everything', { registrytoken: 'rt', identitytoken: 'it', auth: b64('a:b') }, { kind: 'registry', token: 'rt' }],
  ])('%s', (_label, entry, expected) => {
    const entries = parseDockerConfig(config({ 'registry.example': entry }));
    expect(entries.get('registry.example')).toEqual(expected);
    expect(entries.size).toBe(1);
  });

  it.each<[label: string, entry: unknown]>([
    ['only a username', { username: 'bob' }],
    ['only a password', { password: 'pw' }],
    ['an empty object', {}],
    ['an empty registrytoken and identitytoken', { registrytoken: '', identitytoken: '' }],
    ['non-string fields', { username: 1, password: true }],
    ['null', null],
    ['a string', 'alice:pw'],
  ])('an entry with %s gives no credential', (_label, entry) => {
    expect(parseDockerConfig(config({ 'registry.example': entry })).size).toBe(0);
  });

  it.each<[key: string, host: string]>([
    ['https://index.docker.io/v1/', 'docker.io'],
    ['index.docker.io', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['docker.io', 'docker.io'],
    ['http://localhost:5000', 'localhost:5000'],
    ['https://Registry.Example:8443/v2/', 'registry.example:8443'],
    ['registry.example/some/path', 'registry.example'],
    ['ghcr.io', 'ghcr.io'],
  ])('key %j is stored under %j', (key, host) => {
    const entries = parseDockerConfig(config({ [key]: { auth: b64('u:p') } }));
    expect([...entries.keys()]).toEqual([host]);
  });

  it('keeps several registries apart', () => {
    const entries = parseDockerConfig(
      config({
        'https://index.docker.io/v1/': { auth: b64('hub:1') },
        'ghcr.io': { username: 'gh', password: '2' },
        'localhost:5000': { registrytoken: 't' },
      }),
    );
    expect(Object.fromEntries(entries)).toEqual({
      'docker.io': { kind: 'basic', username: 'hub', password: '1' },
      'ghcr.io': { kind: 'basic', username: 'gh', password: '2' },
      'localhost:5000': { kind: 'registry', token: 't' },
    });
  });

  it.each(['{}', '{"credsStore":"desktop"}', '{"auths":{}}', '[]', '{"auths":null}'])('%s gives no entries', (text) => {
    expect(parseDockerConfig(text).size).toBe(0);
  });
});

describe('parseDockerConfig: errors', () => {
  it.each(['', 'not json', '{"auths": {"r": {"password": "TopSecret-1"', "{'auths': 1}"])('invalid JSON %j', (text) => {
    const error = thrown(() => parseDockerConfig(text, '/home/u/.docker/config.json'));
    expect(error.message).toContain('/home/u/.docker/config.json');
    expect(error.message).toContain('not valid JSON');
    expect(error.message).not.toContain('TopSecret-1');
  });

  it.each(['null', '42', '"text"', 'true'])('JSON %s that is not an object', (text) => {
    expect(thrown(() => parseDockerConfig(text)).message).toMatch(/JSON object/);
  });

  it.each(['"x"', '5', 'true'])('"auths" that is %s', (auths) => {
    expect(thrown(() => parseDockerConfig(`{"auths": ${auths}}`)).message).toMatch(/"auths" must be an object/);
  });

  it.each<[label: string, auth: string, secret: string]>([
    ['base64 without a colon', b64('TopSecretNoColon'), 'TopSecretNoColon'],
    ['not base64 at all', '!!TopSecret!!', 'TopSecret'],
    ['base64 of bytes that are not UTF-8', notUtf8, notUtf8],
  ])('bad "auth" (%s) names the entry but never the secret', (_label, auth, secret) => {
    const error = thrown(() => parseDockerConfig(config({ 'https://registry.example/v1/': { auth } }), 'auth.json'));
    expect(error.message).toContain('auth.json');
    expect(error.message).toContain('registry.example');
    expect(error.message).not.toContain(auth.trim());
    expect(error.message).not.toContain(secret);
  });
});

describe('staticCredentials', () => {
  const entries = parseDockerConfig(
    config({
      'https://index.docker.io/v1/': { auth: b64('hub:1') },
      'localhost:5000': { username: 'l', password: '2' },
    }),
  );
  const store = staticCredentials(entries);

  it.each<[registry: string, expected: Credential | undefined]>([
    ['docker.io', { kind: 'basic', username: 'hub', password: '1' }],
    ['localhost:5000', { kind: 'basic', username: 'l', password: '2' }],
    ['localhost', undefined], // host[:port] matched exactly, as Docker does
    ['localhost:5001', undefined],
    ['ghcr.io', undefined],
  ])('%s → %j', async (registry, expected) => {
    expect(await store(registry)).toEqual(expected);
  });
});

describe('basicAuthorization', () => {
  it.each<[user: string, password: string, expected: string]>([
    ['alice', 's3cret', `Basic ${b64('alice:s3cret')}`],
    ['Aladdin', 'open sesame', 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=='], // RFC 7617 example
    ['alice', 'pa:ss', `Basic ${b64('alice:pa:ss')}`],
    ['jörg', 'pässwörd€', 'Basic ' + Buffer.from('jörg:pässwörd€', 'utf8').toString('base64')],
    ['u', '🔑', 'Basic ' + Buffer.from('u:🔑', 'utf8').toString('base64')],
    ['', '', `Basic ${b64(':')}`],
  ])('%j / %j', (user, password, expected) => {
    expect(basicAuthorization(user, password)).toBe(expected);
  });

  it('encodes a non-ASCII password as UTF-8 bytes (decodes back to the same text)', () => {
    const header = basicAuthorization('user', 'Grüße, ☃');
    const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
    expect(decoded).toBe('user:Grüße, ☃');
  });

  it('round-trips through a config "auth" field', () => {
    const header = basicAuthorization('jörg', 'p:ä');
    const entries = parseDockerConfig(config({ r: { auth: header.slice('Basic '.length) } }));
    expect(entries.get('r')).toEqual({ kind: 'basic', username: 'jörg', password: 'p:ä' });
  });
});
