// Runs a real registry (Debian's docker-registry 2.8.2) on a loopback port, configured
// from scratch in a temp dir, so integration tests copy between genuine registries.
import bcrypt from 'bcryptjs';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync, closeSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { basicAuthHeader, type Credentials } from './raw-client.ts';
import { startTokenServer, type TokenServer, type TokenServerOptions } from './token-server.ts';

export { basicAuthHeader };

const REGISTRY_BIN = '/usr/bin/docker-registry';
const READY_TIMEOUT_MS = 10_000;

export interface RegistryOptions {
  auth?: 'none' | 'htpasswd' | 'token';
  relativeUrls?: boolean;
  storage?: 'filesystem' | 'inmemory';
  /** username → password; defaults to alice with a random password (htpasswd and token). */
  users?: Record<string, string>;
  /** Extra token server settings when auth is 'token'. */
  token?: Omit<TokenServerOptions, 'users'>;
}

export interface RunningRegistry {
  host: string; // 127.0.0.1:PORT
  url: string; // http://127.0.0.1:PORT
  dir: string;
  logPath: string;
  username?: string;
  password?: string;
  /** Same credentials as username/password, so a RunningRegistry is a harness Target. */
  auth?: Credentials;
  tokenServer?: TokenServer;
  log(): Promise<string>;
  stop(): Promise<void>;
}

// Registries still running when the test process exits are killed, so a crashed or
// interrupted run leaves nothing behind.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

// Every response carries this header with a per-start nonce, so the readiness poll knows it
// reached our process and not another server that grabbed the port first.
const INSTANCE_HEADER = 'X-Imagesync-Instance';

function registryConfig(port: number, nonce: string, dir: string, opts: RegistryOptions, auth: unknown): unknown {
  const storage = opts.storage === 'inmemory' ? { inmemory: {} } : { filesystem: { rootdirectory: join(dir, 'data') } };
  return {
    version: '0.1',
    log: { level: 'error', accesslog: { disabled: true } },
    storage: { ...storage, delete: { enabled: true } },
    http: {
      addr: `127.0.0.1:${port}`,
      secret: randomBytes(16).toString('hex'),
      headers: { [INSTANCE_HEADER]: [nonce] },
      ...(opts.relativeUrls ? { relativeurls: true } : {}),
    },
    ...(auth === undefined ? {} : { auth }),
  };
}

async function htpasswdFile(dir: string, users: Record<string, string>): Promise<string> {
  const path = join(dir, 'htpasswd');
  // The registry accepts bcrypt only; a low cost keeps startup fast.
  const lines = Object.entries(users).map(([u, p]) => `${u}:${bcrypt.hashSync(p, 5)}`);
  await writeFile(path, lines.join('\n') + '\n');
  return path;
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await waitForExit(child);
    clearTimeout(timer);
  }
  live.delete(child);
}

/**
 * Polls GET /v2/ until our instance answers 200 or 401. 'clash' when the process died first
 * or someone else answers: the port was taken between freePort() and bind.
 */
async function waitReady(url: string, nonce: string, child: ChildProcess): Promise<'ready' | 'clash' | 'timeout'> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return 'clash';
    try {
      const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1_000) });
      await res.body?.cancel();
      if (res.headers.get(INSTANCE_HEADER) !== nonce) return 'clash';
      if (res.status === 200 || res.status === 401) return 'ready';
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return 'timeout';
}

async function tail(path: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').slice(-20).join('\n');
}

function cleanEnv(): NodeJS.ProcessEnv {
  // REGISTRY_* variables override the config file; make sure none leak in.
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REGISTRY_')));
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<RunningRegistry> {
  const authKind = opts.auth ?? 'none';
  const dir = await mkdtemp(join(tmpdir(), 'imagesync-registry-'));
  const logPath = join(dir, 'registry.log');
  const users = opts.users ?? { alice: randomBytes(12).toString('hex') };
  const [username, password] = authKind === 'none' ? [] : (Object.entries(users)[0] ?? []);
  let tokenServer: TokenServer | undefined;
  try {
    let auth: unknown;
    if (authKind === 'htpasswd') {
      auth = { htpasswd: { realm: 'imagesync-test', path: await htpasswdFile(dir, users) } };
    } else if (authKind === 'token') {
      tokenServer = await startTokenServer({ ...opts.token, users });
      auth = {
        token: {
          realm: tokenServer.realm,
          service: tokenServer.service,
          issuer: tokenServer.issuer,
          rootcertbundle: tokenServer.certPath,
        },
      };
    }
    const configPath = join(dir, 'config.yml');
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const nonce = randomBytes(8).toString('hex');
      // JSON is valid YAML, and spares us quoting rules.
      await writeFile(configPath, JSON.stringify(registryConfig(port, nonce, dir, opts, auth), null, 2));
      const logFd = openSync(logPath, 'a');
      const child = spawn(REGISTRY_BIN, ['serve', configPath], { cwd: dir, stdio: ['ignore', logFd, logFd], env: cleanEnv() });
      closeSync(logFd);
      live.add(child);
      let spawnError: Error | undefined;
      child.once('error', (err) => (spawnError = err)); // e.g. ENOENT; unhandled it would crash the run
      const url = `http://127.0.0.1:${port}`;
      const state = await waitReady(url, nonce, child);
      if (state === 'ready') {
        const ts = tokenServer;
        return {
          host: `127.0.0.1:${port}`,
          url,
          dir,
          logPath,
          username,
          password,
          auth: username !== undefined && password !== undefined ? { username, password } : undefined,
          tokenServer: ts,
          log: () => readFile(logPath, 'utf8'),
          async stop() {
            await stopProcess(child);
            await ts?.stop();
            await rm(dir, { recursive: true, force: true });
          },
        };
      }
      await stopProcess(child);
      if (spawnError) throw new Error(`cannot run ${REGISTRY_BIN}: ${spawnError.message}`);
      if (state === 'timeout' || attempt >= 5) {
        throw new Error(`registry on ${url} did not become ready (${state}); log tail:\n${await tail(logPath)}`);
      }
      // someone took the port between freePort() and bind: try another one.
    }
  } catch (err) {
    await tokenServer?.stop();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
