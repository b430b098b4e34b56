// One client per registry host: the base URL (https, or http for insecure hosts), the transport
// stack (retries inside redirects), and an Authenticator that learns the registry's challenge.
import { Authenticator } from './auth/authenticator.ts';
import type { Credential, CredentialStore } from '../auth/credentials.ts';
// Only the profile interface: which profile a registry gets is configuration (profiles/index.ts),
// passed in by whoever builds the clients.
import { distribution, type RegistryProfile } from './profiles/profile.ts';
import { registryApiHost } from '../reference/reference.ts';
import { RefusedUrlError } from '../transport/errors.ts';
import { withRedirects } from '../transport/redirect.ts';
import { defaultRetryPolicy, withRetries, type RetryEvent, type RetryPolicy } from '../transport/retry.ts';
import { DEFAULT_STALL, watchStalls, type StallPolicy } from '../transport/stall.ts';
import { answeredUrl, discard, isReplayable, type Body, type HttpRequest, type HttpResponse, type Transport } from '../transport/types.ts';
import { AuthenticationError, errorFromResponse, type RegistryError } from './errors.ts';

export interface RegistryClientOptions {
  /** The bottom transport (undici on Node, fetch elsewhere). */
  transport: Transport;
  credentials?: CredentialStore;
  /** Hosts (host[:port]) reached over plain http. */
  isInsecure: (host: string) => boolean;
  retry?: RetryPolicy;
  onRetry?: (event: RetryEvent) => void;
  /** Further policy for every URL contacted (redirect targets, token realms, upload locations). */
  checkUrl?: (url: URL) => void;
  userAgent?: string;
  /** When a response body (or an upload) that moves too little has stalled. */
  stall?: StallPolicy;
  /** The profile of each registry (lib/registry/profiles/index.ts profileSelector); default: the distribution spec's. */
  profiles?: (registry: string) => RegistryProfile;
}

export interface RegistryRequest {
  method: string;
  /** A path under the registry's base URL, or an absolute URL (upload locations). */
  path: string;
  /** Token scopes this request needs, e.g. `repository:team/app:pull`. */
  scopes: string[];
  headers?: Record<string, string>;
  body?: Body;
  signal?: AbortSignal;
}

export class RegistryClient {
  readonly baseUrl: string;
  /** Set once the registry refused a large body (413): later uploads go in chunks of this size. */
  chunkedUploadSize?: number;
  /** The registry's last word on its pull rate limit (Docker Hub: `ratelimit-remaining: 76;w=21600`). */
  rateLimit?: { remaining: number; at: number };
  readonly stall: StallPolicy;
  /** What sets this registry's family apart (upload policy, deletion, throttling). */
  readonly profile: RegistryProfile;
  /** Repositories prepared for pushes in this process (the profile's prepareRepository, run once each). */
  private readonly prepared = new Map<string, Promise<void>>();
  private readonly http: Transport;
  /** The origin of baseUrl (a default port spelled out in the registry name is dropped). */
  private readonly origin: string;
  private authenticator?: { key: string; value: Authenticator };
  /** The scopes each answer's request needed, for error(): a refused push reads differently. */
  private readonly scopesOf = new WeakMap<HttpResponse, string[]>();

  constructor(
    /** The normalized registry name ('docker.io', 'ghcr.io', '127.0.0.1:5000'). */
    readonly registry: string,
    private readonly options: RegistryClientOptions,
  ) {
    const host = registryApiHost(registry);
    this.baseUrl = `${options.isInsecure(host) ? 'http' : 'https'}://${host}`;
    this.origin = new URL(this.baseUrl).origin;
    this.stall = options.stall ?? DEFAULT_STALL;
    this.profile = options.profiles?.(registry) ?? distribution;
    const checkUrl = (url: URL) => this.checkUrl(url);
    const throttle = this.profile.throttle?.bind(this.profile);
    this.http = withRedirects(withRetries(options.transport, options.retry ?? defaultRetryPolicy, { onRetry: options.onRetry, throttle }), { checkUrl });
  }

  /** Makes a repository ready for pushes, once per process (ECR creates a missing one). */
  async prepare(repository: string, signal?: AbortSignal): Promise<void> {
    const prepare = this.profile.prepareRepository;
    if (!prepare) return;
    let ready = this.prepared.get(repository);
    if (!ready) {
      ready = prepare.call(this.profile, this, repository, signal);
      this.prepared.set(repository, ready);
      // A failure is not kept: the next push asks again.
      ready.catch(() => this.prepared.delete(repository));
    }
    await ready;
  }

  /** The credential configured for this registry, for its vendor's API (GitHub, Docker Hub). */
  async credential(): Promise<Credential | undefined> {
    return this.options.credentials?.(this.registry);
  }

  /**
   * For the vendor's own API (another origin): the registry's transport stack (retries,
   * redirects, the address guard, scheme policy) without registry credentials. The caller sends
   * the API's own authorization, and a request carrying it refuses cross-origin redirects.
   */
  api(request: HttpRequest): Promise<HttpResponse> {
    this.checkUrl(new URL(request.url));
    const headers = this.options.userAgent ? { 'user-agent': this.options.userAgent, ...request.headers } : request.headers;
    return this.http({ ...request, headers, crossOriginRedirect: request.headers.authorization ? 'refuse' : request.crossOriginRedirect });
  }

  /** Refuses URLs outside policy: only http(s), and plain http only to insecure hosts. */
  checkUrl(url: URL): void {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RefusedUrlError(`refusing ${url.protocol} URL from ${this.registry}`);
    if (url.protocol === 'http:' && !this.options.isInsecure(url.host)) {
      throw new RefusedUrlError(`refusing plain http to ${url.host}; list it in IMAGESYNC_INSECURE_REGISTRIES if that is intended`);
    }
    this.options.checkUrl?.(url);
  }

  /** Sends a request with authorization, re-authenticating once when the registry answers 401. */
  async send(request: RegistryRequest): Promise<HttpResponse> {
    const url = new URL(request.path, this.baseUrl);
    if (url.origin !== this.origin) this.checkUrl(url);
    // Credentials go only to the registry's own origin.
    const authenticator = url.origin === this.origin ? await this.auth() : undefined;
    for (let attempt = 0; ; attempt++) {
      const authorization = await authenticator?.authorization(request.scopes, request.signal);
      const headers: Record<string, string> = { ...request.headers };
      if (this.options.userAgent) headers['user-agent'] = this.options.userAgent;
      if (authorization) headers.authorization = authorization;
      const response = this.watched(await this.http({ method: request.method, url: url.href, headers, body: request.body, signal: request.signal }), url.href);
      this.scopesOf.set(response, request.scopes);
      // Only the registry's own answers count: a 401 from where a redirect led (object storage, or
      // a hostile host) would otherwise send our credentials to its realm, its rate limit mislead.
      if (answeredUrl(response, url.href).origin !== this.origin) return response;
      const remaining = response.headers.get('ratelimit-remaining');
      if (remaining !== null && /^\d+/.test(remaining)) this.rateLimit = { remaining: Number.parseInt(remaining, 10), at: Date.now() };
      if (response.status !== 401 || !authenticator) return response;
      // Learn from every 401, even one that cannot be retried here: the caller's next try benefits.
      const worthRetry = authenticator.onUnauthorized(response, request.scopes, authorization);
      if (!worthRetry || attempt > 0 || !isReplayable(request.body)) return response;
      await discard(response);
    }
  }

  /** The answer with its body watched for stalls, charged to the host that sends it. */
  private watched(response: HttpResponse, requestUrl: string): HttpResponse {
    if (!response.body) return response;
    const producer = answeredUrl(response, requestUrl).host;
    return { status: response.status, headers: response.headers, url: response.url, throttled: response.throttled, body: watchStalls(response.body, { policy: this.stall, producer }) };
  }

  /** The error for an unexpected answer, saying when no credentials were configured. */
  async error(operation: string, response: HttpResponse): Promise<RegistryError> {
    const error = await errorFromResponse(this.registry, operation, response);
    if (error instanceof AuthenticationError) {
      const from = response.url ? new URL(response.url) : undefined;
      if (from && from.origin !== this.origin) {
        // Not the registry's verdict on our credentials (which were not sent there).
        error.message += ` (answered by ${from.host}, not ${this.registry})`;
      } else {
        const configured = (await this.auth()).hasCredential;
        // A token that reads but may not write (a read-only key) is refused only when a push or delete starts.
        const writing = (this.scopesOf.get(response) ?? []).find((scope) => /:(?:[^:]*,)?(?:push|delete)(?:,[^:]*)?$/.test(scope));
        const repository = writing?.slice('repository:'.length, writing.lastIndexOf(':'));
        const action = writing && /[:,]push(?:,|$)/.test(writing) ? 'push to' : 'delete in';
        error.message += !configured
          ? ` (no credentials configured for ${this.registry})`
          : writing
            ? ` (the credentials for ${this.registry} may not ${action} ${repository}: read-only credentials?)`
            : ` (the credentials for ${this.registry} were refused)`;
      }
    }
    return error;
  }

  /**
   * The Authenticator for the registry's current credential. Stores are asked on every request
   * (they cache): an ECR token renewed or a rotated secret takes effect without a restart.
   */
  private async auth(): Promise<Authenticator> {
    const credential = await this.options.credentials?.(this.registry);
    const key = credential === undefined ? '' : JSON.stringify(credential);
    if (!this.authenticator || this.authenticator.key !== key) {
      this.authenticator = {
        key,
        value: new Authenticator({
          registry: this.registry,
          credential,
          // The token service gets retries and redirects, never registry credentials by accident.
          transport: this.http,
          checkUrl: (url) => this.checkUrl(url),
        }),
      };
    }
    return this.authenticator.value;
  }
}

/** Keeps one client per registry so tokens and connections are shared across a copy. */
export class RegistryClients {
  private readonly clients = new Map<string, RegistryClient>();

  constructor(private readonly options: RegistryClientOptions) {}

  get(registry: string): RegistryClient {
    let client = this.clients.get(registry);
    if (!client) {
      client = new RegistryClient(registry, this.options);
      this.clients.set(registry, client);
    }
    return client;
  }
}

export function repositoryScope(repository: string, actions: string): string {
  return `repository:${repository}:${actions}`;
}
