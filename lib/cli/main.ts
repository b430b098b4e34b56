// The command line, runtime-neutral: the Node entry (functions/cli.ts) supplies the transport
// and the output streams. Errors end as one line on stderr and a non-zero exit.
import { copyCommand, copyUsage, type CommandContext } from './copy-command.ts';
import { errorLine, UsageError } from './errors.ts';

export const VERSION = '0.1.0';

export interface Command {
  /** One line for the command list. */
  summary: string;
  usage: string;
  run: (args: string[], context: CommandContext) => Promise<number>;
}

const builtIn: Record<string, Command> = {
  copy: { summary: 'copy SOURCE DESTINATION   copy one image, print the destination pinned by digest', usage: copyUsage, run: copyCommand },
};

function usage(commands: Record<string, Command>): string {
  const lines = Object.values(commands).map((c) => `  imagesync ${c.summary}`);
  return `imagesync ${VERSION}: keep container images mirrored into private registries

Usage:
${lines.join('\n')}
  imagesync help [COMMAND]            this text, or a command's options
  imagesync version`;
}

/** Runs a command line; runtimes add their own commands (serve, check) to the built-in ones. */
export async function runCli(argv: string[], context: CommandContext, extra: Record<string, Command> = {}): Promise<number> {
  const commands = { ...builtIn, ...extra };
  const [name, ...args] = argv;
  try {
    if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
      const topic = args[0] ? commands[args[0]] : undefined;
      context.stdout(topic ? topic.usage : usage(commands));
      return 0;
    }
    if (name === 'version' || name === '--version') {
      context.stdout(VERSION);
      return 0;
    }
    const command = commands[name];
    if (!command) throw new UsageError(`unknown command "${name}"`);
    return await command.run(args, context);
  } catch (error) {
    const usageMistake = error instanceof UsageError || isParseArgsError(error);
    context.stderr(`imagesync: ${errorLine(error)}${usageMistake ? ' (run "imagesync help" for usage)' : ''}`);
    if (context.env.IMAGESYNC_DEBUG && error instanceof Error && error.stack) context.stderr(error.stack);
    return usageMistake ? 2 : 1;
  }
}

function isParseArgsError(error: unknown): boolean {
  return String((error as { code?: unknown } | null)?.code ?? '').startsWith('ERR_PARSE_ARGS');
}
