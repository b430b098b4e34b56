// Makes sure the real programs the integration tests drive are on this machine:
// Debian's docker-registry (the registry under test) and skopeo (an independent oracle),
// and builds dist/ for the tests that run the CLI bundle.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const needed: Record<string, string> = { '/usr/bin/docker-registry': 'docker-registry', '/usr/bin/skopeo': 'skopeo' };

export default function setup(): void {
  installRegistryTools();
  // The CLI tests run the bundle users run.
  execFileSync(process.execPath, ['infra/build.mjs'], { stdio: 'inherit' });
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
