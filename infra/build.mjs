// Bundles each entry in functions/ into one ES module in dist/ with esbuild.
import { build } from 'esbuild';
import { chmod } from 'node:fs/promises';

const entries = {
  cli: 'functions/cli.ts',
};

await build({
  entryPoints: entries,
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
  // undici is CommonJS and calls require() for Node built-ins.
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});
await chmod('dist/cli.mjs', 0o755);
