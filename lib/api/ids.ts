// Record ids: deterministic from the normalized destination, so that every spelling of one
// destination (docker.io/library/x, x, index.docker.io/x:latest...) is one record, and URL-safe
// (Terraform's restapi joins the id into the URL without escaping).
import { createHash } from 'node:crypto';
import { formatReference, type Reference } from '../reference/reference.ts';

export function recordId(destination: Reference): string {
  // Only the tag names the destination; a digest on a destination is refused earlier.
  const name = formatReference({ registry: destination.registry, repository: destination.repository, tag: destination.tag });
  // 128 bits of SHA-256 in lower-case hex: [0-9a-f]{32}.
  return createHash('sha256').update(name).digest('hex').slice(0, 32);
}

export function isRecordId(value: string): boolean {
  return /^[0-9a-f]{32}$/.test(value);
}
