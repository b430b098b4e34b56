// What a copy reports as it goes: enough for progress lines and one structured log line each.

export type CopyEvent =
  | { type: 'blob'; digest: string; size: number; outcome: 'present' | 'mounted' | 'copied'; ms: number }
  | { type: 'blob-retry'; digest: string; attempt: number; reason: string; delayMs: number }
  | { type: 'manifest'; digest: string; mediaType: string; reference: string; outcome: 'present' | 'pushed' };

export type CopyEventHandler = (event: CopyEvent) => void;
