// Processes the tests start (serve, check, deno): each in a process group of its own, stopped with
// its whole group (npx and deno start children that a plain kill would leave behind), and killed
// when the test process exits, so a failing or interrupted run leaves nothing running.
import { spawn, type ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) signalGroup(child, 'SIGKILL');
});

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // The group is gone already.
  }
}

export interface Started {
  child: ChildProcess;
  /** What `ready` matched on stderr. */
  match: RegExpExecArray;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal) once the process ended. */
  exited: Promise<number | string>;
  /** SIGTERM to the group; SIGKILL after `graceMs`. Resolves with how it ended. */
  stop(graceMs?: number): Promise<number | string>;
}

export interface StartOptions {
  env: NodeJS.ProcessEnv;
  /** Ready once stderr matches this. */
  ready: RegExp;
  timeoutMs?: number;
}

export function startProcess(command: string, args: string[], options: StartOptions): Promise<Started> {
  const child = spawn(command, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  live.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve(code ?? signal ?? 'unknown');
    }),
  );
  const stop = async (graceMs = 10_000): Promise<number | string> => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    signalGroup(child, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
    const how = await exited;
    clearTimeout(timer);
    // Whatever the leader left in its group goes too.
    signalGroup(child, 'SIGKILL');
    return how;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop(0);
      reject(new Error(`${command} ${args.join(' ')}: not ready in ${options.timeoutMs ?? 60_000} ms: ${stderr.slice(-2000)}`));
    }, options.timeoutMs ?? 60_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk;
      const match = options.ready.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match, stdout: () => stdout, stderr: () => stderr, exited, stop });
      }
    });
    void exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')} exited (${how}) before it was ready: ${stderr.slice(-2000)}`));
    });
  });
}

/** Runs a command to its end in a group of its own (killed whole after `timeoutMs`): its exit and output. */
export async function runProcess(command: string, args: string[], options: { env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const child = spawn(command, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  live.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), options.timeoutMs ?? 120_000);
  const code = await new Promise<number | string>((resolve) => child.once('exit', (exitCode, signal) => resolve(exitCode ?? signal ?? 'unknown')));
  clearTimeout(timer);
  live.delete(child);
  // Whatever the leader left in its group goes too (npx leaves deno's children otherwise).
  signalGroup(child, 'SIGKILL');
  return { code, stdout, stderr };
}

/** Deno as the tests run it: from the npm package, never contacting its update server or prompting. */
export function deno(args: string[], env: NodeJS.ProcessEnv = process.env): { command: string; args: string[]; env: NodeJS.ProcessEnv } {
  return { command: 'npx', args: ['deno', ...args], env: { ...env, DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1' } };
}
