// The runtime boundary: lib/ is the core that Node, Deno and Lambda share, so it imports only
// web-standard code, its own modules, the few packages listed here, and the node: built-ins that
// Deno supports and the core needs. Anything runtime-specific (undici, files, dns) lives in
// functions/<runtime>/ and is handed to the core. This test fails the build on a new import.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const LIB = resolve('lib');

/** Packages the core may import (each runs on Node, Deno and in the Lambda bundle). */
const PACKAGES = new Set(['hono', 'hono/body-limit', 'zod/mini', '@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-ecr', '@aws-sdk/client-secrets-manager']);

/** node: built-ins the core may import: supported by Deno, and nothing that reaches files or the network. */
const BUILTINS = new Set(['node:crypto', 'node:events', 'node:util']);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? files(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every module specifier a file imports or re-exports, statically or dynamically. */
function specifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [/^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/gm, /^\s*import\s*['"]([^'"]+)['"]/gm, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) found.push(match[1]!);
  return found;
}

function violation(file: string, specifier: string): string | undefined {
  if (specifier.startsWith('.')) {
    const target = resolve(dirname(file), specifier);
    return target.startsWith(`${LIB}/`) ? undefined : `reaches outside lib/ (${relative(process.cwd(), target)})`;
  }
  if (specifier.startsWith('node:')) return BUILTINS.has(specifier) ? undefined : `${specifier} is not among the built-ins the core may use`;
  return PACKAGES.has(specifier) ? undefined : `package ${specifier} is not among those the core may use`;
}

describe('lib/ imports', () => {
  it('stay inside the allowed set', () => {
    const problems = files(LIB).flatMap((file) =>
      specifiers(readFileSync(file, 'utf8')).flatMap((specifier) => {
        const problem = violation(file, specifier);
        return problem ? [`${relative(process.cwd(), file)}: '${specifier}' ${problem}`] : [];
      }),
    );
    expect(problems).toEqual([]);
  });

  it('are found by the scan (it would catch a forbidden one)', () => {
    const sample = `import { a } from './a.ts';\nimport type { B } from 'undici';\nexport { c } from '../../functions/x.ts';\nconst d = await import('node:fs');\nimport 'side-effect';`;
    expect(specifiers(sample)).toEqual(['./a.ts', 'undici', '../../functions/x.ts', 'side-effect', 'node:fs']);
    expect(violation(join(LIB, 'x/y.ts'), 'undici')).toMatch(/not among/);
    expect(violation(join(LIB, 'x/y.ts'), '../../functions/node/transport.ts')).toMatch(/outside lib/);
    expect(violation(join(LIB, 'x/y.ts'), 'node:fs')).toMatch(/not among/);
    expect(violation(join(LIB, 'x/y.ts'), '../util/limit.ts')).toBeUndefined();
  });
});

describe('the undici modules the Node transport imports by path', () => {
  // functions/node/undici-transport.ts imports three files of undici's own tree to keep start-up
  // short; an upgrade that moves or reshapes them must fail here, not in production.
  const require = createRequire(import.meta.url);

  it('still exist and export what the transport uses', () => {
    const Agent = require('undici/lib/dispatcher/agent.js') as { prototype: Record<string, unknown> };
    const Pool = require('undici/lib/dispatcher/pool.js') as { prototype: Record<string, unknown> };
    const request = require('undici/lib/api/api-request.js') as unknown;
    expect(typeof Agent).toBe('function');
    expect(typeof Agent.prototype.dispatch).toBe('function');
    expect(typeof Agent.prototype.close).toBe('function');
    expect(typeof Pool).toBe('function');
    expect(typeof request).toBe('function');
  });
});
