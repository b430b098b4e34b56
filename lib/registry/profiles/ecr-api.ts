// The calls the ECR profile makes to ECR's own API (DescribeRepositories, CreateRepository,
// BatchDeleteImage), through the AWS SDK loaded on first use: only ECR users need it. The account
// and region come from the registry's host name. An AWS error is reported by its name only: its
// message can echo the signed request.
import type { ECRClient } from '@aws-sdk/client-ecr';
import { CredentialsError } from '../../auth/credentials.ts';
import { ecrRegistry } from '../../auth/ecr.ts';
import { describeNetworkError, NetworkError } from '../../transport/errors.ts';
import { RegistryError } from '../errors.ts';

/** The registry an ECR host name stands for: the account (registryId) and region. */
export interface EcrTarget {
  /** The registry as imagesync names it (host[:port]), for messages. */
  registry: string;
  account: string;
  region: string;
  /** A `dkr.ecr-fips` host: the API's FIPS endpoint too. */
  fips: boolean;
}

export function ecrTarget(registry: string): EcrTarget | undefined {
  const ecr = ecrRegistry(registry);
  return ecr && { registry, ...ecr, fips: /\.dkr\.ecr-fips\./i.test(registry) };
}

/** What a repository created here gets (IMAGESYNC_ECR_TAG_MUTABILITY, _SCAN_ON_PUSH, _KMS_KEY). */
export interface RepositorySettings {
  tagMutability: 'MUTABLE' | 'IMMUTABLE';
  scanOnPush: boolean;
  /** Encrypt with this KMS key; else AES256 (ECR's default). */
  kmsKey?: string;
}

export interface ImageId {
  imageTag?: string;
  imageDigest?: string;
}

export interface BatchDeleteResult {
  deleted: ImageId[];
  /** Per image, ECR's failureCode (ImageNotFound, ImageReferencedByManifestList, ...). */
  failures: { imageId: ImageId; code: string }[];
}

export interface EcrApi {
  /** DescribeRepositories on one name: false on RepositoryNotFoundException. */
  repositoryExists(target: EcrTarget, repository: string, signal?: AbortSignal): Promise<boolean>;
  /** CreateRepository; 'exists' when it appeared meanwhile (RepositoryAlreadyExistsException). */
  createRepository(target: EcrTarget, repository: string, settings: RepositorySettings, signal?: AbortSignal): Promise<'created' | 'exists'>;
  /** BatchDeleteImage; images ECR did not delete come back in `failures`, not as errors. */
  batchDeleteImage(target: EcrTarget, repository: string, imageIds: ImageId[], signal?: AbortSignal): Promise<BatchDeleteResult>;
}

/**
 * An error ECR's API answered, its exception name (AccessDeniedException) as the code, or a
 * failure BatchDeleteImage reported for an image (KmsError). Its name stays RegistryError: the
 * API answers 502 naming the registry, the CLI prints it as written.
 */
export class EcrApiError extends RegistryError {
  constructor(registry: string, operation: string, status: number, code: string) {
    super(registry, operation, status, [{ code }]);
    this.message = `${registry}: ${operation} failed: ${status > 0 ? `${status} ` : ''}${code}`;
  }
}

/** The ECR API through the AWS SDK (credentials and endpoint from the environment, as the SDK finds them). */
export function sdkEcrApi(): EcrApi {
  return {
    async repositoryExists(target, repository, signal) {
      const { DescribeRepositoriesCommand } = await sdk();
      try {
        await send(target, `ECR DescribeRepositories ${repository}`, signal, (client) =>
          client.send(new DescribeRepositoriesCommand({ registryId: target.account, repositoryNames: [repository] }), { abortSignal: signal }),
        );
        return true;
      } catch (error) {
        if (error instanceof EcrApiError && error.code === 'RepositoryNotFoundException') return false;
        throw error;
      }
    },

    async createRepository(target, repository, settings, signal) {
      const { CreateRepositoryCommand } = await sdk();
      const input = {
        registryId: target.account,
        repositoryName: repository,
        imageTagMutability: settings.tagMutability,
        imageScanningConfiguration: { scanOnPush: settings.scanOnPush },
        encryptionConfiguration: settings.kmsKey ? { encryptionType: 'KMS' as const, kmsKey: settings.kmsKey } : { encryptionType: 'AES256' as const },
      };
      try {
        await send(target, `ECR CreateRepository ${repository}`, signal, (client) => client.send(new CreateRepositoryCommand(input), { abortSignal: signal }));
        return 'created';
      } catch (error) {
        // Another worker created it between our DescribeRepositories and this call.
        if (error instanceof EcrApiError && error.code === 'RepositoryAlreadyExistsException') return 'exists';
        throw error;
      }
    },

    async batchDeleteImage(target, repository, imageIds, signal) {
      const { BatchDeleteImageCommand } = await sdk();
      const answer = await send(target, `ECR BatchDeleteImage ${repository}`, signal, (client) =>
        client.send(new BatchDeleteImageCommand({ registryId: target.account, repositoryName: repository, imageIds }), { abortSignal: signal }),
      );
      return {
        deleted: (answer.imageIds ?? []).map(({ imageTag, imageDigest }) => ({ imageTag, imageDigest })),
        failures: (answer.failures ?? []).map((f) => ({ imageId: { imageTag: f.imageId?.imageTag, imageDigest: f.imageId?.imageDigest }, code: safeCode(f.failureCode) })),
      };
    },
  };
}

type Sdk = typeof import('@aws-sdk/client-ecr');

let loaded: Promise<Sdk> | undefined;

function sdk(): Promise<Sdk> {
  if (!loaded) {
    loaded = import('@aws-sdk/client-ecr');
    // A failed load is not kept: the next call tries again.
    loaded.catch(() => (loaded = undefined));
  }
  return loaded;
}

/** Clients kept, one per region and endpoint flavour: a host name can name any "region", so the cache is capped. */
const MAX_CLIENTS = 16;
const clients = new Map<string, ECRClient>();

async function send<T>(target: EcrTarget, operation: string, signal: AbortSignal | undefined, call: (client: ECRClient) => Promise<T>): Promise<T> {
  const key = `${target.region}${target.fips ? '/fips' : ''}`;
  let client = clients.get(key);
  let own = false;
  if (!client) {
    const { ECRClient } = await sdk();
    client = new ECRClient({ region: target.region, useFipsEndpoint: target.fips });
    if (clients.size < MAX_CLIENTS) clients.set(key, client);
    else own = true;
  }
  try {
    return await call(client);
  } catch (error) {
    throw translate(target, operation, error, signal);
  } finally {
    if (own) client.destroy();
  }
}

/** An AWS answer becomes an EcrApiError (by name), missing credentials a CredentialsError, anything else a NetworkError. */
function translate(target: EcrTarget, operation: string, error: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return signal.reason;
  const e = (error ?? {}) as { name?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number') return new EcrApiError(target.registry, operation, status, safeCode(e.name));
  if (e.name === 'CredentialsProviderError') return new CredentialsError(`${operation} for account ${target.account} in ${target.region}: no AWS credentials (CredentialsProviderError)`);
  // No answer: the outcome of a change is unknown (the engine keeps its lease).
  return new NetworkError(`the ECR API in ${target.region}`, describeNetworkError(error), { cause: error });
}

// AWS names are short words (RepositoryNotFoundException); anything else is not echoed.
function safeCode(name: unknown): string {
  return typeof name === 'string' && /^[A-Za-z][A-Za-z0-9_.]{0,63}$/.test(name) ? name : 'UnknownError';
}
