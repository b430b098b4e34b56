// The environment (docs/configuration.md), read once into typed settings with clear errors.
import { hostPatterns } from './host-patterns.ts';
import { insecureHosts } from './insecure.ts';
import type { Env } from './registry-auth.ts';
import { ConfigError } from './errors.ts';
import { DEFAULT_LIMITS, type CopyLimits } from '../copy/limits.ts';
import { DEFAULT_LEASE_MS, DEFAULT_SYNC_TIMEOUT_MS } from '../sync/engine.ts';
import { DEFAULT_STALL, type StallPolicy } from '../transport/stall.ts';
import { DEFAULT_PROFILE_SETTINGS, parseConfiguredProfiles, type ProfileSettings } from '../registry/profiles/index.ts';

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
  /** The longest one sync or deletion job may run (on Lambda, the invocation ends it sooner). */
  syncTimeoutMs: number;
  /** A stream that moves too little for this long has stalled: its host is named and the request ends. */
  stallTimeoutMs: number;
  /** After SIGTERM/SIGINT, how long `serve` lets running jobs finish before it stops them. */
  shutdownGraceMs: number;
  /** Bounds on one image: distinct manifests, and indexes nested in indexes. */
  limits: CopyLimits;
  /** What sets each registry family apart (lib/registry/profiles/), and their settings. */
  profiles: ProfileSettings;
}

export function readSettings(env: Env): Settings {
  return {
    tokens: parseTokens(env.IMAGESYNC_API_TOKEN),
    table: env.IMAGESYNC_TABLE || 'imagesync',
    dataDir: env.IMAGESYNC_DATA_DIR || '.imagesync',
    // Unset: every registry may be named (which addresses may be reached is the address guard's business).
    allowed: hostPatterns(env.IMAGESYNC_ALLOWED_REGISTRIES),
    isInsecure: insecureHosts(env.IMAGESYNC_INSECURE_REGISTRIES),
    checkIntervalMs: duration('IMAGESYNC_CHECK_INTERVAL', env.IMAGESYNC_CHECK_INTERVAL, '15m'),
    requestBudgetMs: duration('IMAGESYNC_REQUEST_BUDGET', env.IMAGESYNC_REQUEST_BUDGET, '50s'),
    leaseMs: duration('IMAGESYNC_SYNC_LEASE', env.IMAGESYNC_SYNC_LEASE, `${DEFAULT_LEASE_MS}ms`),
    syncTimeoutMs: duration('IMAGESYNC_SYNC_TIMEOUT', env.IMAGESYNC_SYNC_TIMEOUT, `${DEFAULT_SYNC_TIMEOUT_MS}ms`),
    stallTimeoutMs: stallPolicy(env).ms,
    shutdownGraceMs: duration('IMAGESYNC_SHUTDOWN_GRACE', env.IMAGESYNC_SHUTDOWN_GRACE, '10s'),
    limits: imageLimits(env),
    profiles: profileSettings(env),
  };
}

/**
 * IMAGESYNC_REGISTRY_PROFILES and the settings of the families that have some: ECR's repository
 * creation, the GitHub and Docker Hub APIs that delete there (the service and `copy`).
 */
export function profileSettings(env: Env): ProfileSettings {
  let configured: ProfileSettings['configured'];
  try {
    configured = parseConfiguredProfiles(env.IMAGESYNC_REGISTRY_PROFILES);
  } catch (error) {
    throw new ConfigError(`IMAGESYNC_REGISTRY_PROFILES: ${(error as Error).message}`);
  }
  const mutability = (env.IMAGESYNC_ECR_TAG_MUTABILITY || 'MUTABLE').toUpperCase();
  if (mutability !== 'MUTABLE' && mutability !== 'IMMUTABLE') throw new ConfigError(`IMAGESYNC_ECR_TAG_MUTABILITY must be MUTABLE or IMMUTABLE, not ${JSON.stringify(env.IMAGESYNC_ECR_TAG_MUTABILITY)}`);
  return {
    configured,
    ecr: {
      createRepositories: flag('IMAGESYNC_ECR_CREATE_REPOSITORIES', env.IMAGESYNC_ECR_CREATE_REPOSITORIES, true),
      tagMutability: mutability,
      scanOnPush: flag('IMAGESYNC_ECR_SCAN_ON_PUSH', env.IMAGESYNC_ECR_SCAN_ON_PUSH, false),
      kmsKey: env.IMAGESYNC_ECR_KMS_KEY || undefined,
    },
    ghcr: { apiUrl: apiUrl('IMAGESYNC_GITHUB_API_URL', env.IMAGESYNC_GITHUB_API_URL, DEFAULT_PROFILE_SETTINGS.ghcr.apiUrl) },
    dockerHub: { apiUrl: apiUrl('IMAGESYNC_DOCKER_HUB_API_URL', env.IMAGESYNC_DOCKER_HUB_API_URL, DEFAULT_PROFILE_SETTINGS.dockerHub.apiUrl) },
  };
}

/** true/false (also 1/0, yes/no). */
function flag(name: string, value: string | undefined, fallback: boolean): boolean {
  const text = (value ?? '').trim().toLowerCase();
  if (text === '') return fallback;
  if (['true', '1', 'yes'].includes(text)) return true;
  if (['false', '0', 'no'].includes(text)) return false;
  throw new ConfigError(`${name} must be true or false, not ${JSON.stringify(value)}`);
}

/** An http(s) URL without query or fragment; the trailing slash dropped. */
function apiUrl(name: string, value: string | undefined, fallback: string): string {
  const text = (value || fallback).trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`${name} must be a URL, not ${JSON.stringify(text)}`);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash) throw new ConfigError(`${name} must be an http(s) URL without query, not ${JSON.stringify(text)}`);
  return url.href.replace(/\/+$/, '');
}

/** IMAGESYNC_MAX_MANIFESTS and IMAGESYNC_MAX_INDEX_DEPTH: the bounds on one image (the service and `copy`). */
export function imageLimits(env: Env): CopyLimits {
  return {
    ...DEFAULT_LIMITS,
    maxManifests: count('IMAGESYNC_MAX_MANIFESTS', env.IMAGESYNC_MAX_MANIFESTS, DEFAULT_LIMITS.maxManifests, 100_000),
    maxDepth: count('IMAGESYNC_MAX_INDEX_DEPTH', env.IMAGESYNC_MAX_INDEX_DEPTH, DEFAULT_LIMITS.maxDepth, 16),
  };
}

/** IMAGESYNC_STALL_TIMEOUT: when a transfer has stalled (the service and `copy`). */
export function stallPolicy(env: Env): StallPolicy {
  return { ...DEFAULT_STALL, ms: duration('IMAGESYNC_STALL_TIMEOUT', env.IMAGESYNC_STALL_TIMEOUT, `${DEFAULT_STALL.ms}ms`) };
}

/** A whole number from 1 to `max`. */
export function count(name: string, value: string | undefined, fallback: number, max: number): number {
  const text = (value ?? '').trim();
  if (text === '') return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) throw new ConfigError(`${name} must be a whole number from 1 to ${max}, not ${JSON.stringify(text)}`);
  return Number(text);
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

/** IMAGESYNC_API_TOKEN: comma-separated, so a new token can be added before the old one goes. */
export function parseTokens(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}
