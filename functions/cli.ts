// Node entry of the CLI (dist/cli.mjs, the package's `imagesync` bin). The service commands are
// loaded on demand, so that `copy` does not pay for the HTTP server and the store at start-up.
import { runCli, VERSION, type Command } from '../lib/cli/main.ts';
import { nodeTransport } from './node/transport.ts';

const serve: Command = {
  summary: 'serve [--port N] [--host H]  run the HTTP API with its state store',
  usage: `imagesync serve [--port N] [--host H]

Runs the HTTP API (default http://127.0.0.1:8787) with its state in the embedded store under
IMAGESYNC_DATA_DIR (default .imagesync), or in the DynamoDB named by AWS_ENDPOINT_URL_DYNAMODB.
Without IMAGESYNC_API_TOKEN a random token is generated and printed.`,
  run: async (args, context) => (await import('./node/serve.ts')).serve(args, context),
};

const transport = nodeTransport();
const code = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
  stderrIsTTY: process.stderr.isTTY === true,
  transport,
  userAgent: `imagesync/${VERSION} node/${process.versions.node}`,
}, { serve });
await transport.close();
process.exitCode = code;
