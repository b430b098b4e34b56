// Copies a whole image: an index with every child (recursively), children before the index,
// blobs before manifests, the tag last, so a destination tag never points at something incomplete.
// Whatever the image lists, each manifest and blob is fetched at most once, manifest requests in
// flight are bounded like blobs, and the image's size in manifests and nesting is capped.
import { setMaxListeners } from 'node:events';
import { manifestRef, pinnedReference, type Reference } from '../reference/reference.ts';
import type { RegistryClient, RegistryClients } from '../registry/client.ts';
import { getManifest, headManifest, putManifest, type Manifest } from '../registry/manifest.ts';
import { isForeignLayer, parseManifestContent, type Descriptor } from '../registry/media-types.ts';
import { copyBlob, type BlobOutcome } from './blob.ts';
import type { CopyEventHandler } from './events.ts';
import { ImageLimitError, sourceNotFound } from './errors.ts';
import { unfenced, type Fence } from './fence.ts';
import { Limiter } from '../util/limit.ts';
import { CHILDREN_AT_ONCE, DEFAULT_LIMITS, MANIFESTS_IN_FLIGHT, type CopyLimits } from './limits.ts';

export interface CopyOptions {
  clients: RegistryClients;
  /** Blobs in flight at once. */
  concurrency?: number;
  signal?: AbortSignal;
  onEvent?: CopyEventHandler;
  limits?: CopyLimits;
  /** Guards the one change of what the destination means: the tag push. */
  fence?: Fence;
}

export interface CopyResult {
  /** Digest of the top manifest, equal at source and destination. */
  digest: string;
  mediaType: string;
  /** The destination pinned by digest: `registry/repository@sha256:...`. */
  image: string;
  /** The destination already held this image under this tag: nothing was sent. */
  unchanged: boolean;
  blobs: Record<BlobOutcome, number>;
  bytesCopied: number;
  manifestsPushed: number;
}

/**
 * Blobs in flight by default, as crane's default. More streams do not help when the registries
 * share the CPU: on 2 cores, 8 streams copied 512 MiB 10% slower than 4.
 */
export const DEFAULT_CONCURRENCY = 4;

export async function copyImage(source: Reference, destination: Reference, options: CopyOptions): Promise<CopyResult> {
  const abort = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, abort.signal]) : abort.signal;
  // Every request in flight listens on this one signal; that is expected, not a leak.
  setMaxListeners(0, signal);
  const job = new CopyJob(options.clients.get(source.registry), source.repository, options.clients.get(destination.registry), destination.repository, {
    limiter: new Limiter(options.concurrency ?? DEFAULT_CONCURRENCY),
    manifestLimiter: new Limiter(MANIFESTS_IN_FLIGHT),
    limits: options.limits ?? DEFAULT_LIMITS,
    signal,
    fence: options.fence ?? unfenced(signal),
    onEvent: options.onEvent,
  });
  try {
    return await job.run(source, destination);
  } finally {
    // Stop whatever is still in flight after the first failure.
    abort.abort();
  }
}

interface JobSettings {
  limiter: Limiter;
  manifestLimiter: Limiter;
  limits: CopyLimits;
  signal: AbortSignal;
  fence: Fence;
  onEvent?: CopyEventHandler;
}

class CopyJob {
  private readonly blobs = new Map<string, Promise<void>>();
  /** Child manifests by digest: an index may list one many times; it is copied once. */
  private readonly children = new Map<string, Promise<void>>();
  /** Every manifest digest met so far (counted against the cap before anything is fetched). */
  private readonly seen = new Set<string>();
  private manifestBytes = 0;
  private readonly result: Omit<CopyResult, 'digest' | 'mediaType' | 'image' | 'unchanged'> = {
    blobs: { present: 0, mounted: 0, copied: 0 },
    bytesCopied: 0,
    manifestsPushed: 0,
  };

  constructor(
    private readonly source: RegistryClient,
    private readonly sourceRepository: string,
    private readonly destination: RegistryClient,
    private readonly destinationRepository: string,
    private readonly settings: JobSettings,
  ) {}

  async run(source: Reference, destination: Reference): Promise<CopyResult> {
    const { signal } = this.settings;
    const destinationReference = manifestRef(destination);
    const top = await this.manifestRequest(() => getManifest(this.source, this.sourceRepository, manifestRef(source), signal)).catch((error: unknown) => {
      throw sourceNotFound(source, error);
    });
    this.count(top.digest);
    this.hold(top);
    if (destination.digest && destination.digest !== top.digest) {
      throw new Error(`destination is pinned to ${destination.digest} but the source is ${top.digest}`);
    }
    const image = pinnedReference(destination, top.digest);
    const present = await this.manifestRequest(() => headManifest(this.destination, this.destinationRepository, destinationReference, signal));
    if (present?.digest === top.digest) {
      this.settings.onEvent?.({ type: 'manifest', digest: top.digest, mediaType: top.mediaType, reference: destinationReference, outcome: 'present' });
      return { digest: top.digest, mediaType: top.mediaType, image, unchanged: true, ...this.result };
    }
    // Before the first push: the registry may need the repository made (ECR creates a missing one).
    await this.destination.prepare(this.destinationRepository, signal);
    await this.copyContent(top, 0);
    // The one change of what the destination means: the tag moves, under the job's fence.
    await this.settings.fence({ what: `push ${this.destinationRepository}:${destinationReference}`, tag: top.digest }, (fenced) =>
      this.push(top, destinationReference, fenced),
    );
    return { digest: top.digest, mediaType: top.mediaType, image, unchanged: false, ...this.result };
  }

  /** Everything a manifest refers to: child manifests of an index, or the blobs of an image. */
  private async copyContent(manifest: Manifest, depth: number): Promise<void> {
    const content = manifest.content ?? parseManifestContent(manifest.json, manifest.mediaType, `${this.source.registry}: manifest ${this.sourceRepository}@${manifest.digest}`);
    if (content.kind === 'index') {
      if (depth >= this.settings.limits.maxDepth && content.manifests.length > 0) {
        throw new ImageLimitError(this.source.registry, `${this.sourceRepository}@${manifest.digest} nests indexes deeper than ${this.settings.limits.maxDepth} (IMAGESYNC_MAX_INDEX_DEPTH)`);
      }
      // Counted before any is fetched: an index too large fails at once, not after its first thousand children.
      for (const child of content.manifests) this.count(child.digest);
      // A few children of each index at a time: what is held in memory stays small however wide
      // and deep the tree (a bound per index, so nested indexes never wait on each other's slots).
      const children = new Limiter(CHILDREN_AT_ONCE);
      const distinct = [...new Map(content.manifests.map((child) => [child.digest, child])).values()];
      await Promise.all(distinct.map((child) => children.run(() => this.copyChildOnce(child, depth + 1))));
    } else {
      const blobs = [content.config, ...content.layers.filter((layer) => !isForeignLayer(layer))];
      await Promise.all(blobs.map((blob) => this.copyBlobOnce(blob)));
    }
  }

  private copyChildOnce(child: Descriptor, depth: number): Promise<void> {
    let copying = this.children.get(child.digest);
    if (!copying) {
      copying = this.copyChild(child, depth);
      this.children.set(child.digest, copying);
    }
    return copying;
  }

  private async copyChild(child: Descriptor, depth: number): Promise<void> {
    const { signal } = this.settings;
    // A manifest the destination already has by digest was complete when it was pushed.
    if (await this.manifestRequest(() => headManifest(this.destination, this.destinationRepository, child.digest, signal))) {
      this.settings.onEvent?.({ type: 'manifest', digest: child.digest, mediaType: child.mediaType, reference: child.digest, outcome: 'present' });
      return;
    }
    const manifest = await this.manifestRequest(() => getManifest(this.source, this.sourceRepository, child.digest, signal));
    this.hold(manifest);
    await this.copyContent(manifest, depth);
    await this.push(manifest, child.digest, signal);
  }

  /** Manifest requests share a bound of their own, taken per request (never while waiting on children). */
  private manifestRequest<T>(request: () => Promise<T>): Promise<T> {
    return this.settings.manifestLimiter.run(request);
  }

  private count(digest: string): void {
    this.seen.add(digest);
    const max = this.settings.limits.maxManifests;
    if (this.seen.size > max) {
      throw new ImageLimitError(this.source.registry, `${this.sourceRepository} lists more than ${max} manifests in one image (IMAGESYNC_MAX_MANIFESTS)`);
    }
  }

  /** Manifests stay in memory until pushed: their bytes together are bounded. */
  private hold(manifest: Manifest): void {
    this.manifestBytes += manifest.bytes.byteLength;
    const max = this.settings.limits.maxManifestBytes;
    if (this.manifestBytes > max) {
      throw new ImageLimitError(this.source.registry, `${this.sourceRepository}: the manifests of one image exceed ${max / (1024 * 1024)} MiB together`);
    }
  }

  /** Children of an index may share layers: each blob is copied once per job. */
  private copyBlobOnce(blob: Descriptor): Promise<void> {
    let copying = this.blobs.get(blob.digest);
    if (!copying) {
      copying = this.settings.limiter.run(async () => {
        const outcome = await copyBlob(
          {
            source: this.source,
            sourceRepository: this.sourceRepository,
            destination: this.destination,
            destinationRepository: this.destinationRepository,
            signal: this.settings.signal,
            onEvent: this.settings.onEvent,
          },
          blob,
        );
        this.result.blobs[outcome]++;
        if (outcome === 'copied') this.result.bytesCopied += blob.size;
      });
      this.blobs.set(blob.digest, copying);
    }
    return copying;
  }

  private async push(manifest: Manifest, reference: string, signal: AbortSignal): Promise<void> {
    await this.manifestRequest(() => putManifest(this.destination, this.destinationRepository, reference, manifest, signal));
    this.result.manifestsPushed++;
    this.settings.onEvent?.({ type: 'manifest', digest: manifest.digest, mediaType: manifest.mediaType, reference, outcome: 'pushed' });
  }
}
