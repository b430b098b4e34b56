// `imagesync copy SOURCE DESTINATION`: one copy, no state; prints the pinned destination.
import { parseArgs } from 'node:util';
import { loadRegistryAuth } from '../config/registry-auth.ts';
import { insecureHosts } from '../config/insecure.ts';
import { imageLimits, profileSettings, stallPolicy } from '../config/settings.ts';
import { profileSelector } from '../registry/profiles/index.ts';
import { copyImage, DEFAULT_CONCURRENCY } from '../copy/image.ts';
import type { CopyEvent } from '../copy/events.ts';
import { InvalidReferenceError, parseReference, type Reference } from '../reference/reference.ts';
import { RegistryClients } from '../registry/client.ts';
import type { RetryEvent } from '../transport/retry.ts';
import type { CommandContext } from './context.ts';
import { UsageError } from './errors.ts';
import { formatBytes, formatMs, shortDigest } from './format.ts';

export const copyUsage = `imagesync copy [options] SOURCE DESTINATION

Copies an image (every platform of an index) from SOURCE to DESTINATION and prints the
destination pinned by digest. SOURCE may be pinned by digest; DESTINATION is a tag.

Options:
  -j, --concurrency N   blobs transferred at once (default ${DEFAULT_CONCURRENCY})
  -v, --verbose         progress lines on stderr even when it is not a terminal
  -q, --quiet           no progress lines
  -h, --help            this text

Exits 0 when the destination holds the image, 1 when the copy failed, 2 for usage mistakes.`;

export async function copyCommand(args: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      concurrency: { type: 'string', short: 'j' },
      verbose: { type: 'boolean', short: 'v' },
      quiet: { type: 'boolean', short: 'q' },
    },
  });
  if (positionals.length !== 2) throw new UsageError(`copy needs SOURCE and DESTINATION, got ${positionals.length} argument(s)`);
  const concurrency = values.concurrency === undefined ? DEFAULT_CONCURRENCY : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new UsageError(`--concurrency must be an integer from 1 to 64`);
  const source = referenceArgument('SOURCE', positionals[0]!);
  const destination = referenceArgument('DESTINATION', positionals[1]!);

  const progress = !values.quiet && (values.verbose || context.stderrIsTTY);
  const say = progress ? context.stderr : () => {};
  const clients = new RegistryClients({
    transport: context.transport,
    credentials: await loadRegistryAuth(context.env, context.readFile),
    isInsecure: insecureHosts(context.env.IMAGESYNC_INSECURE_REGISTRIES),
    userAgent: context.userAgent,
    stall: stallPolicy(context.env),
    profiles: profileSelector(profileSettings(context.env)),
    onRetry: (event: RetryEvent) => say(`retry    ${event.method} ${event.host}: ${event.reason}, attempt ${event.attempt} in ${formatMs(event.delayMs)}`),
  });

  const started = Date.now();
  const result = await copyImage(source, destination, { clients, concurrency, limits: imageLimits(context.env), onEvent: (event) => say(describe(event)) });
  const took = formatMs(Date.now() - started);
  if (result.unchanged) {
    say(`done in ${took}: the destination already holds ${shortDigest(result.digest)}`);
  } else {
    const b = result.blobs;
    say(`done in ${took}: blobs ${b.copied} copied (${formatBytes(result.bytesCopied)}), ${b.present} present, ${b.mounted} mounted; manifests ${result.manifestsPushed} pushed`);
  }
  context.stdout(result.image);
  return 0;
}

/** A reference typed on the command line: when it does not parse, that is a usage mistake. */
function referenceArgument(name: string, value: string): Reference {
  try {
    return parseReference(value);
  } catch (error) {
    if (!(error instanceof InvalidReferenceError)) throw error;
    const shown = value.length > 80 ? `${value.slice(0, 77)}...` : value;
    throw new UsageError(`invalid ${name} ${JSON.stringify(shown)}: ${error.reason}`);
  }
}

function describe(event: CopyEvent): string {
  switch (event.type) {
    case 'blob':
      return `${event.outcome.padEnd(8)} ${shortDigest(event.digest)}  ${formatBytes(event.size)}${event.outcome === 'copied' ? `  ${formatMs(event.ms)}` : ''}`;
    case 'blob-retry':
      return `retry    ${shortDigest(event.digest)}: ${event.reason}, attempt ${event.attempt + 1} in ${formatMs(event.delayMs)}`;
    case 'manifest':
      return `${event.outcome === 'pushed' ? 'pushed' : 'present'}   manifest ${shortDigest(event.digest)} as ${event.reference.includes(':') ? shortDigest(event.reference) : event.reference}`;
  }
}
