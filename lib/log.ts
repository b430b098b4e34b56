// Structured logs: one JSON object per line, so CloudWatch and `jq` can read them.
// Callers pass facts, never credentials; messages from errors are already credential-free.

export type LogFields = Record<string, unknown>;
export type Logger = (level: 'info' | 'warn' | 'error', message: string, fields?: LogFields) => void;

export function jsonLogger(write: (line: string) => void, now: () => Date = () => new Date()): Logger {
  return (level, message, fields = {}) => write(JSON.stringify({ time: now().toISOString(), level, msg: message, ...fields }));
}
