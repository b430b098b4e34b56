// The command line, runtime-neutral: the Node entry (functions/cli.ts) supplies the transport
// and the output streams. Errors end as one line on stderr and a non-zero exit.
import { VERSION } from '../version.ts';
import type { CommandContext } from './context.ts';
import { copyCommand, copyUsage } from './copy-command.ts';
import { errorLine, UsageError } from './errors.ts';

export interface Command {
  /** The command and its arguments, as in the command list: `copy SOURCE DESTINATION`. */
  synopsis: string;
  /** What it does, in a few words: the second column of the command list. */
  summary: string;
  /** What `imagesync help COMMAND` and `imagesync COMMAND --help` print. */
  usage: string;
  run: (args: string[], context: CommandContext) => Promise<number>;
}

const builtIn: Record<string, Command> = {
  copy: { synopsis: 'copy SOURCE DESTINATION', summary: 'copy one image, print the destination pinned by digest', usage: copyUsage, run: copyCommand },
};

function usage(commands: Record<string, Command>): string {
  const rows = [
    ...Object.values(commands).map((c) => [c.synopsis, c.summary] as const),
    ['help [COMMAND]', "this text, or a command's usage"] as const,
    ['version', 'the version of imagesync'] as const,
  ];
  // The width comes from the synopses, so a command added later cannot break the columns.
  const width = Math.max(...rows.map(([synopsis]) => synopsis.length));
  const lines = rows.map(([synopsis, summary]) => `  imagesync ${synopsis.padEnd(width)}  ${summary}`);
  return `imagesync ${VERSION}: keep container images mirrored into private registries

Usage:
${lines.join('\n')}

Run "imagesync COMMAND --help" for a command's options.`;
}

/** `--help` or `-h` among a command's options (not after `--`, where it would be an argument). */
function asksForHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

/** Runs a command line; runtimes add their own commands (serve, check) to the built-in ones. */
export async function runCli(argv: string[], context: CommandContext, extra: Record<string, Command> = {}): Promise<number> {
  const commands = { ...builtIn, ...extra };
  const [name, ...args] = argv;
  // Usage mistakes point at the usage of the command they were made with, when there is one.
  let helpFor = 'imagesync help';
  try {
    if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
      const topic = name === 'help' && !asksForHelp(args.slice(0, 1)) ? args[0] : undefined;
      if (topic === undefined) {
        context.stdout(usage(commands));
        return 0;
      }
      const command = Object.hasOwn(commands, topic) ? commands[topic] : undefined;
      if (!command) throw new UsageError(`no command "${topic}"`);
      context.stdout(command.usage);
      return 0;
    }
    if (name === 'version' || name === '--version') {
      context.stdout(VERSION);
      return 0;
    }
    const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
    if (!command) throw new UsageError(`unknown command "${name}"`);
    helpFor = `imagesync ${name} --help`;
    if (asksForHelp(args)) {
      context.stdout(command.usage);
      return 0;
    }
    return await command.run(args, context);
  } catch (error) {
    const usageMistake = error instanceof UsageError || isParseArgsError(error);
    context.stderr(`imagesync: ${errorLine(error)}${usageMistake ? ` (run "${helpFor}" for usage)` : ''}`);
    if (context.env.IMAGESYNC_DEBUG && error instanceof Error && error.stack) context.stderr(error.stack);
    return usageMistake ? 2 : 1;
  }
}

function isParseArgsError(error: unknown): boolean {
  return String((error as { code?: unknown } | null)?.code ?? '').startsWith('ERR_PARSE_ARGS');
}
