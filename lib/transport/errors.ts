// Errors raised below the registry protocol: the network failed, or a policy refused a URL.

/** The connection failed before an answer arrived (refused, reset, timed out). Retried. */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
  constructor(
    readonly host: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot reach ${host}: ${reason}`, options);
  }
}

/** A URL was refused by policy (scheme, redirect limit). Not retried. */
export class RefusedUrlError extends Error {
  override readonly name = 'RefusedUrlError';
}

/** Describes a thrown network-level error in a few words, without URLs that could carry secrets. */
export function describeNetworkError(error: unknown): string {
  const seen = new Set<unknown>();
  let e: unknown = error;
  const parts: string[] = [];
  while (e && typeof e === 'object' && !seen.has(e)) {
    seen.add(e);
    const err = e as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
    if (typeof err.code === 'string') parts.push(err.code);
    else if (err.name === 'AbortError' || err.name === 'TimeoutError') parts.push(String(err.name));
    e = err.cause;
  }
  if (parts.length > 0) return [...new Set(parts)].join(': ');
  return error instanceof Error ? error.message.replace(/https?:\/\/\S+/g, '<url>') : String(error);
}
