// A configuration the process cannot run with: a user mistake, reported as one line.
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
