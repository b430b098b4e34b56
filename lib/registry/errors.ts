// Errors a registry answered, with its OCI error code, worded for the person reading the log.
// Messages name the registry, the operation and the code; never a URL query or a credential.
import { parseRetryAfter } from '../transport/retry.ts';
import { readText, type HttpResponse } from '../transport/types.ts';

export interface OciErrorDetail {
  code: string;
  message?: string;
}

export class RegistryError extends Error {
  override name = 'RegistryError';
  /** What the answer's Retry-After asked for (429, 503), in ms. */
  retryAfterMs?: number;
  constructor(
    readonly registry: string,
    readonly operation: string,
    readonly status: number,
    readonly errors: OciErrorDetail[] = [],
    options?: { cause?: unknown },
  ) {
    super(describe(registry, operation, status, errors), options);
  }

  get code(): string | undefined {
    return this.errors[0]?.code ?? statusCodes[this.status];
  }
}

/** 401/403 after authenticating (or with no credentials to offer). */
export class AuthenticationError extends RegistryError {
  override name = 'AuthenticationError';
}

/** The thing asked for does not exist (404, or MANIFEST_UNKNOWN / NAME_UNKNOWN / BLOB_UNKNOWN). */
export class NotFoundError extends RegistryError {
  override name = 'NotFoundError';
}

/**
 * The registry answered something that breaks the protocol: a manifest that is not JSON or too
 * large, a malformed descriptor, a missing or malformed header it must send, a tag list that
 * leads elsewhere. Not retried (the same answer would come again); the API answers 502.
 */
export class RegistryProtocolError extends RegistryError {
  override name = 'RegistryProtocolError';
  /** Where in the answer: a header ('Docker-Content-Digest'), or a JSON path ('layers[3].digest'). */
  readonly field?: string;
  readonly problem: string;

  constructor(registry: string, operation: string, problem: string, options: { field?: string; status?: number; cause?: unknown } = {}) {
    super(registry, operation, options.status ?? 200, [], { cause: options.cause });
    this.field = options.field;
    this.problem = problem;
    this.message = `${registry}: ${operation}: ${options.field ? `${options.field}: ` : ''}${problem}`;
  }
}

/** What a bare status means, for answers without an OCI error body (HEAD has none). */
const statusCodes: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'DENIED',
  404: 'NOT_FOUND',
  405: 'UNSUPPORTED',
  408: 'REQUEST_TIMEOUT',
  413: 'SIZE_INVALID',
  429: 'TOOMANYREQUESTS',
  500: 'INTERNAL_SERVER_ERROR',
  502: 'BAD_GATEWAY',
  503: 'UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

function describe(registry: string, operation: string, status: number, errors: OciErrorDetail[]): string {
  const codes = errors.length > 0 ? errors.map((e) => (e.message ? `${e.code}: ${e.message}` : e.code)).join('; ') : statusCodes[status];
  return `${registry}: ${operation} failed: ${status}${codes ? ` ${codes}` : ''}`;
}

/** Reads an error answer (bounded) and turns it into the right error class. */
export async function errorFromResponse(registry: string, operation: string, response: HttpResponse): Promise<RegistryError> {
  const errors = await readOciErrors(response);
  if (response.status === 401 || response.status === 403) return new AuthenticationError(registry, operation, response.status, errors);
  if (response.status === 404) return new NotFoundError(registry, operation, response.status, errors);
  // A throttle a profile recognised (Docker Hub's anti-abuse limit) is named, not just "429".
  if (response.throttled) errors.unshift({ code: 'TOOMANYREQUESTS', message: response.throttled });
  const error = new RegistryError(registry, operation, response.status, errors);
  error.retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
  return error;
}

// Codes are short upper-case words (MANIFEST_UNKNOWN); anything else is not echoed into messages.
const OCI_CODE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const CONTROL = /[\u0000-\u001f\u007f]+/g;

async function readOciErrors(response: HttpResponse): Promise<OciErrorDetail[]> {
  try {
    // Error documents are small; anything bigger is not one worth reading.
    const text = await readText(response, 64 * 1024, 'error body');
    const json = JSON.parse(text) as { errors?: unknown };
    if (!Array.isArray(json.errors)) return [];
    return json.errors
      .filter((e): e is { code: unknown; message?: unknown } => e !== null && typeof e === 'object')
      .slice(0, 10)
      .map((e) => ({
        code: typeof e.code === 'string' && OCI_CODE.test(e.code) ? e.code : 'UNKNOWN',
        message: typeof e.message === 'string' ? e.message.slice(0, 200).replace(CONTROL, ' ') : undefined,
      }));
  } catch {
    return [];
  }
}
