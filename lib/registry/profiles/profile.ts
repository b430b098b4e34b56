// What sets one registry family apart from the distribution spec's defaults: how blobs are
// uploaded, whether blobs mount across repositories, what must happen before a push (ECR creates
// the repository), how an image is deleted (the v2 API, or the vendor's own), and how its
// throttling reads. One small module per family sits beside this one; distribution is the default.
import type { RemoveImageOptions } from '../../cleanup/remove-image.ts';
import type { Cleanup } from '../../store/types.ts';
import type { HttpResponse } from '../../transport/types.ts';
import type { RegistryClient } from '../client.ts';

export type ProfileName = 'distribution' | 'ecr' | 'ghcr' | 'gar' | 'dockerhub' | 'quay' | 'acr' | 'harbor';

export interface UploadPolicy {
  /**
   * 'whole': one PUT carrying the blob, chunks only once the registry refused a body as too large;
   * 'stream': one PATCH carrying the whole blob, then the closing PUT (how docker and skopeo push),
   * chunks likewise only after a refusal; 'whole-only': one PUT and never chunks (a registry
   * without chunked uploads: a refusal is final).
   */
  mode: 'whole' | 'stream' | 'whole-only';
  /** The chunk size to start with once chunking, and the bounds every chunk but the last keeps to. */
  chunkSize: number;
  minChunk: number;
  maxChunk: number;
  /** The most chunks one blob may take; a larger blob fails before its first byte is sent. */
  maxChunks?: number;
}

/** A registry answer that means "back off for long", and what to call it in errors and logs. */
export interface Throttle {
  reason: string;
  delayMs: number;
}

export interface RegistryProfile {
  readonly name: ProfileName;
  readonly upload: UploadPolicy;
  /** Blobs mount from another repository of the registry (one token must cover both). */
  readonly crossRepositoryMount: boolean;
  /** Scopes one token request may carry (long scope lists overflow some registries' header limits). */
  readonly maxScopesPerToken: number;
  /** Runs before the first push to a repository in a process (ECR: create it when missing). */
  prepareRepository?(client: RegistryClient, repository: string, signal?: AbortSignal): Promise<void>;
  /** Deletes what a plan names, by this registry's own means; undefined: the v2 API (lib/cleanup/remove-image.ts). */
  removeImage?(client: RegistryClient, plan: Cleanup, options: RemoveImageOptions): Promise<string[]>;
  /** Reads a 429 (or other) answer that calls for a long backoff; undefined: the usual retries. */
  throttle?(response: HttpResponse, body: string): Throttle | undefined;
}

const MiB = 1024 * 1024;

/** The distribution spec's registry (distribution 2.x/3.x, zot, and any registry not known better). */
export const distribution: RegistryProfile = {
  name: 'distribution',
  upload: { mode: 'whole', chunkSize: 8 * MiB, minChunk: 256 * 1024, maxChunk: 64 * MiB },
  crossRepositoryMount: true,
  maxScopesPerToken: 32,
};

export const MEBIBYTE = MiB;
