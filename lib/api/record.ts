// The record as the API shows it: exactly the documented keys, `source` and `destination` as
// sent, the server's keys only when they have a value (`error` only while failed).
import type { StoredRecord } from '../store/types.ts';

export interface PublicRecord {
  id: string;
  source: string;
  destination: string;
  image?: string;
  source_digest?: string;
  status: StoredRecord['status'];
  synced_at?: string;
  checked_at?: string;
  error?: string;
}

/** The keys the server adds to what the client sent: the Terraform module ignores exactly these. */
export const SERVER_KEYS = ['id', 'image', 'source_digest', 'status', 'synced_at', 'checked_at', 'error'] as const;

export function publicRecord(record: StoredRecord): PublicRecord {
  const out: PublicRecord = { id: record.id, source: record.source, destination: record.destination, status: record.status };
  if (record.image) out.image = record.image;
  if (record.source_digest) out.source_digest = record.source_digest;
  if (record.synced_at) out.synced_at = record.synced_at;
  if (record.checked_at) out.checked_at = record.checked_at;
  if (record.status === 'failed' && record.error) out.error = record.error;
  return out;
}
