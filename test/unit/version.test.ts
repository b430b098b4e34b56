// One version: lib/version.ts, equal to package.json's, and no copy of it hard-coded elsewhere.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CommandContext } from '../../lib/cli/context.ts';
import { runCli } from '../../lib/cli/main.ts';
import { VERSION } from '../../lib/version.ts';

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => join(e.parentPath, e.name));
}

describe('VERSION', () => {
  it("equals package.json's version", async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });

  it('is what `imagesync version` and `--version` print', async () => {
    for (const argv of [['version'], ['--version']]) {
      const out: string[] = [];
      const context = { env: {}, stdout: (line: string) => out.push(line), stderr: () => {} } as unknown as CommandContext;
      expect(await runCli(argv, context)).toBe(0);
      expect(out).toEqual([VERSION]);
    }
  });

  it('is not hard-coded anywhere else in lib/ or functions/ (a user agent, say)', async () => {
    const files = [...(await sources('lib')), ...(await sources('functions'))].filter((f) => f !== join('lib', 'version.ts'));
    const copies: string[] = [];
    for (const file of files) {
      const text = await readFile(file, 'utf8');
      if (text.includes(`'${VERSION}'`) || text.includes(`imagesync/${VERSION}`)) copies.push(file);
    }
    expect(copies).toEqual([]);
  });
});
