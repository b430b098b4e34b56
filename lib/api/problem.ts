// Errors the API answers, as RFC 9457 problem details (application/problem+json).

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    /** A short code, part of the problem type URI: `urn:imagesync:problem:<code>`. */
    readonly code: string,
    readonly title: string,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  request_id?: string;
}

export function problemBody(error: ApiError, requestId?: string): Problem {
  return { type: `urn:imagesync:problem:${error.code}`, title: error.title, status: error.status, detail: error.detail, request_id: requestId };
}

export const badRequest = (code: string, detail: string) => new ApiError(400, code, 'Bad request', detail);
export const notFound = (detail: string) => new ApiError(404, 'not-found', 'Not found', detail);
