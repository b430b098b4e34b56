// The CLI bundle users run (dist/cli.mjs, built by the global setup): output on success, and one
// clear line on stderr with a non-zero exit for each kind of mistake.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushImage } from '../harness/images.ts';
import { startRegistry, type RunningRegistry } from '../harness/registry.ts';

let open: RunningRegistry;
let basic: RunningRegistry;
let home: string;

beforeAll(async () => {
  [open, basic] = await Promise.all([startRegistry(), startRegistry({ auth: 'htpasswd' })]);
  home = await mkdtemp(join(tmpdir(), 'imagesync-cli-'));
});
afterAll(async () => {
  await Promise.all([open?.stop(), basic?.stop()]);
  if (home) await rm(home, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    // HOME points at an empty folder so no real ~/.docker/config.json is read.
    // A command that should answer at once but runs on (`serve --help` serving) is killed.
    const options = { env: { PATH: process.env.PATH!, HOME: home, ...env }, timeout: 30_000, killSignal: 'SIGKILL' as const };
    execFile(process.execPath, ['dist/cli.mjs', ...args], options, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function authFile(entries: Record<string, unknown>): Promise<string> {
  const path = join(home, `auth-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(path, JSON.stringify({ auths: entries }));
  return path;
}

function expectOneLine(run: Run, pattern: RegExp): void {
  expect(run.code).not.toBe(0);
  expect(run.stdout).toBe('');
  const lines = run.stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(run.stderr).not.toMatch(/\bat .+:\d+:\d+/); // no stack trace
}

describe('imagesync copy', () => {
  it('prints the destination pinned by digest and nothing else', async () => {
    const pushed = await pushImage(open, 'cli/app', 'v1', { format: 'oci', layers: 2 });
    const run = await cli(['copy', `${open.host}/cli/app:v1`, `${open.host}/cli/copy:v1`]);
    expect(run).toEqual({ code: 0, stdout: `${open.host}/cli/copy@${pushed.digest}\n`, stderr: '' });
  });

  it('reports progress on stderr with --verbose', async () => {
    await pushImage(open, 'cli/verbose', 'v1', { format: 'oci', layers: 1 });
    const run = await cli(['copy', '-v', `${open.host}/cli/verbose:v1`, `${open.host}/cli/verbose-copy:v1`]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^mounted +sha256:[0-9a-f]{12} /m);
    expect(run.stderr).toMatch(/^pushed +manifest sha256:[0-9a-f]{12} as v1$/m);
    expect(run.stderr).toMatch(/^done in .*: blobs 0 copied \(0 B\), 0 present, 2 mounted; manifests 1 pushed$/m);
  });

  it('uses credentials from IMAGESYNC_REGISTRY_AUTH', async () => {
    const pushed = await pushImage(open, 'cli/private', 'v1', { format: 'docker', layers: 1 });
    const auth = await authFile({ [`http://${basic.host}`]: { auth: btoa(`${basic.username}:${basic.password}`) } });
    const run = await cli(['copy', `${open.host}/cli/private:v1`, `${basic.host}/cli/private:v1`], { IMAGESYNC_REGISTRY_AUTH: auth });
    expect(run).toEqual({ code: 0, stdout: `${basic.host}/cli/private@${pushed.digest}\n`, stderr: '' });
  });

  it('reads ~/.docker/config.json through DOCKER_CONFIG', async () => {
    await pushImage(open, 'cli/docker-config', 'v1', { format: 'oci', layers: 1 });
    const dir = await mkdtemp(join(home, 'docker-'));
    await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [basic.host]: { username: basic.username, password: basic.password } } }));
    const run = await cli(['copy', `${open.host}/cli/docker-config:v1`, `${basic.host}/cli/docker-config:v1`], { DOCKER_CONFIG: dir });
    expect(run.code).toBe(0);
  });

  it('a missing source image: one line naming it', async () => {
    const run = await cli(['copy', `${open.host}/cli/nothing:here`, `${open.host}/cli/nothing:copy`]);
    expectOneLine(run, new RegExp(`^imagesync: source image ${open.host}/cli/nothing:here not found \\(${open.host} answered 404 (MANIFEST_UNKNOWN|NAME_UNKNOWN)\\)$`));
    expect(run.code).toBe(1);
  });

  it('a bad reference is a usage mistake: one line naming the argument and what is wrong, exit 2', async () => {
    const source = await cli(['copy', 'Upper/Case:v1', `${open.host}/cli/x:v1`]);
    expectOneLine(source, /^imagesync: invalid SOURCE "Upper\/Case:v1": repository name must be lowercase \(run "imagesync copy --help" for usage\)$/);
    expect(source.code).toBe(2);
    const destination = await cli(['copy', `${open.host}/cli/x:v1`, 'Foo/bar:1']);
    expectOneLine(destination, /^imagesync: invalid DESTINATION "Foo\/bar:1": repository name must be lowercase \(run "imagesync copy --help" for usage\)$/);
    expect(destination.code).toBe(2);
  });

  it('wrong credentials: one line, and the password is not in it', async () => {
    await pushImage(open, 'cli/denied', 'v1', { format: 'oci', layers: 1 });
    const auth = await authFile({ [basic.host]: { username: basic.username, password: 'wrong-pass-9c2e' } });
    const run = await cli(['copy', `${open.host}/cli/denied:v1`, `${basic.host}/cli/denied:v1`], { IMAGESYNC_REGISTRY_AUTH: auth });
    expectOneLine(run, new RegExp(`^imagesync: ${basic.host}: HEAD manifest cli/denied:v1 failed: 401 UNAUTHORIZED \\(the credentials for ${basic.host} were refused\\)$`));
    expect(run.stderr).not.toContain('wrong-pass-9c2e');
  });

  it('no credentials for a registry that needs them: one line that says so', async () => {
    await pushImage(open, 'cli/anon', 'v1', { format: 'oci', layers: 1 });
    const run = await cli(['copy', `${open.host}/cli/anon:v1`, `${basic.host}/cli/anon:v1`]);
    expectOneLine(run, new RegExp(`\\(no credentials configured for ${basic.host}\\)$`));
  });

  it('a registry auth file that does not exist: one line naming it', async () => {
    const run = await cli(['copy', `${open.host}/a:v1`, `${open.host}/b:v1`], { IMAGESYNC_REGISTRY_AUTH: join(home, 'missing.json') });
    expectOneLine(run, /^imagesync: cannot read registry auth file .*missing\.json: ENOENT$/);
  });

  it('an unreachable registry: one line naming the host', async () => {
    const run = await cli(['copy', '127.0.0.1:9/a:v1', `${open.host}/b:v1`]);
    expectOneLine(run, /^imagesync: cannot reach 127\.0\.0\.1:9: ECONNREFUSED$/);
  });

  it('usage mistakes exit 2', async () => {
    const run = await cli(['copy', 'only-one']);
    expectOneLine(run, /^imagesync: copy needs SOURCE and DESTINATION, got 1 argument\(s\) \(run "imagesync copy --help" for usage\)$/);
    expect(run.code).toBe(2);
    const unknown = await cli(['frobnicate']);
    expectOneLine(unknown, /^imagesync: unknown command "frobnicate" \(run "imagesync help" for usage\)$/);
    expect(unknown.code).toBe(2);
  });
});

describe('imagesync help', () => {
  it.each([
    ['copy', '--help'],
    ['copy', '-h'],
    ['serve', '--help'],
    ['serve', '-h'],
    ['check', '--help'],
    ['check', '-h'],
  ])('%s %s: its usage on stdout, exit 0, and nothing else done', async (command, flag) => {
    // A data directory that would appear if serve or check opened their store.
    const dataDir = join(home, `help-${command}${flag}`);
    const run = await cli([command, flag], { IMAGESYNC_DATA_DIR: dataDir });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^imagesync ${command}\\b[^\\n]*\\n\\n`));
    expect((await cli(['help', command])).stdout).toBe(run.stdout);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('check --help says how it exits', async () => {
    const run = await cli(['check', '--help']);
    expect(run.stdout.replace(/\s+/g, ' ')).toContain('Exits 0 when no record failed, 1 when at least one did');
  });

  it('-h and help: the command list, its summaries in one column', async () => {
    const run = await cli(['-h']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect((await cli(['help'])).stdout).toBe(run.stdout);
    const rows = run.stdout.split('\n').filter((line) => line.startsWith('  imagesync '));
    expect(rows.map((row) => row.split(/\s{2,}/)[1])).toEqual([
      'imagesync copy SOURCE DESTINATION',
      'imagesync serve [--port N] [--host H]',
      'imagesync check',
      'imagesync help [COMMAND]',
      'imagesync version',
    ]);
    const columns = rows.map((row) => row.lastIndexOf(row.split(/\s{2,}/)[2]!));
    expect(new Set(columns).size, run.stdout).toBe(1);
  });

  it('help for a command that does not exist: exit 2', async () => {
    const run = await cli(['help', 'frobnicate']);
    expectOneLine(run, /^imagesync: no command "frobnicate" \(run "imagesync help" for usage\)$/);
    expect(run.code).toBe(2);
  });
});
