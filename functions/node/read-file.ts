// Reading a text file on Node (and Deno, whose node:fs does the same): what the core's registry
// auth loader needs, undefined for a file that is not there.
import { readFile } from 'node:fs/promises';
import type { ReadFile } from '../../lib/config/registry-auth.ts';

export const readTextFile: ReadFile = async (path) => {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw error;
  }
};
