// Bearer tokens for /v1 (lib/api/auth.ts): rotation, exact matching, scheme handling, parsing.
import { describe, expect, it } from 'vitest';
import { tokenChecker } from '../../../lib/api/auth.ts';
import { parseTokens } from '../../../lib/config/settings.ts';

describe('tokenChecker', () => {
  const check = tokenChecker(['alpha-token', 'beta-token']);

  it('accepts every configured token (rotation)', () => {
    expect(check('Bearer alpha-token')).toBe(true);
    expect(check('Bearer beta-token')).toBe(true);
  });

  it('refuses a token that is not configured', () => {
    expect(check('Bearer gamma-token')).toBe(false);
  });

  it('refuses a prefix or an extension of a valid token', () => {
    expect(check('Bearer alpha-toke')).toBe(false);
    expect(check('Bearer alpha')).toBe(false);
    expect(check('Bearer alpha-tokenX')).toBe(false);
    expect(check('Bearer alpha-token-token')).toBe(false);
    expect(check('Bearer Alpha-token')).toBe(false);
  });

  it('takes the "Bearer" word in any case (RFC 7235 schemes are case-insensitive)', () => {
    expect(check('bearer alpha-token')).toBe(true);
    expect(check('BEARER alpha-token')).toBe(true);
    expect(check('BeArEr beta-token')).toBe(true);
  });

  it('tolerates several spaces after the scheme and trailing spaces', () => {
    expect(check('Bearer    alpha-token')).toBe(true);
    expect(check('Bearer alpha-token   ')).toBe(true);
  });

  it('refuses a second word after the token', () => {
    expect(check('Bearer alpha-token beta-token')).toBe(false);
    expect(check('Bearer alpha-token extra')).toBe(false);
  });

  it('refuses a missing or empty header, a bare scheme and a bare token', () => {
    expect(check(undefined)).toBe(false);
    expect(check('')).toBe(false);
    expect(check('Bearer')).toBe(false);
    expect(check('Bearer ')).toBe(false);
    expect(check('alpha-token')).toBe(false);
    expect(check('Beareralpha-token')).toBe(false);
  });

  it('refuses other schemes, even carrying a valid token', () => {
    expect(check('Basic alpha-token')).toBe(false);
    expect(check(`Basic ${Buffer.from('user:alpha-token').toString('base64')}`)).toBe(false);
    expect(check('Token alpha-token')).toBe(false);
  });

  it('with no token configured refuses everything', () => {
    const none = tokenChecker([]);
    expect(none('Bearer alpha-token')).toBe(false);
    expect(none('Bearer ')).toBe(false);
    expect(none('Bearer x')).toBe(false);
    expect(none(undefined)).toBe(false);
  });

  it('ignores empty entries: an empty token never opens the door', () => {
    const onlyEmpty = tokenChecker(['']);
    expect(onlyEmpty('Bearer ')).toBe(false);
    expect(onlyEmpty('Bearer x')).toBe(false);
    const mixed = tokenChecker(['', 'real']);
    expect(mixed('Bearer real')).toBe(true);
    expect(mixed('Bearer ')).toBe(false);
  });

  it('compares whole tokens of very different lengths correctly', () => {
    const long = 'x'.repeat(4096);
    const c = tokenChecker([long, 'y']);
    expect(c(`Bearer ${long}`)).toBe(true);
    expect(c(`Bearer ${long.slice(1)}`)).toBe(false);
    expect(c('Bearer y')).toBe(true);
  });
});

describe('parseTokens', () => {
  it('is empty when unset or empty', () => {
    expect(parseTokens(undefined)).toEqual([]);
    expect(parseTokens('')).toEqual([]);
    expect(parseTokens('   ')).toEqual([]);
    expect(parseTokens(' , ,, ')).toEqual([]);
  });

  it('splits on commas', () => {
    expect(parseTokens('one')).toEqual(['one']);
    expect(parseTokens('one,two,three')).toEqual(['one', 'two', 'three']);
  });

  it('trims spaces around each token', () => {
    expect(parseTokens('  one ,  two  ')).toEqual(['one', 'two']);
  });

  it('drops empty entries (leading, trailing, doubled commas)', () => {
    expect(parseTokens(',one,,two,')).toEqual(['one', 'two']);
  });

  it('keeps characters other than commas and surrounding space as part of the token', () => {
    expect(parseTokens('a=b/c+d')).toEqual(['a=b/c+d']);
  });

  it('feeds tokenChecker: every parsed token is accepted, the raw string is not', () => {
    const check = tokenChecker(parseTokens(' old , new '));
    expect(check('Bearer old')).toBe(true);
    expect(check('Bearer new')).toBe(true);
    expect(check('Bearer old,new')).toBe(false);
  });
});
