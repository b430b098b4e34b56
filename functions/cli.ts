// Node entry of the CLI (dist/cli.mjs, the package's `imagesync` bin). The service commands are
// loaded on demand, so that `copy` does not pay for the HTTP server and the store at start-up.
import { runCli, type Command } from '../lib/cli/main.ts';
import { VERSION } from '../lib/version.ts';
import { readTextFile } from './node/read-file.ts';
import { nodeTransport } from './node/transport.ts';

const serve: Command = {
  synopsis: 'serve [--port N] [--host H]',
  summary: 'run the HTTP API with its state store',
  usage: `imagesync serve [--port N] [--host H]

Runs the HTTP API (default http://127.0.0.1:8787) with its state in the embedded store under
IMAGESYNC_DATA_DIR (default .imagesync), or in the DynamoDB named by AWS_ENDPOINT_URL_DYNAMODB.
Without IMAGESYNC_API_TOKEN a random token is generated and printed.

Options:
  --port N      the port to listen on (default 8787; 0 picks a free one)
  --host H      the address to listen on (default 127.0.0.1)
  -h, --help    this text

Runs until SIGINT or SIGTERM, then exits 0. Exits 1 when it cannot start (the port is in use,
the data directory is held by another imagesync), 2 for usage mistakes.`,
  run: async (args, context) => (await import('./node/serve.ts')).serve(args, context),
};

const check: Command = {
  synopsis: 'check',
  summary: 'one run of the scheduled check; prints a JSON summary',
  usage: `imagesync check

Checks every record once against the configured store (the embedded one under
IMAGESYNC_DATA_DIR, or AWS_ENDPOINT_URL_DYNAMODB): a HEAD on the source tag and one on the
destination, a sync where either moved. Prints {"checked","unchanged","synced","failed","skipped",...}
on stdout; progress is logged as JSON lines on stderr.

Options:
  -h, --help    this text

Exits 0 when no record failed, 1 when at least one did ("failed" above 0 in the summary, which is
printed either way) or the run could not be made, 2 for usage mistakes.`,
  run: async (args, context) => (await import('./node/check.ts')).check(args, context),
};

// The AWS SDK warns on Node 20 that its releases from 2027 need Node 22; the version here is pinned.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const transport = nodeTransport();
const code = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
  stderrIsTTY: process.stderr.isTTY === true,
  readFile: readTextFile,
  transport,
  userAgent: `imagesync/${VERSION} node/${process.versions.node}`,
}, { serve, check });
await transport.close();
process.exitCode = code;
