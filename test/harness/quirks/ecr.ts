// Amazon ECR in front of the real registry (docker-registry 2.8 with htpasswd auth), as its public
// record has it; every quirk is emulated from the documented behaviour, none observed here:
// - PATCH answers 201, not 202 (regclient/regclient PR#82; dotnet/sdk-container-builds PR#279).
// - Every part but the last at least 5 MiB, else LayerPartTooSmallException ("All layer parts
//   except the last part should be at least 5MB", dotnet/sdk-container-builds#424): a PATCH (or a
//   closing PUT with a body) after a part under 5 MiB in the same session answers 400.
// - The `Range` of a PATCH answer stays at the end of the session's first part
//   (aws/containers-roadmap#2831, as its reporter corrected it): a client must not trust it.
// - A push (POST blobs/uploads/, PUT manifests) to a repository that does not exist drops the
//   connection (aws/containers-roadmap#1970; dotnet/sdk-container-builds PR#279); which exist is
//   the AWS stand-in's business (`knows`).
// - No v2 DELETE of manifests or blobs: 405 UNSUPPORTED (deletion is BatchDeleteImage, on the AWS
//   stand-in). Cancelling an upload session still passes.
// - Media types with parameters refused (aws/containers-roadmap#2306): a manifest PUT whose
//   Content-Type has a ';' answers 400 (the report is about descriptors in the body; the code ECR
//   answers is not on the record).
// - Optionally (`putCap`), a request carrying a whole blob over that many bytes (a PUT, or the
//   first PATCH of a session, which docker-style uploads send) answers 413, so that a test goes
//   the chunked way with ECR's 5 to 10 MiB parts (ECR quotas page).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ociError, type Quirk, type QuirkRequest } from '../quirk-proxy.ts';

const MiB = 1024 * 1024;
export const ECR_MIN_PART = 5 * MiB;
export const ECR_MAX_PART = 10 * MiB;

export type EcrQuirkName = 'patch-201' | 'part-too-small' | 'stale-range' | 'dropped' | 'delete-405' | 'media-type-400' | 'body-413';

export interface EcrQuirkEvent {
  quirk: EcrQuirkName;
  method: string;
  path: string;
}

export interface EcrQuirks {
  /** For startQuirkProxy. */
  quirks: Quirk[];
  /** A whole blob in one request (PUT, or a session's first PATCH) over this many bytes answers 413; undefined: no cap. */
  putCap?: number;
  /** The parts each upload session took (PATCH body sizes), by session id, in order. */
  parts: Map<string, number[]>;
  /** Each time a quirk acted. */
  events: EcrQuirkEvent[];
  count(quirk: EcrQuirkName): number;
}

const UPLOAD_START = /^\/v2\/(.+)\/blobs\/uploads\/$/;
const UPLOAD_SESSION = /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/;
const MANIFEST = /^\/v2\/(.+)\/manifests\/([^/]+)$/;
const BLOB = /^\/v2\/(.+)\/blobs\/([^/]+)$/;

export function ecrQuirks(options: { knows(repository: string): boolean }): EcrQuirks {
  const parts = new Map<string, number[]>();
  const events: EcrQuirkEvent[] = [];
  /** The `Range` end of each session's first part. */
  const firstRange = new Map<string, string>();
  const state: EcrQuirks = { quirks: [], parts, events, count: (quirk) => events.filter((e) => e.quirk === quirk).length };
  const acted = (quirk: EcrQuirkName, req: QuirkRequest) => events.push({ quirk, method: req.method, path: req.path });
  const length = (req: QuirkRequest) => Number(req.headers['content-length'] ?? 0);

  const missingRepository: Quirk = {
    request(req, _res, raw) {
      const push = (req.method === 'POST' && UPLOAD_START.exec(req.path)) || (req.method === 'PUT' && MANIFEST.exec(req.path));
      if (!push || options.knows(push[1]!)) return false;
      acted('dropped', req);
      raw.socket.destroy();
      return true;
    },
  };

  const noDelete: Quirk = {
    request(req, res, raw) {
      if (req.method !== 'DELETE' || UPLOAD_SESSION.test(req.path) || !(MANIFEST.test(req.path) || BLOB.test(req.path))) return false;
      acted('delete-405', req);
      return answer(raw, res, 405, 'UNSUPPORTED', 'The operation is unsupported.');
    },
  };

  const mediaTypeParameters: Quirk = {
    request(req, res, raw) {
      if (req.method !== 'PUT' || !MANIFEST.test(req.path) || !String(req.headers['content-type'] ?? '').includes(';')) return false;
      acted('media-type-400', req);
      return answer(raw, res, 400, 'MANIFEST_INVALID', "Invalid parameter at 'mediaType' failed to satisfy constraint");
    },
  };

  const uploadParts: Quirk = {
    request(req, res, raw) {
      const session = UPLOAD_SESSION.exec(req.path)?.[2];
      if (!session || (req.method !== 'PATCH' && req.method !== 'PUT')) return false;
      const taken = parts.get(session) ?? [];
      const previous = taken.at(-1);
      // The part before was not the last after all.
      if (previous !== undefined && previous < ECR_MIN_PART && (req.method === 'PATCH' || length(req) > 0)) {
        acted('part-too-small', req);
        return answer(raw, res, 400, 'LAYER_PART_TOO_SMALL', 'LayerPartTooSmallException: All layer parts except the last part should be at least 5MB');
      }
      // A whole blob: a PUT with a body, or a PATCH without Content-Range (a chunk has one).
      const whole = req.method === 'PUT' || !req.headers['content-range'];
      if (whole && taken.length === 0 && state.putCap !== undefined && length(req) > state.putCap) {
        acted('body-413', req);
        return answer(raw, res, 413, 'SIZE_INVALID', 'request entity too large');
      }
      if (req.method === 'PATCH') parts.set(session, [...taken, length(req)]);
      return false;
    },
    response(req, reply) {
      const session = UPLOAD_SESSION.exec(req.path)?.[2];
      if (req.method !== 'PATCH' || !session || reply.status !== 202) return;
      reply.status = 201;
      acted('patch-201', req);
      const range = reply.headers.range;
      if (typeof range !== 'string') return;
      const first = firstRange.get(session);
      if (first === undefined) firstRange.set(session, range);
      else if (first !== range) {
        reply.headers.range = first;
        acted('stale-range', req);
      }
    },
  };

  state.quirks = [missingRepository, noDelete, mediaTypeParameters, uploadParts];
  return state;
}

/** Answers with an OCI error; the request body is read and dropped so the connection stays usable. */
function answer(raw: IncomingMessage, res: ServerResponse, status: number, code: string, message: string): true {
  raw.resume();
  return ociError(res, status, code, message);
}
