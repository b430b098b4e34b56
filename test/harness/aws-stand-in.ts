// A loopback stand-in for the AWS JSON APIs imagesync calls: ECR GetAuthorizationToken,
// DescribeRepositories, CreateRepository and BatchDeleteImage, and Secrets Manager GetSecretValue
// (the SDK reaches it through AWS_ENDPOINT_URL_ECR / AWS_ENDPOINT_URL_SECRETS_MANAGER). Answers are
// set per test. ECR's repositories are a set per account; BatchDeleteImage really changes the
// real registry playing ECR (`ecr.registry`), as the AWS CLI reference's batch-delete-image has it:
// by tag, that tag, and the image once it has no tag left; by digest, the image and all its tags.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Target } from './raw-client.ts';
import { readBody } from './read-body.ts';
import { getManifest } from './registry-api.ts';
import { deleteByDigest, tagDigest, tagsOf, untag } from './registry-ops.ts';

export const ECR_ACCOUNT = '123456789012';

/** A repository as DescribeRepositories shows it, and who made it. */
export interface EcrRepository {
  repositoryName: string;
  imageTagMutability: string;
  imageScanningConfiguration: { scanOnPush: boolean };
  encryptionConfiguration: { encryptionType: string; kmsKey?: string };
  /** 'CreateRepository' (the request's settings, as sent) or 'test' (set up by a test). */
  createdBy: 'CreateRepository' | 'test';
}

export interface AwsError {
  type: string;
  message: string;
  status?: number;
}

interface ImageId {
  imageTag?: string;
  imageDigest?: string;
}

export interface AwsCall {
  target: string;
  body: any;
}

export interface AwsStandIn {
  url: string;
  /** The credential calls (GetAuthorizationToken, GetSecretValue); ECR's repository and image calls are in `ecr.calls`. */
  calls: AwsCall[];
  ecr: {
    /** DescribeRepositories, CreateRepository and BatchDeleteImage, in order. */
    calls: AwsCall[];
    /** GetAuthorizationToken: the Basic user and password to hand out, and how long the token lives. */
    username: string;
    password: string;
    lifetimeMs: number;
    /** Repositories per account (registryId). */
    repositories: Map<string, Map<string, EcrRepository>>;
    /** The real registry BatchDeleteImage changes (the one behind the ECR name). */
    registry?: Target;
    /** An operation (`CreateRepository`) answers this AWS error instead, until removed. */
    failures: Map<string, AwsError>;
  };
  /** Adds a repository as a test's own (MUTABLE, no scan, AES256 unless said). */
  addRepository(name: string, settings?: Partial<Omit<EcrRepository, 'repositoryName' | 'createdBy'>>, account?: string): EcrRepository;
  hasRepository(name: string, account?: string): boolean;
  /** Secrets Manager: secret id to value; a missing id answers ResourceNotFoundException. */
  secrets: Map<string, string>;
  stop(): Promise<void>;
}

type Json = Record<string, any>;

const REPOSITORY_CALLS = new Set(['DescribeRepositories', 'CreateRepository', 'BatchDeleteImage']);
type Answer = { status: number; body: unknown };

const error = (type: string, message: string, status = 400): Answer => ({ status, body: { __type: type, message } });

export async function startAwsStandIn(): Promise<AwsStandIn> {
  const ecr: AwsStandIn['ecr'] = { calls: [], username: 'AWS', password: '', lifetimeMs: 12 * 3600_000, repositories: new Map(), failures: new Map() };
  const calls: AwsStandIn['calls'] = [];
  const secrets = new Map<string, string>();

  const repositoriesOf = (account: string) => {
    let repositories = ecr.repositories.get(account);
    if (!repositories) ecr.repositories.set(account, (repositories = new Map()));
    return repositories;
  };
  const describe = (account: string, repository: EcrRepository) => {
    const { createdBy: _, ...shown } = repository;
    return {
      ...shown,
      registryId: account,
      repositoryArn: `arn:aws:ecr:us-east-1:${account}:repository/${repository.repositoryName}`,
      repositoryUri: `${account}.dkr.ecr.us-east-1.amazonaws.com/${repository.repositoryName}`,
      createdAt: Date.now() / 1000,
    };
  };
  const notFound = (account: string, name: string) => error('RepositoryNotFoundException', `The repository with name '${name}' does not exist in the registry with id '${account}'`);

  const operations: Record<string, (body: Json) => Promise<Answer> | Answer> = {
    GetAuthorizationToken: () => ({
      status: 200,
      body: {
        authorizationData: [
          {
            authorizationToken: Buffer.from(`${ecr.username}:${ecr.password}`).toString('base64'),
            expiresAt: (Date.now() + ecr.lifetimeMs) / 1000,
            proxyEndpoint: `https://${ECR_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`,
          },
        ],
      },
    }),

    DescribeRepositories: (body) => {
      const account = body.registryId ?? ECR_ACCOUNT;
      const names: string[] = body.repositoryNames ?? [...repositoriesOf(account).keys()];
      const missing = names.find((name) => !repositoriesOf(account).has(name));
      if (missing) return notFound(account, missing);
      return { status: 200, body: { repositories: names.map((name) => describe(account, repositoriesOf(account).get(name)!)) } };
    },

    CreateRepository: (body) => {
      const account = body.registryId ?? ECR_ACCOUNT;
      const name = String(body.repositoryName);
      if (repositoriesOf(account).has(name)) return error('RepositoryAlreadyExistsException', `The repository with name '${name}' already exists in the registry with id '${account}'`);
      const repository: EcrRepository = {
        repositoryName: name,
        // As sent: a test sees exactly what the client asked for (ECR's defaults when it sent nothing).
        imageTagMutability: body.imageTagMutability ?? 'MUTABLE',
        imageScanningConfiguration: body.imageScanningConfiguration ?? { scanOnPush: false },
        encryptionConfiguration: body.encryptionConfiguration ?? { encryptionType: 'AES256' },
        createdBy: 'CreateRepository',
      };
      repositoriesOf(account).set(name, repository);
      return { status: 200, body: { repository: describe(account, repository) } };
    },

    BatchDeleteImage: async (body) => {
      const account = body.registryId ?? ECR_ACCOUNT;
      const name = String(body.repositoryName);
      if (!repositoriesOf(account).has(name)) return notFound(account, name);
      if (!ecr.registry) throw new Error('the AWS stand-in has no registry to delete from (ecr.registry)');
      const imageIds: ImageId[] = [];
      const failures: { imageId: ImageId; failureCode: string; failureReason: string }[] = [];
      for (const imageId of (body.imageIds ?? []) as ImageId[]) {
        const outcome = await batchDeleteOne(ecr.registry, name, imageId);
        if ('failureCode' in outcome) failures.push({ imageId, ...outcome });
        else imageIds.push(outcome);
      }
      return { status: 200, body: { imageIds, failures } };
    },

    GetSecretValue: (body) => {
      const value = secrets.get(body.SecretId ?? '');
      if (value === undefined) return error('ResourceNotFoundException', `Secrets Manager can't find the specified secret.`);
      return { status: 200, body: { ARN: `arn:aws:secretsmanager:us-east-1:${ECR_ACCOUNT}:secret:${body.SecretId}`, Name: body.SecretId, SecretString: value } };
    },
  };

  const server = createServer((req, res) => {
    void readBody(req).then(async (text) => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const body = JSON.parse(text || '{}') as Json;
      const operation = target.split('.').pop() ?? '';
      (REPOSITORY_CALLS.has(operation) ? ecr.calls : calls).push({ target, body });
      const failure = ecr.failures.get(operation);
      let answer: Answer;
      try {
        if (failure) answer = error(failure.type, failure.message, failure.status);
        else answer = (await operations[operation]?.(body)) ?? error('UnknownOperationException', `unknown operation ${target}`);
      } catch (thrown) {
        answer = error('ServerException', String(thrown), 500);
      }
      res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    ecr,
    secrets,
    addRepository(name, settings = {}, account = ECR_ACCOUNT) {
      const repository: EcrRepository = {
        repositoryName: name,
        imageTagMutability: settings.imageTagMutability ?? 'MUTABLE',
        imageScanningConfiguration: settings.imageScanningConfiguration ?? { scanOnPush: false },
        encryptionConfiguration: settings.encryptionConfiguration ?? { encryptionType: 'AES256' },
        createdBy: 'test',
      };
      repositoriesOf(account).set(name, repository);
      return repository;
    },
    hasRepository: (name, account = ECR_ACCOUNT) => repositoriesOf(account).has(name),
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type DeleteOutcome = ImageId | { failureCode: string; failureReason: string };

/** One image id of a BatchDeleteImage, on the real registry (failure codes: the API reference's ImageFailure). */
async function batchDeleteOne(registry: Target, repository: string, imageId: ImageId): Promise<DeleteOutcome> {
  const { imageTag, imageDigest } = imageId;
  if (!imageTag && !imageDigest) return { failureCode: 'MissingDigestAndTag', failureReason: 'Missing image digest and image tag' };
  if (imageTag) {
    const digest = await tagDigest(registry, repository, imageTag);
    if (!digest) return { failureCode: 'ImageNotFound', failureReason: 'Requested image not found' };
    if (imageDigest && imageDigest !== digest) return { failureCode: 'ImageTagDoesNotMatchDigest', failureReason: 'Invalid image digest for the image tag' };
    // The tag goes; the image with it when that was its last tag.
    await untag(registry, repository, imageTag);
    if (![...(await tagsOf(registry, repository)).values()].includes(digest)) await deleteByDigest(registry, repository, digest);
    return { imageTag, imageDigest: digest };
  }
  if ((await getManifest(registry, repository, imageDigest!)).status !== 200) return { failureCode: 'ImageNotFound', failureReason: 'Requested image not found' };
  // ECR refuses to delete a manifest an index still lists (only tagged indexes can be seen here).
  if (await listedByTaggedIndex(registry, repository, imageDigest!)) {
    return { failureCode: 'ImageReferencedByManifestList', failureReason: 'Requested image is referenced by a manifest list' };
  }
  await deleteByDigest(registry, repository, imageDigest!);
  return { imageDigest };
}

async function listedByTaggedIndex(registry: Target, repository: string, digest: string): Promise<boolean> {
  for (const top of new Set((await tagsOf(registry, repository)).values())) {
    const manifest = await getManifest(registry, repository, top);
    const json = JSON.parse(new TextDecoder().decode(manifest.bytes)) as { manifests?: { digest: string }[] };
    if (json.manifests?.some((child) => child.digest === digest)) return true;
  }
  return false;
}
