import { describe, expect, it } from 'vitest';
import { parseChallenges, type Challenge } from '../../../../lib/registry/auth/challenge.ts';

const bearer = (params: Record<string, string>): Challenge => ({ scheme: 'bearer', params });
const basic = (params: Record<string, string>): Challenge => ({ scheme: 'basic', params });

describe('parseChallenges', () => {
  it.each<[label: string, header: string, expected: Challenge[]]>([
    [
      'single Bearer with realm, service and scope',
      'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a:pull"',
      [bearer({ realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a:pull' })],
    ],
    [
      'Docker Hub (registry-1.docker.io) shape',
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      [bearer({ realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' })],
    ],
    [
      'Docker Hub /v2/ ping shape (no scope)',
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"',
      [bearer({ realm: 'https://auth.docker.io/token', service: 'registry.docker.io' })],
    ],
    [
      'GHCR shape',
      'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:user/image:pull"',
      [bearer({ realm: 'https://ghcr.io/token', service: 'ghcr.io', scope: 'repository:user/image:pull' })],
    ],
    [
      'distribution registry with htpasswd',
      'Basic realm="Registry Realm"',
      [basic({ realm: 'Registry Realm' })],
    ],
    [
      'several challenges in one header',
      'Bearer realm="a",service="b", Basic realm="c"',
      [bearer({ realm: 'a', service: 'b' }), basic({ realm: 'c' })],
    ],
    [
      'quoted value containing a comma (scope with several actions)',
      'Bearer realm="r",scope="repository:a:pull,push",error="insufficient_scope"',
      [bearer({ realm: 'r', scope: 'repository:a:pull,push', error: 'insufficient_scope' })],
    ],
    [
      'quoted value containing commas and escaped quotes',
      'Bearer realm="a,b",error="say \\"hi\\", ok"',
      [bearer({ realm: 'a,b', error: 'say "hi", ok' })],
    ],
    [
      'escaped backslash in a quoted value',
      'Bearer realm="a\\\\b"',
      [bearer({ realm: 'a\\b' })],
    ],
    [
      'unquoted token values',
      'Bearer realm=abc,service=def',
      [bearer({ realm: 'abc', service: 'def' })],
    ],
    [
      'mixed case scheme and parameter names (values keep their case)',
      'BEARER Realm="X-Realm" , SERVICE="My.Service"',
      [bearer({ realm: 'X-Realm', service: 'My.Service' })],
    ],
    [
      'extra spaces, tabs and empty list elements',
      ' ,  Bearer \t realm="a" ,  , service="b" ,, Basic realm="c" , ',
      [bearer({ realm: 'a', service: 'b' }), basic({ realm: 'c' })],
    ],
    [
      'spaces around "="',
      'Bearer realm = "x" , service = y',
      [bearer({ realm: 'x', service: 'y' })],
    ],
    [
      'empty quoted values',
      'Bearer realm="",service=""',
      [bearer({ realm: '', service: '' })],
    ],
    [
      'scheme with no params followed by another challenge',
      'Bearer, Basic realm=x',
      [bearer({}), basic({ realm: 'x' })],
    ],
    [
      'challenge ending in a bare scheme',
      'Bearer realm="x",  Basic',
      [bearer({ realm: 'x' }), basic({})],
    ],
    [
      'RFC 9110 example with an unknown scheme first',
      'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"',
      [
        { scheme: 'newauth', params: { realm: 'apps', type: '1', title: 'Login to "apps"' } },
        basic({ realm: 'simple' }),
      ],
    ],
    [
      'bare scheme only',
      'Negotiate',
      [{ scheme: 'negotiate', params: {} }],
    ],
  ])('%s', (_label, header, expected) => {
    expect(parseChallenges(header)).toEqual(expected);
  });

  it.each<[header: string, scheme: string, token68: string]>([
    ['Basic abc==', 'basic', 'abc=='],
    ['Basic abc=', 'basic', 'abc='],
    ['Basic dXNlcjpwYXNz', 'basic', 'dXNlcjpwYXNz'],
    ['Negotiate abcdef', 'negotiate', 'abcdef'],
  ])('token68: %s', (header, scheme, token68) => {
    expect(parseChallenges(header)).toEqual([{ scheme, params: {}, token68 }]);
  });

  it.each<[header: string, expected: Challenge[]]>([
    ['Basic abc==, Bearer realm="x"', [{ scheme: 'basic', params: {}, token68: 'abc==' }, bearer({ realm: 'x' })]],
    ['Negotiate abcdef, Basic realm="x"', [{ scheme: 'negotiate', params: {}, token68: 'abcdef' }, basic({ realm: 'x' })]],
  ])('token68 followed by another challenge: %s', (header, expected) => {
    expect(parseChallenges(header)).toEqual(expected);
  });

  // Regression (found by these tests, fixed): a bare scheme followed by a comma and another bare scheme takes that scheme as its token68:
  // parseChallenges('Basic, Bearer') gives [{basic, token68: 'Bearer'}] and loses the Bearer challenge.
  // Two WWW-Authenticate headers 'Negotiate' and 'NTLM' are joined by Headers.get() into exactly this shape.
  it.each<[header: string, expected: Challenge[]]>([
    ['Basic, Bearer', [basic({}), bearer({})]],
    ['Negotiate, NTLM', [{ scheme: 'negotiate', params: {} }, { scheme: 'ntlm', params: {} }]],
  ])('a bare scheme followed by another bare scheme: %s', (header, expected) => {
    expect(parseChallenges(header)).toEqual(expected);
  });

  // Regression (found by these tests, fixed): token68 allows "/" and "+" (RFC 9110 11.2: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/"),
  // but the parser reads it as a tchar token: 'Negotiate YII/abc+def==' gives
  // [{negotiate}, {scheme: 'yii'}] and drops the Basic challenge that follows.
  it('token68 containing "/" (base64)', () => {
    expect(parseChallenges('Negotiate YII/abc+def==, Basic realm="x"')).toEqual([
      { scheme: 'negotiate', params: {}, token68: 'YII/abc+def==' },
      basic({ realm: 'x' }),
    ]);
  });

  it.each(['', '   ', ' , , ', '"""', '=,=,=', '\u0000\u00ff', '()<>@', 'Bearer realm="unterminated', 'Bearer realm=', '"Bearer" realm'])(
    'garbage %j does not throw and gives only non-empty lower-case schemes',
    (header) => {
      const challenges = parseChallenges(header);
      expect(Array.isArray(challenges)).toBe(true);
      for (const c of challenges) {
        expect(c.scheme).toBe(c.scheme.toLowerCase());
        expect(c.scheme).not.toBe('');
      }
    },
  );

  it.each(['', '   ', ' , , ', '"""', '=,=,=', '\u0000\u00ff'])('input %j without any scheme yields no challenge', (header) => {
    expect(parseChallenges(header)).toEqual([]);
  });

  it('an unterminated quoted value takes the rest of the header', () => {
    expect(parseChallenges('Bearer realm="https://a/token')).toEqual([bearer({ realm: 'https://a/token' })]);
  });

  it('a long garbage header is parsed quickly (no quadratic or endless loop)', () => {
    const header = 'Bearer ' + 'a=,'.repeat(20_000) + '"'.repeat(1000);
    const started = performance.now();
    parseChallenges(header);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
