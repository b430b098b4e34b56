// Credentials for the registries people use: ECR through GetAuthorizationToken (the registry real,
// only the AWS endpoint a loopback stand-in), a Docker config.json kept in Secrets Manager,
// GCR/Artifact Registry's `_json_key` and `oauth2accesstoken` users; and no credential ever
// shows up in a log line, an answer or a record.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistryAuth } from '../../lib/config/registry-auth.ts';
import { readTextFile } from '../../functions/node/read-file.ts';
import { insecureHosts } from '../../lib/config/insecure.ts';
import { copyImage } from '../../lib/copy/image.ts';
import { parseReference } from '../../lib/reference/reference.ts';
import { RegistryClients } from '../../lib/registry/client.ts';
import { undiciTransport, type LookupFunction } from '../../functions/node/undici-transport.ts';
import { startAwsStandIn, type AwsStandIn } from '../harness/aws-stand-in.ts';
import { pushImage } from '../harness/images.ts';
import { startRegistry, type RunningRegistry } from '../harness/registry.ts';
import { startApi } from './api-support.ts';
import { expectCopied } from './support.ts';

const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const ecrPassword = `ecr-token-${crypto.randomUUID()}`;
const jsonKey = JSON.stringify({ type: 'service_account', project_id: 'p', private_key: '-----BEGIN PRIVATE KEY-----\nMIIE:secret\n-----END PRIVATE KEY-----\n', client_email: 'x@p.iam.gserviceaccount.com' }, null, 2);
const oauthToken = `ya29.${crypto.randomUUID()}`;

let open: RunningRegistry;
let ecr: RunningRegistry;
let gcr: RunningRegistry;
let aws: AwsStandIn;

/** ECR's name resolves to the loopback registry playing ECR. */
const lookup: LookupFunction = (hostname, _options, callback) => {
  if (hostname === ECR) return callback(null, [{ address: '127.0.0.1', family: 4 }]);
  callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
};
const transport = undiciTransport({ lookup });

beforeAll(async () => {
  [open, ecr, gcr] = await Promise.all([
    startRegistry(),
    startRegistry({ auth: 'htpasswd', users: { AWS: ecrPassword } }),
    startRegistry({ auth: 'token', users: { _json_key: jsonKey, oauth2accesstoken: oauthToken } }),
  ]);
  aws = await startAwsStandIn();
  aws.ecr.password = ecrPassword;
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_ECR: aws.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIATESTTESTTESTTEST',
    AWS_SECRET_ACCESS_KEY: 'test-secret-access-key',
  });
});
afterAll(async () => {
  await aws?.stop();
  await Promise.all([open?.stop(), ecr?.stop(), gcr?.stop()]);
});

async function copyWith(env: Record<string, string>, source: string, destination: string) {
  const clients = new RegistryClients({ transport, credentials: await loadRegistryAuth({ HOME: '/nonexistent', ...env }, readTextFile), isInsecure: insecureHosts(ECR) });
  return copyImage(parseReference(source), parseReference(destination), { clients });
}

describe('ECR', () => {
  const ecrHost = () => `${ECR}:${ecr.host.split(':')[1]}`;

  it('authenticates with a GetAuthorizationToken token, fetched once for several copies', async () => {
    const pushed = await pushImage(open, 'cred/ecr', 'v1', { format: 'oci', layers: 2 });
    aws.calls.length = 0;
    const clients = new RegistryClients({ transport, credentials: await loadRegistryAuth({ HOME: '/nonexistent' }, readTextFile), isInsecure: insecureHosts(ECR) });
    await copyImage(parseReference(`${open.host}/cred/ecr:v1`), parseReference(`${ecrHost()}/mirror/ecr:v1`), { clients });
    await copyImage(parseReference(`${open.host}/cred/ecr:v1`), parseReference(`${ecrHost()}/mirror/ecr:v2`), { clients });
    await expectCopied(pushed, open, 'cred/ecr', ecr, 'mirror/ecr', 'v2');
    expect(aws.calls.filter((c) => c.target.endsWith('GetAuthorizationToken'))).toHaveLength(1);
  });

  it('renews a token before it runs out', async () => {
    await pushImage(open, 'cred/ecr-renew', 'v1', { format: 'oci', layers: 1 });
    aws.calls.length = 0;
    // A short life: renewed after three quarters of it (ECR's 12 hours: an hour before the end).
    aws.ecr.lifetimeMs = 2_000;
    try {
      // The renewal's clock, moved forward instead of waiting.
      let ahead = 0;
      const credentials = await loadRegistryAuth({ HOME: '/nonexistent' }, readTextFile, { now: () => Date.now() + ahead });
      const clients = new RegistryClients({ transport, credentials, isInsecure: insecureHosts(ECR) });
      await copyImage(parseReference(`${open.host}/cred/ecr-renew:v1`), parseReference(`${ecrHost()}/mirror/renew:v1`), { clients });
      await copyImage(parseReference(`${open.host}/cred/ecr-renew:v1`), parseReference(`${ecrHost()}/mirror/renew:v0`), { clients });
      expect(aws.calls).toHaveLength(1);
      ahead = 1_600;
      await copyImage(parseReference(`${open.host}/cred/ecr-renew:v1`), parseReference(`${ecrHost()}/mirror/renew:v2`), { clients });
      expect(aws.calls).toHaveLength(2);
    } finally {
      aws.ecr.lifetimeMs = 12 * 3600_000;
    }
  });
});

describe('Secrets Manager (IMAGESYNC_REGISTRY_AUTH_SECRET)', () => {
  it('reads the Docker config.json in the secret', async () => {
    const pushed = await pushImage(open, 'cred/secret', 'v1', { format: 'docker', layers: 1 });
    aws.secrets.set('imagesync/registries', JSON.stringify({ auths: { [gcr.host]: { username: '_json_key', password: jsonKey } } }));
    aws.calls.length = 0;
    await copyWith({ IMAGESYNC_REGISTRY_AUTH_SECRET: 'imagesync/registries' }, `${open.host}/cred/secret:v1`, `${gcr.host}/mirror/secret:v1`);
    await expectCopied(pushed, open, 'cred/secret', gcr, 'mirror/secret', 'v1');
    expect(aws.calls.map((c) => c.target)).toEqual(['secretsmanager.GetSecretValue']);
    expect(aws.calls[0]!.body).toEqual({ SecretId: 'imagesync/registries' });
  });

  it('a missing secret: a clear error naming it', async () => {
    await pushImage(open, 'cred/missing', 'v1', { format: 'oci', layers: 1 });
    const error = await copyWith({ IMAGESYNC_REGISTRY_AUTH_SECRET: 'no/such/secret' }, `${open.host}/cred/missing:v1`, `${gcr.host}/mirror/missing:v1`).catch((e: unknown) => e);
    expect((error as Error).name).toBe('SecretError');
    expect((error as Error).message).toBe('cannot read registry auth secret no/such/secret: ResourceNotFoundException');
  });
});

describe('GCR / Artifact Registry users', () => {
  it.each([
    ['_json_key', () => jsonKey],
    ['oauth2accesstoken', () => oauthToken],
  ])('%s with its secret as the password', async (username, password) => {
    const repo = username.replace(/_/g, '');
    const pushed = await pushImage(open, `cred/${repo}`, 'v1', { format: 'oci', layers: 1 });
    const auth = await writeAuth({ [gcr.host]: { auth: Buffer.from(`${username}:${password()}`).toString('base64') } });
    await copyWith({ IMAGESYNC_REGISTRY_AUTH: auth }, `${open.host}/cred/${repo}:v1`, `${gcr.host}/mirror/${repo}:v1`);
    await expectCopied(pushed, open, `cred/${repo}`, gcr, `mirror/${repo}`, 'v1');
  });
});

describe('no credential leaks', () => {
  it('neither logs, answers nor records of a full run contain a secret', async () => {
    const secrets = [ecrPassword, jsonKey, oauthToken, 'AKIATESTTESTTESTTEST', 'test-secret-access-key', 'wrong-password-4711'];
    const base64 = (s: string) => Buffer.from(s).toString('base64');
    const auth = await writeAuth({
      [gcr.host]: { username: 'oauth2accesstoken', password: oauthToken },
      [`${ECR}:${ecr.host.split(':')[1]}`]: { username: 'AWS', password: 'wrong-password-4711' },
    });
    const answers: string[] = [];
    const real = await startApi({
      env: { IMAGESYNC_INSECURE_REGISTRIES: ECR },
      transport,
      credentialStore: await loadRegistryAuth({ HOME: '/nonexistent', IMAGESYNC_REGISTRY_AUTH: auth }, readTextFile),
    });
    try {
      await pushImage(open, 'cred/leak', 'v1', { format: 'oci', layers: 1 });
      const calls: [string, string, unknown?][] = [
        ['POST', '/v1/images', { source: `${open.host}/cred/leak:v1`, destination: `${gcr.host}/mirror/leak:v1` }],
        // Refused credentials (the ECR entry has the wrong password): an error path.
        ['POST', '/v1/images', { source: `${open.host}/cred/leak:v1`, destination: `${ECR}:${ecr.host.split(':')[1]}/mirror/leak:v1` }],
        ['GET', '/v1/images'],
      ];
      for (const [method, path, body] of calls) answers.push((await real.call(method, path, body)).text);
      expect(answers[0]).toContain('"status":"synced"');
      expect(answers[1]).toContain('401');
      const records = JSON.stringify(await real.store.list(1000));
      const everything = [...real.logs.map((l) => JSON.stringify(l)), ...answers, records].join('\n');
      for (const secret of secrets) {
        expect(everything).not.toContain(secret);
        expect(everything).not.toContain(base64(secret));
      }
      expect(everything).not.toContain(real.token);
    } finally {
      await real.stop();
    }
  });
});

async function writeAuth(auths: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'imagesync-auth-'));
  const path = join(dir, 'config.json');
  await writeFile(path, JSON.stringify({ auths }));
  return path;
}
