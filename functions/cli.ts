// Node entry of the CLI (dist/cli.mjs, the package's `imagesync` bin).
import { runCli, VERSION } from '../lib/cli/main.ts';
import { nodeTransport } from './node/transport.ts';

const transport = nodeTransport();
const code = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
  stderrIsTTY: process.stderr.isTTY === true,
  transport,
  userAgent: `imagesync/${VERSION} node/${process.versions.node}`,
});
await transport.close();
process.exitCode = code;
