// What a command gets from the runtime that runs it (Node's entry today): environment, output
// streams, the registry transport and file reading. Its own module so that commands and entries share it
// without importing one another.
import type { Env, ReadFile } from '../config/registry-auth.ts';
import type { Transport } from '../transport/types.ts';

export interface CommandContext {
  env: Env;
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  /** Progress lines go to stderr when it is a terminal (or with --verbose). */
  stderrIsTTY: boolean;
  transport: Transport;
  /** The runtime's file reading (registry auth files). */
  readFile: ReadFile;
  userAgent: string;
}
