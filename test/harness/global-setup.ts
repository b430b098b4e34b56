// Makes sure the real programs the integration tests drive are on this machine:
// Debian's docker-registry (the registry under test) and skopeo (an independent oracle),
// and builds dist/ for the tests that run the CLI bundle.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const needed: Record<string, string> = { '/usr/bin/docker-registry': 'docker-registry', '/usr/bin/skopeo': 'skopeo' };

export default function setup(): () => void {
  installRegistryTools();
  // The CLI tests run the bundle users run.
  execFileSync(process.execPath, ['infra/build.mjs'], { stdio: 'inherit' });
  const before = new Set(ours().map((p) => p.pid));
  // The suite leaves nothing running: a process it started and did not stop fails the run.
  return () => {
    const left = ours().filter((p) => !before.has(p.pid));
    if (left.length === 0) return;
    for (const p of left) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    throw new Error(`the suite left ${left.length} process(es) running (now killed):\n${left.map((p) => `  ${p.pid} ${p.command}`).join('\n')}`);
  };
}

/** Processes of the kinds the tests start: registries, serve, check, deno, dynalite. */
function ours(): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let command: string;
    try {
      command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    } catch {
      continue;
    }
    if (/docker-registry serve|dist\/cli\.mjs (serve|check)|deno (run|serve)|functions\/deno\.ts|dynalite/.test(command)) found.push({ pid: Number(entry), command });
  }
  return found;
}

function installRegistryTools(): void {
  const missing = Object.entries(needed).filter(([bin]) => !existsSync(bin)).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    throw new Error(`the integration tests need ${missing.join(' and ')}; run as root: ${command}`);
  }
  console.log(`installing ${missing.join(', ')} (${command})`);
  execFileSync('sh', ['-c', `DEBIAN_FRONTEND=noninteractive ${command}`], { stdio: 'inherit' });
}
