// Bundle sizes and cold import times (`npm run bench:bundles`): prints figures, asserts nothing.
// Each import runs in a fresh Node process, as a Lambda cold start does; the median of 9.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const runs = 9;
for (const name of ['api', 'check']) {
  const file = join(process.cwd(), 'dist', `${name}.mjs`);
  const size = statSync(file).size;
  const times = Array.from({ length: runs }, () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(performance.now() - t);`]);
    return Number(out.toString().trim());
  }).sort((a, b) => a - b);
  console.log(`dist/${name}.mjs  ${(size / 1024).toFixed(0)} KiB  cold import median ${times[runs >> 1]!.toFixed(1)} ms (min ${times[0]!.toFixed(1)}, max ${times.at(-1)!.toFixed(1)}; node ${process.version})`);
}
