// Bundles the entries in functions/ into ES modules in dist/ with esbuild:
// - dist/cli.mjs, the CLI, split so that service code loads only for `serve` and `check`;
// - one self-contained file per Lambda function (added with the functions themselves).
import { build } from 'esbuild';
import { chmod } from 'node:fs/promises';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
  // ES module builds first: the AWS SDK's tree-shake far better than its CommonJS ones.
  mainFields: ['module', 'main'],
  // CommonJS dependencies (undici, the AWS SDK) call require() for Node built-ins.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
};

await build({
  ...common,
  entryPoints: { cli: 'functions/cli.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  banner: { js: `#!/usr/bin/env node\n${common.banner.js}` },
});
await chmod('dist/cli.mjs', 0o755);

// Lambda handlers: one self-contained file each (nodejs22.x runs them as ES modules).
for (const [name, entry] of Object.entries({ api: 'functions/lambda/api.ts', check: 'functions/lambda/check.ts' })) {
  await build({ ...common, target: 'node22', entryPoints: { [name]: entry }, outdir: 'dist', outExtension: { '.js': '.mjs' } });
}
