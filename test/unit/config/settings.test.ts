// The environment read into settings (lib/config/settings.ts).
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lib/config/errors.ts';
import { duration, readSettings } from '../../../lib/config/settings.ts';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('readSettings', () => {
  it('has the documented defaults', () => {
    const settings = readSettings({});
    expect(settings.tokens).toEqual([]);
    expect(settings.table).toBe('imagesync');
    expect(settings.dataDir).toBe('.imagesync');
    expect(settings.allowed).toBeUndefined();
    expect(settings.checkIntervalMs).toBe(15 * 60_000);
    expect(settings.requestBudgetMs).toBe(50_000);
  });

  it('treats empty variables as unset', () => {
    const settings = readSettings({ IMAGESYNC_TABLE: '', IMAGESYNC_DATA_DIR: '', IMAGESYNC_CHECK_INTERVAL: '', IMAGESYNC_REQUEST_BUDGET: '', IMAGESYNC_ALLOWED_REGISTRIES: '', IMAGESYNC_API_TOKEN: '' });
    expect(settings.table).toBe('imagesync');
    expect(settings.dataDir).toBe('.imagesync');
    expect(settings.checkIntervalMs).toBe(900_000);
    expect(settings.requestBudgetMs).toBe(50_000);
    expect(settings.allowed).toBeUndefined();
    expect(settings.tokens).toEqual([]);
  });

  it('reads every variable', () => {
    const settings = readSettings({
      IMAGESYNC_API_TOKEN: 'old, new',
      IMAGESYNC_TABLE: 'mirror-prod',
      IMAGESYNC_DATA_DIR: '/var/lib/imagesync',
      IMAGESYNC_ALLOWED_REGISTRIES: 'ghcr.io,*.corp.example',
      IMAGESYNC_INSECURE_REGISTRIES: 'registry.lan:5000',
      IMAGESYNC_CHECK_INTERVAL: '1h',
      IMAGESYNC_REQUEST_BUDGET: '20s',
    });
    expect(settings.tokens).toEqual(['old', 'new']);
    expect(settings.table).toBe('mirror-prod');
    expect(settings.dataDir).toBe('/var/lib/imagesync');
    expect(settings.allowed?.('ghcr.io')).toBe(true);
    expect(settings.allowed?.('x.corp.example')).toBe(true);
    expect(settings.allowed?.('quay.io')).toBe(false);
    expect(settings.isInsecure('registry.lan:5000')).toBe(true);
    expect(settings.checkIntervalMs).toBe(3_600_000);
    expect(settings.requestBudgetMs).toBe(20_000);
  });

  it('reaches loopback registries over http by default, others over https', () => {
    const { isInsecure } = readSettings({});
    expect(isInsecure('localhost:5000')).toBe(true);
    expect(isInsecure('127.0.0.1:5000')).toBe(true);
    expect(isInsecure('ghcr.io')).toBe(false);
  });

  it('names the variable of a bad interval', () => {
    const error = configError(() => readSettings({ IMAGESYNC_CHECK_INTERVAL: '15 minutes' }));
    expect(error.message).toContain('IMAGESYNC_CHECK_INTERVAL');
    expect(error.message).toContain('"15 minutes"');
  });

  it('names the variable of a bad request budget', () => {
    expect(configError(() => readSettings({ IMAGESYNC_REQUEST_BUDGET: '0' })).message).toContain('IMAGESYNC_REQUEST_BUDGET');
  });
});

describe('duration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['1.5s', 1_500],
    ['0.5m', 30_000],
    ['90', 90_000],
    ['2.5', 2_500],
    [' 30s ', 30_000],
  ])('reads %j as %i ms', (text, ms) => {
    expect(duration('X', text, '15m')).toBe(ms);
  });

  it('uses the fallback when unset or empty', () => {
    expect(duration('X', undefined, '15m')).toBe(900_000);
    expect(duration('X', '', '50s')).toBe(50_000);
  });

  it('refuses zero, naming the variable', () => {
    for (const zero of ['0', '0s', '0ms', '0.0001s']) {
      const error = configError(() => duration('IMAGESYNC_CHECK_INTERVAL', zero, '15m'));
      expect(error.message).toBe('IMAGESYNC_CHECK_INTERVAL must be longer than zero');
    }
  });

  it('refuses a negative value', () => {
    expect(configError(() => duration('IMAGESYNC_CHECK_INTERVAL', '-1', '15m')).message).toBe(
      'IMAGESYNC_CHECK_INTERVAL must be a duration like 30s, 15m or 1h, not "-1"',
    );
  });

  it.each(['15 minutes', '15min', '1d', 'h', '1h30m', 'ten', '1e3', '.5s', '1,5s'])('refuses %j, naming the variable and the value', (text) => {
    const error = configError(() => duration('IMAGESYNC_REQUEST_BUDGET', text, '50s'));
    expect(error.message).toContain('IMAGESYNC_REQUEST_BUDGET');
    expect(error.message).toContain(JSON.stringify(text.trim()));
  });

  it('is a ConfigError (a one-line user mistake), named ConfigError', () => {
    const error = configError(() => duration('X', 'nope', '1s'));
    expect(error.name).toBe('ConfigError');
    expect(error.message).not.toContain('\n');
  });
});
