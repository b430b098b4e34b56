// The command line, runtime-neutral: the Node entry (functions/cli.ts) supplies the transport
// and the output streams. Errors end as one line on stderr and a non-zero exit.
import { copyCommand, copyUsage, type CommandContext } from './copy-command.ts';
import { errorLine, UsageError } from './errors.ts';

export const VERSION = '0.1.0';

const usage = `imagesync ${VERSION}: keep container images mirrored into private registries

Usage:
  imagesync copy SOURCE DESTINATION   copy one image, print the destination pinned by digest
  imagesync help [COMMAND]            this text, or a command's options
  imagesync version

${copyUsage}`;

const commands: Record<string, { run: (args: string[], context: CommandContext) => Promise<number>; usage: string }> = {
  copy: { run: copyCommand, usage: copyUsage },
};

export async function runCli(argv: string[], context: CommandContext): Promise<number> {
  const [name, ...args] = argv;
  try {
    if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
      const topic = args[0] && commands[args[0]];
      context.stdout(topic ? topic.usage : usage);
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
