// runCli, the runtime-neutral command line: help for every command, the aligned command list,
// and which mistakes are usage mistakes (exit 2) rather than failures (exit 1).
import { describe, expect, it } from 'vitest';
import type { CommandContext } from '../../../lib/cli/context.ts';
import { copyUsage } from '../../../lib/cli/copy-command.ts';
import { runCli, type Command } from '../../../lib/cli/main.ts';

interface Run {
  code: number;
  stdout: string[];
  stderr: string[];
  /** Commands whose `run` was called. */
  ran: string[];
  /** Requests the transport was asked for. */
  requests: number;
}

/** Stand-ins for the runtime's commands, with synopses of different lengths. */
function extras(ran: string[]): Record<string, Command> {
  const command = (name: string, synopsis: string): Command => ({
    synopsis,
    summary: `what ${name} does`,
    usage: `imagesync ${synopsis}\n\nThe usage of ${name}.`,
    run: async () => {
      ran.push(name);
      return 0;
    },
  });
  return { serve: command('serve', 'serve [--port N] [--host H]'), check: command('check', 'check') };
}

async function cli(...argv: string[]): Promise<Run> {
  const run: Run = { code: -1, stdout: [], stderr: [], ran: [], requests: 0 };
  const context: CommandContext = {
    // No real ~/.docker/config.json is read.
    env: { DOCKER_CONFIG: '/nonexistent/imagesync-test' },
    stdout: (line) => run.stdout.push(line),
    stderr: (line) => run.stderr.push(line),
    stderrIsTTY: false,
    readFile: async () => undefined,
    transport: () => {
      run.requests++;
      return Promise.reject(new Error('the transport is down'));
    },
    userAgent: 'imagesync-test',
  };
  run.code = await runCli(argv, context, extras(run.ran));
  return run;
}

describe('--help and -h', () => {
  it.each([
    ['copy', copyUsage],
    ['serve', 'imagesync serve [--port N] [--host H]\n\nThe usage of serve.'],
    ['check', 'imagesync check\n\nThe usage of check.'],
  ])('%s answers with its usage on stdout, exit 0, and does not run', async (name, usage) => {
    for (const argv of [[name, '--help'], [name, '-h'], [name, '--port', '1', '-h'], [name, 'a', 'b', '--help']]) {
      const run = await cli(...argv);
      expect(run, argv.join(' ')).toEqual({ code: 0, stdout: [usage], stderr: [], ran: [], requests: 0 });
    }
  });

  it('imagesync help COMMAND prints the same usage', async () => {
    expect(await cli('help', 'copy')).toMatchObject({ code: 0, stdout: [copyUsage], stderr: [] });
    expect(await cli('help', 'serve')).toMatchObject({ code: 0, stdout: ['imagesync serve [--port N] [--host H]\n\nThe usage of serve.'] });
  });

  it('after "--", -h is an argument, not a request for help', async () => {
    const run = await cli('copy', '--', '-h');
    expect(run.code).toBe(2);
    expect(run.stdout).toEqual([]);
  });

  it('help for a command that does not exist is a usage mistake', async () => {
    for (const name of ['nope', 'constructor']) {
      const run = await cli('help', name);
      expect(run).toMatchObject({ code: 2, stdout: [], stderr: [`imagesync: no command "${name}" (run "imagesync help" for usage)`] });
    }
  });

  it('an unknown command, even one named like an Object property, is a usage mistake', async () => {
    for (const name of ['frobnicate', 'constructor', '__proto__', 'toString']) {
      const run = await cli(name);
      expect(run).toMatchObject({ code: 2, stdout: [], stderr: [`imagesync: unknown command "${name}" (run "imagesync help" for usage)`] });
    }
  });
});

describe('the command list', () => {
  it.each([[[]], [['help']], [['--help']], [['-h']], [['help', '-h']]])('%j prints it on stdout, exit 0', async (argv: string[]) => {
    const run = await cli(...argv);
    expect(run.code).toBe(0);
    expect(run.stderr).toEqual([]);
    expect(run.stdout).toHaveLength(1);
    expect(run.stdout[0]).toMatch(/^imagesync \d+\.\d+\.\d+: /);
  });

  it('starts every summary in the same column, two spaces or more after the longest synopsis', async () => {
    const [text] = (await cli('help')).stdout;
    const prefix = '  imagesync ';
    const rows = text!
      .split('\n')
      .filter((line) => line.startsWith(prefix))
      .map((line) => {
        const [synopsis, summary] = line.slice(prefix.length).split(/\s{2,}/);
        return { synopsis, summary, column: line.lastIndexOf(summary!) };
      });
    expect(rows.map((row) => row.synopsis)).toEqual(['copy SOURCE DESTINATION', 'serve [--port N] [--host H]', 'check', 'help [COMMAND]', 'version']);
    expect(rows.map((row) => row.summary)).toEqual(expect.arrayContaining(['what serve does', 'what check does']));
    const longest = `${prefix}serve [--port N] [--host H]  `.length;
    expect(rows.map((row) => row.column)).toEqual(rows.map(() => longest));
  });
});

describe('usage mistakes exit 2, failures exit 1', () => {
  it.each([
    ['SOURCE', ['Upper/Case:v1', '127.0.0.1:5000/a:v1'], '"Upper/Case:v1": repository name must be lowercase'],
    ['DESTINATION', ['127.0.0.1:5000/a:v1', 'a/b:bad tag'], '"a/b:bad tag"'],
    ['SOURCE', ['', '127.0.0.1:5000/a:v1'], '""'],
  ])('an invalid %s is a usage mistake: one line naming it, no request made', async (name, args, problem) => {
    const run = await cli('copy', ...args);
    expect(run.code).toBe(2);
    expect(run.requests).toBe(0);
    expect(run.stdout).toEqual([]);
    expect(run.stderr).toHaveLength(1);
    expect(run.stderr[0]).toContain(`imagesync: invalid ${name} ${problem}`);
    expect(run.stderr[0]).toMatch(/ \(run "imagesync copy --help" for usage\)$/);
  });

  it('a wrong option points at the usage of its command', async () => {
    const run = await cli('copy', '--nope', 'a', 'b');
    expect(run.code).toBe(2);
    expect(run.stderr).toEqual([expect.stringMatching(/^imagesync: .*'--nope'.* \(run "imagesync copy --help" for usage\)$/)]);
  });

  it('a copy that fails at run time exits 1 without the usage hint', async () => {
    const run = await cli('copy', '127.0.0.1:5000/a:v1', '127.0.0.1:5000/b:v1');
    expect(run.requests).toBeGreaterThan(0);
    expect(run.code).toBe(1);
    expect(run.stderr).toHaveLength(1);
    expect(run.stderr[0]).not.toContain('for usage');
  });
});
