// Record timestamps: ISO 8601 in UTC with second precision, e.g. 2026-11-27T10:00:00Z.

export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
