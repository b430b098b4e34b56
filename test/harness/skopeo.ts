// skopeo as a second, independent opinion on what a registry holds. Loopback registries
// speak plain http, which skopeo only uses with tls-verify=false.
import { execFile } from 'node:child_process';
import type { Credentials } from './raw-client.ts';

const SKOPEO_BIN = '/usr/bin/skopeo';

/** Adds the docker:// transport unless the reference already names one. */
function dockerRef(ref: string): string {
  return /^(docker|oci|oci-archive|dir|docker-archive):/.test(ref) ? ref : `docker://${ref}`;
}

const credsArg = (flag: string, c: Credentials | undefined): string[] => (c ? [`${flag}=${c.username}:${c.password}`] : []);

function run(args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(SKOPEO_BIN, args, { encoding: 'buffer', maxBuffer: 64 << 20, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`skopeo ${args[0]} failed: ${err.message}\n${stderr.toString('utf8')}`));
      else resolve(stdout);
    });
  });
}

/** The manifest bytes exactly as the registry serves them (`skopeo inspect --raw`). */
export async function skopeoInspectRaw(ref: string, creds?: Credentials): Promise<Uint8Array> {
  return run(['inspect', '--raw', '--tls-verify=false', ...credsArg('--creds', creds), dockerRef(ref)]);
}

export interface SkopeoCopyOptions {
  srcCreds?: Credentials;
  destCreds?: Credentials;
  /** Copy every image of an index (default true). */
  all?: boolean;
  /** Refuse any change of digest, e.g. recompression (default true). */
  preserveDigests?: boolean;
}

export async function skopeoCopy(src: string, dst: string, opts: SkopeoCopyOptions = {}): Promise<void> {
  await run([
    'copy',
    '--insecure-policy', // no dependence on the machine's signature policy
    '--src-tls-verify=false',
    '--dest-tls-verify=false',
    ...(opts.all === false ? [] : ['--all']),
    ...(opts.preserveDigests === false ? [] : ['--preserve-digests']),
    ...credsArg('--src-creds', opts.srcCreds),
    ...credsArg('--dest-creds', opts.destCreds),
    dockerRef(src),
    dockerRef(dst),
  ]);
}
