// The one interface every layer of the client speaks: a request in, a web-standard Response out.
// Bodies are bytes (replayable, so retries and redirects can resend them) or a stream (sent once).

export type Body = Uint8Array | ReadableStream<Uint8Array>;

export interface HttpRequest {
  method: string;
  url: string;
  headers: Headers;
  body?: Body;
  signal?: AbortSignal;
}

export type Transport = (request: HttpRequest) => Promise<Response>;

/** A body that can be sent again (retry, redirect, auth refresh). */
export function isReplayable(body: Body | undefined): body is Uint8Array | undefined {
  return body === undefined || body instanceof Uint8Array;
}

/** Reads and discards a body so the connection can be reused. */
export async function discard(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // Nothing to do: the connection is gone either way.
  }
}
