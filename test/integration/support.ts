// Shared setup for integration tests: the library's copy wired to the real Node transport,
// and assertions that read the destination back through the registry API.
import { expect } from 'vitest';
import { staticCredentials, type Credential } from '../../lib/auth/credentials.ts';
import { insecureHosts } from '../../lib/config/insecure.ts';
import type { CopyEvent } from '../../lib/copy/events.ts';
import { copyImage, type CopyResult } from '../../lib/copy/image.ts';
import { parseReference } from '../../lib/reference/reference.ts';
import { RegistryClients } from '../../lib/registry/client.ts';
import type { RetryEvent } from '../../lib/transport/retry.ts';
import { undiciTransport } from '../../functions/node/undici-transport.ts';
import type { PushedImage, PushedIndex, Target } from '../harness/images.ts';
import { getBlob, getManifest } from '../harness/registry-api.ts';

const transport = undiciTransport();

/** Short backoff so fault tests run fast; Retry-After is still honoured. */
const testRetry = { retries: 5, baseDelayMs: 20, maxDelayMs: 200, maxRetryAfterMs: 10_000 };

export interface CopyRun {
  result: CopyResult;
  events: CopyEvent[];
  retries: RetryEvent[];
}

export async function copy(
  source: string,
  destination: string,
  options: { credentials?: Record<string, Credential>; concurrency?: number } = {},
): Promise<CopyRun> {
  const events: CopyEvent[] = [];
  const retries: RetryEvent[] = [];
  const clients = new RegistryClients({
    transport,
    credentials: staticCredentials(new Map(Object.entries(options.credentials ?? {}))),
    isInsecure: insecureHosts(undefined),
    retry: testRetry,
    onRetry: (event) => retries.push(event),
  });
  const result = await copyImage(parseReference(source), parseReference(destination), {
    clients,
    concurrency: options.concurrency,
    onEvent: (event) => events.push(event),
  });
  return { result, events, retries };
}

/** The tag, every manifest and every blob at the destination equal the pushed image, byte for byte. */
export async function expectCopied(pushed: PushedImage | PushedIndex, source: Target, sourceRepo: string, dest: Target, destRepo: string, tag: string): Promise<void> {
  const top = await getManifest(dest, destRepo, tag);
  expect(top.status).toBe(200);
  expect(Buffer.from(top.bytes).equals(Buffer.from(pushed.manifest))).toBe(true);
  expect(top.digestHeader).toBe(pushed.digest);
  expect(top.contentType).toBe(pushed.mediaType);
  const images = 'children' in pushed ? pushed.children : [pushed];
  for (const image of images) {
    const child = await getManifest(dest, destRepo, image.digest);
    expect(child.status).toBe(200);
    expect(Buffer.from(child.bytes).equals(Buffer.from(image.manifest))).toBe(true);
    for (const blob of [image.config, ...image.layers]) {
      const copied = await getBlob(dest, destRepo, blob.digest);
      const original = await getBlob(source, sourceRepo, blob.digest);
      expect(copied, `blob ${blob.digest}`).toBeDefined();
      expect(Buffer.from(copied!).equals(Buffer.from(original!))).toBe(true);
    }
  }
}

export function blobOutcomes(events: CopyEvent[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of events) if (e.type === 'blob') counts[e.outcome] = (counts[e.outcome] ?? 0) + 1;
  return counts;
}
