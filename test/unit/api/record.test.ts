// The record as the API shows it (lib/api/record.ts): exactly the documented keys.
import { describe, expect, it } from 'vitest';
import { SERVER_KEYS, publicRecord } from '../../../lib/api/record.ts';
import type { StoredRecord } from '../../../lib/store/types.ts';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const INTERNAL = ['version', 'lease_owner', 'lease_until', 'lease_generation', 'generation', 'pending_digest', 'created_at', 'updated_at', 'cleanup'];

function stored(overrides: Partial<StoredRecord> = {}): StoredRecord {
  return {
    id: '0123456789abcdef0123456789abcdef',
    source: 'registry.hub.docker.com/library/busybox:1.32',
    destination: 'gcr.io/my-private-registry/busybox:1.32',
    image: `gcr.io/my-private-registry/busybox@${DIGEST}`,
    source_digest: DIGEST,
    status: 'synced',
    synced_at: '2026-11-27T10:00:00Z',
    checked_at: '2026-11-27T10:15:00Z',
    version: 7,
    created_at: '2026-11-27T09:59:00Z',
    updated_at: '2026-11-27T10:15:00Z',
    lease_owner: 'worker-1',
    lease_until: 1_800_000_000_000,
    cleanup: { repository: 'my-private-registry/busybox', images: [{ digest: DIGEST, manifests: [DIGEST], blobs: [] }], untag: '1.32' },
    generation: 3,
    lease_generation: 3,
    pending_digest: DIGEST,
    ...overrides,
  };
}

describe('SERVER_KEYS', () => {
  it('is exactly the list of docs/records.md (the Terraform module ignores these)', () => {
    expect([...SERVER_KEYS]).toEqual(['id', 'image', 'source_digest', 'status', 'synced_at', 'checked_at', 'error']);
  });
});

describe('publicRecord', () => {
  it('shows a synced record with exactly the documented keys and values', () => {
    expect(publicRecord(stored())).toStrictEqual({
      id: '0123456789abcdef0123456789abcdef',
      source: 'registry.hub.docker.com/library/busybox:1.32',
      destination: 'gcr.io/my-private-registry/busybox:1.32',
      image: `gcr.io/my-private-registry/busybox@${DIGEST}`,
      source_digest: DIGEST,
      status: 'synced',
      synced_at: '2026-11-27T10:00:00Z',
      checked_at: '2026-11-27T10:15:00Z',
    });
  });

  it('never shows internal bookkeeping, whatever the status', () => {
    for (const status of ['synced', 'syncing', 'failed', 'deleting'] as const) {
      const keys = Object.keys(publicRecord(stored({ status, error: 'boom' })));
      for (const key of INTERNAL) expect(keys).not.toContain(key);
      // Every key is one the client sent or one the server adds.
      for (const key of keys) expect(['source', 'destination', ...SERVER_KEYS]).toContain(key);
    }
  });

  it('does not show internal keys in the JSON either', () => {
    const text = JSON.stringify(publicRecord(stored()));
    for (const key of INTERNAL) expect(text).not.toContain(`"${key}"`);
    expect(text).not.toContain('worker-1');
  });

  it('keeps source and destination exactly as stored', () => {
    const out = publicRecord(stored({ source: 'BusyBox-as-typed ', destination: 'docker.io/library/busybox' }));
    expect(out.source).toBe('BusyBox-as-typed ');
    expect(out.destination).toBe('docker.io/library/busybox');
  });

  it('shows error when the status is failed', () => {
    const out = publicRecord(stored({ status: 'failed', error: 'ghcr.io: PUT manifest failed: 403 DENIED' }));
    expect(out.status).toBe('failed');
    expect(out.error).toBe('ghcr.io: PUT manifest failed: 403 DENIED');
  });

  it('hides a leftover error when the status is not failed', () => {
    for (const status of ['synced', 'syncing', 'deleting'] as const) {
      expect(Object.keys(publicRecord(stored({ status, error: 'old failure' })))).not.toContain('error');
    }
  });

  it('leaves error absent (not null) on a failed record without a message', () => {
    const out = publicRecord(stored({ status: 'failed', error: undefined }));
    expect('error' in out).toBe(false);
  });

  it('leaves unset optional keys absent, not null or undefined-valued', () => {
    const out = publicRecord({
      id: '0123456789abcdef0123456789abcdef',
      source: 'busybox',
      destination: 'ghcr.io/a/busybox',
      status: 'syncing',
      version: 1,
      created_at: '2026-11-27T10:00:00Z',
      updated_at: '2026-11-27T10:00:00Z',
    });
    expect(Object.keys(out).sort()).toEqual(['destination', 'id', 'source', 'status']);
    expect(JSON.stringify(out)).not.toContain('null');
  });

  it('treats empty strings as unset', () => {
    const out = publicRecord(stored({ image: '', source_digest: '', synced_at: '', checked_at: '' }));
    expect(Object.keys(out).sort()).toEqual(['destination', 'id', 'source', 'status']);
  });

  it('returns a new object, not the stored one', () => {
    const record = stored();
    const out = publicRecord(record);
    expect(out).not.toBe(record);
    expect(record.version).toBe(7);
  });
});
