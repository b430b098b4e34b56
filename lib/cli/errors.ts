// Turns any error into the one line a CLI user reads: no stack trace for a user mistake.

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Errors whose message is already written for the user. */
const userFacing = new Set([
  'UsageError',
  'InvalidReferenceError',
  'SourceNotFoundError',
  'RegistryError',
  'RegistryProtocolError',
  'AuthenticationError',
  'NotFoundError',
  'BodyTooLargeError',
  'NetworkError',
  'RefusedUrlError',
  'DigestError',
  'DigestMismatchError',
  'ManifestFormatError',
  'MalformedManifestError',
  'SizeLimitError',
  'ConfigError',
  'CredentialsError',
  'CredentialsFileError',
  'ForbiddenAddressError',
  'SecretError',
  'ImageLimitError',
  'StalledError',
]);

export function errorLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const name = error instanceof Error ? error.name : '';
  const code = String((error as { code?: unknown } | null)?.code ?? '');
  // node:util parseArgs errors describe the bad option well; keep their first sentence.
  if (code.startsWith('ERR_PARSE_ARGS')) return message.split('. ')[0]!.replace(/\s*\n\s*/g, ' ');
  const line = userFacing.has(name) ? message : `unexpected error: ${message}`;
  return line.replace(/\s*\n\s*/g, ' ');
}
