// `imagesync check`: one run of the scheduled check against the configured store (the embedded
// one, or AWS_ENDPOINT_URL_DYNAMODB); prints the summary as one JSON line on stdout.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import type { CommandContext } from '../../lib/cli/copy-command.ts';
import { loadRegistryAuth } from '../../lib/config/registry-auth.ts';
import { readSettings } from '../../lib/config/settings.ts';
import { jsonLogger } from '../../lib/log.ts';
import { createCore } from '../../lib/server.ts';
import { serviceGuard } from '../../lib/transport/address-guard.ts';
import { openStore } from './store.ts';
import { nodeTransport } from './transport.ts';

export async function check(args: string[], context: CommandContext): Promise<number> {
  parseArgs({ args, options: {} });
  const settings = readSettings(context.env);
  // Progress lines on stderr; stdout carries the summary alone.
  const log = jsonLogger(context.stderr);
  const opened = await openStore(context.env, settings);
  const transport = nodeTransport({ guard: serviceGuard(settings.allowed, true) });
  try {
    const core = createCore({
      settings,
      transport,
      credentials: await loadRegistryAuth(context.env),
      store: opened.store,
      log,
      owner: `${hostname()}:${process.pid}:check:${randomBytes(3).toString('hex')}`,
      userAgent: context.userAgent,
    });
    const summary = await core.check();
    context.stdout(JSON.stringify(summary));
    return 0;
  } finally {
    await opened.close();
    await transport.close();
  }
}
