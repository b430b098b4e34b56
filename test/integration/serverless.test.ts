// The deployment definition (serverless.yml), checked offline: `osls package` builds the
// CloudFormation template and the function zips without AWS credentials, and the test reads
// them back. Global setup has built dist/.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);
// `npx osls` without npx: the same local bin, no npm start-up cost.
const osls = join(root, 'node_modules/osls/bin/serverless.js');

const TOKEN = 'serverless-test-token';
const SECRET = 'imagesync/registry-auth';
const ALLOWED = 'ghcr.io,*.dkr.ecr.eu-west-1.amazonaws.com';
const ECR_PREFIX = 'mirror/';
const KMS_KEY = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const PROFILES = 'harbor.example.com=harbor';

type Json = Record<string, any>;

interface Packaged {
  dir: string;
  template: Json;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let work: string;
/** Default params, plus a secret, an allowlist, registry profiles and ECR repository settings. */
let main: Packaged;
/** Default params but a custom check rate: no secret, no allowlist. */
let custom: Packaged;
/** No IMAGESYNC_API_TOKEN. */
let tokenless: Run;

/**
 * Runs the framework with no way to reach AWS: no credentials in the environment, no shared
 * config or credentials file, no instance metadata. Any AWS call would fail the packaging.
 */
function runOsls(cwd: string, args: string[], env: Record<string, string>): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(AWS_|IMAGESYNC_|SLS_|SERVERLESS_)/.test(key)));
  return new Promise((done) => {
    execFile(
      process.execPath,
      [osls, ...args],
      {
        cwd,
        env: {
          ...clean,
          AWS_CONFIG_FILE: join(work, 'no-aws-config'),
          AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-aws-credentials'),
          AWS_EC2_METADATA_DISABLED: 'true',
          ...env,
        },
        maxBuffer: 16 * 1024 * 1024,
        timeout: 50_000,
      },
      (error, stdout, stderr) => done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * osls always stages its output in `<service>/.serverless/` (wiped at the start of a run, moved
 * to --package at the end), even with --package: each run gets its own copy of the service, so
 * that runs can go side by side and nothing is written into (or deleted from) the repository.
 */
async function serviceCopy(name: string): Promise<string> {
  const dir = join(work, `${name}-service`);
  await mkdir(join(dir, 'dist'), { recursive: true });
  await cp(join(root, 'serverless.yml'), join(dir, 'serverless.yml'));
  await cp(join(root, 'infra/serverless'), join(dir, 'infra/serverless'), { recursive: true });
  for (const file of ['api.mjs', 'api.mjs.map', 'check.mjs', 'check.mjs.map']) await cp(join(root, 'dist', file), join(dir, 'dist', file));
  return dir;
}

async function packageService(name: string, params: string[], env: Record<string, string> = { IMAGESYNC_API_TOKEN: TOKEN }): Promise<Run & { dir: string }> {
  const dir = join(work, name);
  const run = await runOsls(await serviceCopy(name), ['package', '--stage', 'test', '--package', dir, ...params.map((p) => `--param=${p}`)], env);
  return { ...run, dir };
}

async function packaged(run: Run & { dir: string }, what: string): Promise<Packaged> {
  if (run.code !== 0) throw new Error(`osls package (${what}) failed:\n${run.stdout}\n${run.stderr}`);
  const template = JSON.parse(await readFile(join(run.dir, 'cloudformation-template-update-stack.json'), 'utf8')) as Json;
  return { dir: run.dir, template };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'imagesync-sls-'));
  const runs = await Promise.all([
    packageService('main', [`registryAuthSecret=${SECRET}`, `allowedRegistries=${ALLOWED}`, `ecrRepositoryPrefix=${ECR_PREFIX}`, `ecrKmsKey=${KMS_KEY}`, 'ecrTagMutability=IMMUTABLE', `registryProfiles=${PROFILES}`]),
    packageService('custom', ['checkRate=rate(5 minutes)']),
    packageService('tokenless', [], {}),
  ]);
  main = await packaged(runs[0], 'secret, allowlist, profiles and ECR settings');
  custom = await packaged(runs[1], 'custom check rate');
  tokenless = runs[2];
}, 60_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

// --- template helpers ---------------------------------------------------------------------

function resources(template: Json, type: string): [string, Json][] {
  return Object.entries(template.Resources as Record<string, Json>).filter(([, r]) => r.Type === type);
}

function fn(template: Json, logicalId: 'ApiLambdaFunction' | 'CheckLambdaFunction'): Json {
  const resource = template.Resources[logicalId];
  expect(resource?.Type).toBe('AWS::Lambda::Function');
  return resource.Properties;
}

interface Statement {
  Effect: string;
  Action: string[];
  Resource: unknown[];
  /** Where it comes from: the role's inline policy or a separate AWS::IAM::Policy. */
  origin: string;
  condition?: string;
}

/** Every identity-policy statement in the template, normalized to arrays. */
function statements(template: Json): Statement[] {
  const found: Statement[] = [];
  const add = (document: Json, origin: string, condition?: string) => {
    for (const s of document.Statement as Json[]) {
      expect(s.NotAction, 'NotAction grants everything else').toBeUndefined();
      expect(s.NotResource, 'NotResource grants everything else').toBeUndefined();
      found.push({ Effect: s.Effect, Action: [s.Action].flat(), Resource: [s.Resource].flat(), origin, condition });
    }
  };
  for (const [id, role] of resources(template, 'AWS::IAM::Role')) {
    expect(role.Properties.ManagedPolicyArns, 'no managed policies on the role').toBeUndefined();
    for (const policy of role.Properties.Policies ?? []) add(policy.PolicyDocument, id);
  }
  for (const [id, policy] of resources(template, 'AWS::IAM::Policy')) add(policy.Properties.PolicyDocument, id, policy.Condition);
  for (const type of ['AWS::IAM::ManagedPolicy', 'AWS::IAM::User', 'AWS::IAM::Group']) expect(resources(template, type)).toEqual([]);
  return found;
}

/** Evaluates a template condition built from literals (what the packaged template holds). */
function holds(template: Json, condition: unknown): boolean {
  if (typeof condition === 'string') return holds(template, template.Conditions[condition]);
  const [[fn, args]] = Object.entries(condition as Record<string, unknown[]>);
  switch (fn) {
    case 'Fn::Equals':
      if (args.some((a) => typeof a !== 'string')) throw new Error(`not a literal condition: ${JSON.stringify(condition)}`);
      return args[0] === args[1];
    case 'Fn::Not':
      return !holds(template, args[0]);
    case 'Fn::And':
      return args.every((a) => holds(template, a));
    case 'Fn::Or':
      return args.some((a) => holds(template, a));
    case 'Condition':
      return holds(template, args);
    default:
      throw new Error(`unexpected condition ${fn}`);
  }
}

/** The statements CloudFormation creates: those of resources whose condition holds. */
function effective(template: Json): Statement[] {
  return statements(template).filter((s) => s.condition === undefined || holds(template, s.condition));
}

const sub = (s: string) => ({ 'Fn::Sub': s });
const TABLE_ARN = { 'Fn::GetAtt': ['ImagesyncTable', 'Arn'] };
/** The repositories the ECR actions are granted on: those whose name starts with the prefix param. */
const ecrRepositories = (prefix: string) => sub(`arn:\${AWS::Partition}:ecr:*:\${AWS::AccountId}:repository/${prefix}*`);
const API_FUNCTION = sub('arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:imagesync-test-api');
const SECRET_ARN = sub(`arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${SECRET}-??????`);
const DYNAMODB_ACTIONS = ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Scan', 'DescribeTable'].map((a) => `dynamodb:${a}`);
const ECR_ACTIONS = [
  // The repository, found or made before the first push.
  'DescribeRepositories',
  'CreateRepository',
  // Pull, push, and the registry API's tag list (deletion reads it).
  'BatchCheckLayerAvailability',
  'GetDownloadUrlForLayer',
  'BatchGetImage',
  'ListImages',
  'InitiateLayerUpload',
  'UploadLayerPart',
  'CompleteLayerUpload',
  'PutImage',
  'BatchDeleteImage',
].map((a) => `ecr:${a}`);
const LOG_ACTIONS = ['logs:CreateLogStream', 'logs:CreateLogGroup', 'logs:TagResource', 'logs:PutLogEvents'];

// --- zip listing (central directory), so that no unzip tool or zip package is needed -------

async function zipEntries(path: string): Promise<Map<string, number>> {
  const zip = await readFile(path);
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0) throw new Error(`${path}: not a zip file`);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`${path}: bad central directory`);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    entries.set(zip.toString('utf8', at + 46, at + 46 + nameLength), size);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

// --- the tests ----------------------------------------------------------------------------

describe('serverless.yml, packaged offline', () => {
  it('packages without AWS credentials, and refuses to package without IMAGESYNC_API_TOKEN', () => {
    expect(main.template.Resources).toBeDefined();
    expect(tokenless.code).not.toBe(0);
    expect(`${tokenless.stdout}${tokenless.stderr}`).toMatch(/IMAGESYNC_API_TOKEN/);
  });

  it('defines both functions: nodejs22.x on arm64, 15 minutes, the bundles\' handlers', () => {
    for (const [id, handler, name] of [
      ['ApiLambdaFunction', 'dist/api.handler', 'imagesync-test-api'],
      ['CheckLambdaFunction', 'dist/check.handler', 'imagesync-test-check'],
    ] as const) {
      const props = fn(main.template, id);
      expect(props.Runtime).toBe('nodejs22.x');
      expect(props.Architectures).toEqual(['arm64']);
      expect(props.Timeout).toBe(900);
      expect(props.MemorySize).toBe(1024);
      expect(props.Handler).toBe(handler);
      expect(props.FunctionName).toBe(name);
      expect(props.Role).toEqual({ 'Fn::GetAtt': ['IamRoleLambdaExecution', 'Arn'] });
    }
    // Only the two functions, no published versions piling up.
    expect(resources(main.template, 'AWS::Lambda::Function').map(([id]) => id).sort()).toEqual(['ApiLambdaFunction', 'CheckLambdaFunction']);
    expect(resources(main.template, 'AWS::Lambda::Version')).toEqual([]);
    // A failed check run is left to the next scheduled one.
    const [[, invokeConfig]] = resources(main.template, 'AWS::Lambda::EventInvokeConfig');
    expect(invokeConfig.Properties).toMatchObject({ FunctionName: { Ref: 'CheckLambdaFunction' }, MaximumRetryAttempts: 0 });
  });

  it('keeps the logs for a bounded time', () => {
    const groups = resources(main.template, 'AWS::Logs::LogGroup');
    expect(groups.map(([, g]) => g.Properties.LogGroupName).sort()).toEqual(['/aws/lambda/imagesync-test-api', '/aws/lambda/imagesync-test-check']);
    for (const [, group] of groups) expect(group.Properties.RetentionInDays).toBe(30);
  });

  it('zips each function with its bundle and source map only', async () => {
    for (const name of ['api', 'check']) {
      const entries = await zipEntries(join(main.dir, `${name}.zip`));
      expect([...entries.keys()].sort()).toEqual([`dist/${name}.mjs`, `dist/${name}.mjs.map`]);
      for (const [file, size] of entries) expect(size, file).toBe((await stat(join(root, file))).size);
      // The handler the template names is what the bundle exports.
      expect(await readFile(join(root, `dist/${name}.mjs`), 'utf8')).toMatch(/export\s*\{[^}]*\bas handler\b|export\s+(async\s+)?function\s+handler\b/);
    }
    // The code the template deploys is those zips.
    expect(fn(main.template, 'ApiLambdaFunction').Code.S3Key).toMatch(/\/api\.zip$/);
    expect(fn(main.template, 'CheckLambdaFunction').Code.S3Key).toMatch(/\/check\.zip$/);
  });

  it('gives the API a public Function URL (the app checks bearer tokens) and outputs it', () => {
    const urls = resources(main.template, 'AWS::Lambda::Url');
    expect(urls).toHaveLength(1);
    const [[urlId, url]] = urls;
    expect(url.Properties).toMatchObject({ AuthType: 'NONE', TargetFunctionArn: { 'Fn::GetAtt': ['ApiLambdaFunction', 'Arn'] } });
    const outputs = Object.values(main.template.Outputs as Record<string, Json>);
    expect(outputs.some((o) => JSON.stringify(o.Value) === JSON.stringify({ 'Fn::GetAtt': [urlId, 'FunctionUrl'] }))).toBe(true);
    // Every resource-based permission is for the URL or for the schedule, nothing else.
    const permissions = resources(main.template, 'AWS::Lambda::Permission').map(([, p]) => p.Properties);
    for (const p of permissions) {
      if (p.Principal === '*') {
        expect(p.FunctionName).toEqual({ 'Fn::GetAtt': ['ApiLambdaFunction', 'Arn'] });
        expect(p.FunctionUrlAuthType === 'NONE' || p.InvokedViaFunctionUrl === true, JSON.stringify(p)).toBe(true);
      } else {
        expect(p).toMatchObject({ Principal: 'events.amazonaws.com', FunctionName: { 'Fn::GetAtt': ['CheckLambdaFunction', 'Arn'] } });
      }
    }
  });

  it('runs the check on a schedule: every 15 minutes by default, the checkRate param otherwise', () => {
    for (const [template, rate] of [
      [main.template, 'rate(15 minutes)'],
      [custom.template, 'rate(5 minutes)'],
    ] as const) {
      const rules = resources(template, 'AWS::Events::Rule');
      expect(rules).toHaveLength(1);
      const [[, rule]] = rules;
      expect(rule.Properties.ScheduleExpression).toBe(rate);
      expect(rule.Properties.State).toBe('ENABLED');
      expect(rule.Properties.Targets).toEqual([expect.objectContaining({ Arn: { 'Fn::GetAtt': ['CheckLambdaFunction', 'Arn'] } })]);
    }
  });

  it('keeps the records in a retained, protected, encrypted on-demand table', () => {
    const table = main.template.Resources.ImagesyncTable;
    expect(table.Type).toBe('AWS::DynamoDB::Table');
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      TableName: 'imagesync-test',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      SSESpecification: { SSEEnabled: true },
    });
    expect(resources(main.template, 'AWS::DynamoDB::Table')).toHaveLength(1);
  });

  it('configures both functions per the contract; the token only reaches the API', () => {
    const shared = {
      IMAGESYNC_TABLE: { Ref: 'ImagesyncTable' },
      IMAGESYNC_REGISTRY_AUTH_SECRET: SECRET,
      IMAGESYNC_ALLOWED_REGISTRIES: ALLOWED,
      IMAGESYNC_REGISTRY_PROFILES: PROFILES,
      IMAGESYNC_ECR_CREATE_REPOSITORIES: 'true',
      IMAGESYNC_ECR_TAG_MUTABILITY: 'IMMUTABLE',
      IMAGESYNC_ECR_SCAN_ON_PUSH: 'false',
      IMAGESYNC_ECR_KMS_KEY: KMS_KEY,
      NODE_OPTIONS: '--enable-source-maps',
    };
    expect(fn(main.template, 'ApiLambdaFunction').Environment.Variables).toEqual({ ...shared, IMAGESYNC_API_TOKEN: TOKEN });
    expect(fn(main.template, 'CheckLambdaFunction').Environment.Variables).toEqual(shared);
    // Defaults: no secret, no allowlist, profiles by host name, ECR repositories created
    // mutable, without scanning, AES256 (empty means unset to the app).
    const defaults = {
      ...shared,
      IMAGESYNC_REGISTRY_AUTH_SECRET: '',
      IMAGESYNC_ALLOWED_REGISTRIES: '',
      IMAGESYNC_REGISTRY_PROFILES: '',
      IMAGESYNC_ECR_TAG_MUTABILITY: 'MUTABLE',
      IMAGESYNC_ECR_KMS_KEY: '',
    };
    expect(fn(custom.template, 'ApiLambdaFunction').Environment.Variables).toEqual({ ...defaults, IMAGESYNC_API_TOKEN: TOKEN });
    expect(fn(custom.template, 'CheckLambdaFunction').Environment.Variables).toEqual(defaults);
  });

  describe('IAM, least privilege', () => {
    it('grants no wildcard action, and a wildcard resource only for ecr:GetAuthorizationToken', () => {
      for (const { template } of [main, custom]) {
        for (const s of statements(template)) {
          expect(s.Effect).toBe('Allow');
          for (const action of s.Action) expect(action, JSON.stringify(s)).not.toContain('*');
          if (s.Resource.includes('*')) expect(s.Action, 'a statement on "*"').toEqual(['ecr:GetAuthorizationToken']);
        }
        // Exactly the actions the code needs (plus the framework's log writing), nothing else.
        const actions = new Set(effective(template).flatMap((s) => s.Action));
        const expected = [...LOG_ACTIONS, ...DYNAMODB_ACTIONS, 'ecr:GetAuthorizationToken', ...ECR_ACTIONS, 'lambda:InvokeFunction'];
        if (template === main.template) expected.push('secretsmanager:GetSecretValue', 'kms:DescribeKey', 'kms:CreateGrant', 'kms:RetireGrant');
        expect([...actions].sort()).toEqual(expected.sort());
      }
    });

    it('allows the DynamoDB calls on the records table only', () => {
      const dynamo = statements(main.template).filter((s) => s.Action.some((a) => a.startsWith('dynamodb:')));
      expect(dynamo).toHaveLength(1);
      expect([...dynamo[0]!.Action].sort()).toEqual([...DYNAMODB_ACTIONS].sort());
      expect(dynamo[0]!.Resource).toEqual([TABLE_ARN]);
    });

    it('allows ECR login everywhere (no resource-level permission exists), repository and image calls on the prefix\'s repositories only', () => {
      for (const [template, prefix] of [
        [main.template, ECR_PREFIX],
        [custom.template, ''],
      ] as const) {
        const ecr = statements(template).filter((s) => s.Action.some((a) => a.startsWith('ecr:')));
        const login = ecr.filter((s) => s.Action.includes('ecr:GetAuthorizationToken'));
        expect(login).toEqual([expect.objectContaining({ Action: ['ecr:GetAuthorizationToken'], Resource: ['*'] })]);
        const images = ecr.filter((s) => !s.Action.includes('ecr:GetAuthorizationToken'));
        expect(images).toHaveLength(1);
        expect([...images[0]!.Action].sort()).toEqual([...ECR_ACTIONS].sort());
        expect(images[0]!.Resource).toEqual([ecrRepositories(prefix)]);
        // No ECR action but the login on `*` or on any other resource, in any statement.
        for (const s of effective(template)) {
          if (!s.Action.some((a) => ECR_ACTIONS.includes(a))) continue;
          expect(s.Resource, JSON.stringify(s)).not.toContain('*');
          expect(s.Resource).toEqual([ecrRepositories(prefix)]);
        }
      }
      // The prefix param ends up in the ARN as it was given, the wildcard after it.
      expect(JSON.stringify(main.template)).toContain(':repository/mirror/*');
    });

    it('lets the API invoke itself and nothing else', () => {
      const invoke = statements(main.template).filter((s) => s.Action.some((a) => a.startsWith('lambda:')));
      expect(invoke).toEqual([expect.objectContaining({ Action: ['lambda:InvokeFunction'], Resource: [API_FUNCTION] })]);
      // The ARN names the function the template creates (an explicit name: a Fn::GetAtt on
      // the function would make the role depend on the function that depends on the role).
      expect(API_FUNCTION['Fn::Sub']).toMatch(new RegExp(`:function:${fn(main.template, 'ApiLambdaFunction').FunctionName}$`));
    });

    it('reads the configured registry-auth secret only, and no secret when none is configured', () => {
      const secrets = statements(main.template).filter((s) => s.Action.some((a) => a.startsWith('secretsmanager:')));
      expect(secrets).toEqual([
        { Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: [SECRET_ARN], origin: 'RegistryAuthSecretPolicy', condition: 'HasRegistryAuthSecret' },
      ]);
      const policy = main.template.Resources.RegistryAuthSecretPolicy;
      expect(policy.Properties.Roles).toEqual([{ Ref: 'IamRoleLambdaExecution' }]);
      expect(main.template.Conditions.HasRegistryAuthSecret).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [SECRET, ''] }] });
      // Without the param the policy's condition is false: CloudFormation does not create it,
      // and the role's own policy has no Secrets Manager statement.
      expect(holds(main.template, 'HasRegistryAuthSecret')).toBe(true);
      expect(custom.template.Conditions.HasRegistryAuthSecret).toEqual({ 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] });
      expect(holds(custom.template, 'HasRegistryAuthSecret')).toBe(false);
      expect(custom.template.Resources.RegistryAuthSecretPolicy.Condition).toBe('HasRegistryAuthSecret');
      expect(effective(custom.template).flatMap((s) => s.Action).filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
    });

    it('lets ECR create grants on the configured KMS key only, and on no key when none is configured', () => {
      const kms = statements(main.template).filter((s) => s.Action.some((a) => a.startsWith('kms:')));
      expect(kms).toEqual([
        { Effect: 'Allow', Action: ['kms:DescribeKey', 'kms:CreateGrant', 'kms:RetireGrant'], Resource: [KMS_KEY], origin: 'EcrKmsKeyPolicy', condition: 'HasEcrKmsKey' },
      ]);
      expect(main.template.Resources.EcrKmsKeyPolicy.Properties.Roles).toEqual([{ Ref: 'IamRoleLambdaExecution' }]);
      expect(holds(main.template, 'HasEcrKmsKey')).toBe(true);
      expect(holds(custom.template, 'HasEcrKmsKey')).toBe(false);
      expect(effective(custom.template).flatMap((s) => s.Action).filter((a) => a.startsWith('kms:'))).toEqual([]);
    });

    it('turns a secret name into that secret\'s ARN pattern, keeps an ARN, refuses anything else', () => {
      const { secretResource } = require(join(root, 'infra/serverless/secret-arn.cjs')) as { secretResource: (value: string | null) => unknown };
      expect(secretResource('team/registry-auth')).toEqual(
        sub('arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:team/registry-auth-??????'),
      );
      const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/registry-auth-AbCdEf';
      expect(secretResource(arn)).toBe(arn);
      expect(() => secretResource('not a name')).toThrow(/neither a secret name nor an ARN/);
      expect(() => secretResource('${AWS::AccountId}')).toThrow(/neither a secret name nor an ARN/);
    });
  });
});
