// Copies one blob: skipped when the destination has it, mounted within one registry, otherwise
// streamed from the source GET into the destination upload, verified on the way, never on disk.
import { BodyTooLargeError, cancelUpload, mountBlob, putBlob, putBlobChunked, putBlobStreamed, startUpload, type UploadSession } from '../registry/upload.ts';
import { getBlob, headBlob } from '../registry/blob.ts';
import type { RegistryClient } from '../registry/client.ts';
import { RegistryError } from '../registry/errors.ts';
import type { Descriptor } from '../registry/media-types.ts';
import { NetworkError } from '../transport/errors.ts';
import { stallBehind, watchStalls } from '../transport/stall.ts';
import { backoffDelay, defaultRetryPolicy, isRetryableStatus, sleep } from '../transport/retry.ts';
import { VerifyingStream } from '../util/digest.ts';
import type { CopyEventHandler } from './events.ts';

export interface BlobCopyContext {
  source: RegistryClient;
  sourceRepository: string;
  destination: RegistryClient;
  destinationRepository: string;
  signal: AbortSignal;
  onEvent?: CopyEventHandler;
}

/** Whole-blob attempts: a stream cannot be replayed, so a failure restarts the blob. */
const ATTEMPTS = 4;

export type BlobOutcome = 'present' | 'mounted' | 'copied';

export async function copyBlob(context: BlobCopyContext, blob: Descriptor): Promise<BlobOutcome> {
  const started = Date.now();
  const outcome = await transfer(context, blob);
  context.onEvent?.({ type: 'blob', digest: blob.digest, size: blob.size, outcome, ms: Date.now() - started });
  return outcome;
}

async function transfer(context: BlobCopyContext, blob: Descriptor): Promise<BlobOutcome> {
  const { source, destination, destinationRepository: repository, signal } = context;
  if ((await headBlob(destination, repository, blob.digest, signal)) !== undefined) return 'present';

  let upload: UploadSession | undefined;
  // A mount needs one token for two repositories, which some registries never give (GCR).
  if (source.registry === destination.registry && context.sourceRepository !== repository && destination.profile.crossRepositoryMount) {
    const mount = await mountBlob(destination, repository, blob.digest, context.sourceRepository, signal);
    if (mount.mounted) return 'mounted';
    upload = mount.session;
  }

  for (let attempt = 1; ; attempt++) {
    upload ??= await startUpload(destination, repository, signal);
    // The chunk size this attempt uses (undefined: the whole blob in one request), read once:
    // other blobs of the copy may change the client's meanwhile.
    const chunk = destination.chunkedUploadSize;
    try {
      await stream(context, blob, upload, chunk);
      return 'copied';
    } catch (error) {
      await cancelUpload(destination, repository, upload);
      upload = undefined;
      if (error instanceof BodyTooLargeError) {
        // The registry caps request bodies: go chunked (as its profile allows), smaller each time
        // it refuses a chunk. Only a refused chunk halves the size, and only the size it refused:
        // blobs that were sent whole at the same time are refused too, and say nothing of chunks.
        const policy = destination.profile.upload;
        if (policy.mode === 'whole-only') throw new BodyTooLargeError(error.registry, `${error.operation} (this registry takes no chunked uploads)`, error.status, error.errors);
        if (chunk === undefined) destination.chunkedUploadSize ??= policy.chunkSize;
        else if (chunk <= policy.minChunk) throw error;
        else if (destination.chunkedUploadSize === chunk) destination.chunkedUploadSize = Math.max(policy.minChunk, Math.floor(chunk / 2));
      } else if (attempt >= ATTEMPTS || signal.aborted || !isTransient(error)) {
        throw error;
      }
      // A streamed body cannot be resent by the transport (which honours Retry-After): the restart waits instead.
      const retryAfter = error instanceof RegistryError ? (error.retryAfterMs ?? 0) : 0;
      if (retryAfter > defaultRetryPolicy.maxRetryAfterMs) throw error;
      const delayMs = error instanceof BodyTooLargeError ? 0 : Math.max(retryAfter, backoffDelay(attempt - 1, defaultRetryPolicy));
      context.onEvent?.({ type: 'blob-retry', digest: blob.digest, attempt, reason: error instanceof Error ? error.message : String(error), delayMs });
      await sleep(delayMs, signal);
    }
  }
}

async function stream(context: BlobCopyContext, blob: Descriptor, upload: UploadSession, chunk: number | undefined): Promise<void> {
  const { source, destination, destinationRepository: repository, signal } = context;
  const body = await getBlob(source, context.sourceRepository, blob.digest, signal);
  const verifier = new VerifyingStream(blob.digest, blob.size, `${source.registry}: blob ${context.sourceRepository}@${blob.digest}`);
  // Ends the source GET whatever happens to the upload, so no connection is left half-read.
  const done = new AbortController();
  const piped = body.pipeThrough(verifier, { signal: AbortSignal.any([signal, done.signal]) });
  // The GET's body is watched for a stalling source; this watches the destination taking it, and
  // stops the upload when it stalls (a destination that reads nothing blocks the upload for good).
  const stalled = new AbortController();
  const verified = watchStalls(piped, { policy: destination.stall, consumer: destination.registry, onStall: (error) => stalled.abort(error) });
  const uploading = AbortSignal.any([signal, stalled.signal]);
  try {
    if (chunk !== undefined) {
      await putBlobChunked(destination, repository, upload, blob.digest, blob.size, verified, chunk, uploading);
    } else if (destination.profile.upload.mode === 'stream') {
      await putBlobStreamed(destination, repository, upload, blob.digest, blob.size, verified, uploading);
    } else {
      await putBlob(destination, repository, upload, blob.digest, blob.size, verified, uploading);
    }
  } catch (error) {
    // Whatever the transport made of it, a digest mismatch or a stall (of either end) is the real story.
    throw verifier.failure ?? stallBehind(error) ?? error;
  } finally {
    done.abort();
  }
  if (verifier.failure) throw verifier.failure;
}

/** Worth another attempt: the network failed, or the registry said "later" (408, 429, 5xx). */
export function isTransient(error: unknown): boolean {
  if (error instanceof NetworkError) return true;
  if (error instanceof RegistryError) return isRetryableStatus(error.status);
  return false;
}
