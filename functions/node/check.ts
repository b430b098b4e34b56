// `imagesync check`: one run of the scheduled check against the configured store (the embedded
// one, or AWS_ENDPOINT_URL_DYNAMODB); prints the summary as one JSON line on stdout, and exits 1
// when a record failed, so that a cron job or CI step notices.
import { parseArgs } from 'node:util';
import type { CommandContext } from '../../lib/cli/context.ts';
import { readSettings } from '../../lib/config/settings.ts';
import { jsonLogger } from '../../lib/log.ts';
import { createCore } from '../../lib/server.ts';
import { nodeCoreParts } from './core-parts.ts';

export async function check(args: string[], context: CommandContext): Promise<number> {
  parseArgs({ args, options: {} });
  const settings = readSettings(context.env);
  // Progress lines on stderr; stdout carries the summary alone.
  const node = await nodeCoreParts(context, settings, jsonLogger(context.stderr), 'check');
  try {
    const summary = await createCore(node.parts).check();
    context.stdout(JSON.stringify(summary));
    return summary.failed > 0 ? 1 : 0;
  } finally {
    await node.close();
  }
}
