// The environment of CONTRACT.md, read once into typed settings with clear errors.
import { registryAllowlist } from './allowlist.ts';
import { insecureHosts } from './insecure.ts';
import type { Env } from './registry-auth.ts';
import { ConfigError } from './errors.ts';
import { parseTokens } from '../api/auth.ts';

export interface Settings {
  tokens: string[];
  table: string;
  dataDir: string;
  /** Registries that may be named; undefined: any. */
  allowed?: (registry: string) => boolean;
  isInsecure: (host: string) => boolean;
  checkIntervalMs: number;
  /** How long a request waits for a sync before answering 202. */
  requestBudgetMs: number;
  /** How long a sync lease lasts unrenewed: a dead worker's records wait this long. */
  leaseMs: number;
}

export function readSettings(env: Env): Settings {
  return {
    tokens: parseTokens(env.IMAGESYNC_API_TOKEN),
    table: env.IMAGESYNC_TABLE || 'imagesync',
    dataDir: env.IMAGESYNC_DATA_DIR || '.imagesync',
    allowed: registryAllowlist(env.IMAGESYNC_ALLOWED_REGISTRIES),
    isInsecure: insecureHosts(env.IMAGESYNC_INSECURE_REGISTRIES),
    checkIntervalMs: duration('IMAGESYNC_CHECK_INTERVAL', env.IMAGESYNC_CHECK_INTERVAL, '15m'),
    requestBudgetMs: duration('IMAGESYNC_REQUEST_BUDGET', env.IMAGESYNC_REQUEST_BUDGET, '50s'),
    leaseMs: duration('IMAGESYNC_SYNC_LEASE', env.IMAGESYNC_SYNC_LEASE, '60s'),
  };
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** `90s`, `15m`, `1h`, `500ms`, or plain seconds. */
export function duration(name: string, value: string | undefined, fallback: string): number {
  const text = (value || fallback).trim();
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  if (!match) throw new ConfigError(`${name} must be a duration like 30s, 15m or 1h, not ${JSON.stringify(text)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's']!;
  const ms = Math.round(Number(match[1]) * unit);
  if (ms <= 0) throw new ConfigError(`${name} must be longer than zero`);
  // Timers take at most 2^31-1 ms; beyond, Node fires them at once.
  if (ms > MAX_TIMER_MS) throw new ConfigError(`${name} must be at most 24 days`);
  return ms;
}
