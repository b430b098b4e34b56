// What `serve` and `check` share on Node: the store (embedded or AWS_ENDPOINT_URL_DYNAMODB), the
// service transport behind the SSRF guard, the registry credentials and this worker's lease name.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { CommandContext } from '../../lib/cli/context.ts';
import { loadRegistryAuth } from '../../lib/config/registry-auth.ts';
import type { Settings } from '../../lib/config/settings.ts';
import type { Logger } from '../../lib/log.ts';
import type { CoreParts } from '../../lib/server.ts';
import { serviceGuard } from '../../lib/transport/address-guard.ts';
import { openStore, type OpenStore } from './store.ts';
import { nodeTransport } from './transport.ts';

export interface NodeCoreParts {
  parts: CoreParts;
  store: OpenStore;
  close(): Promise<void>;
}

/** `role` tells the workers apart in leases (`host:pid:role:random`). */
export async function nodeCoreParts(context: CommandContext, settings: Settings, log: Logger, role: string): Promise<NodeCoreParts> {
  const store = await openStore(context.env, settings);
  // The service's own transport: every connection goes through the SSRF guard.
  const transport = nodeTransport({ guard: serviceGuard(settings.allowed, true) });
  try {
    const parts: CoreParts = {
      settings,
      transport,
      credentials: await loadRegistryAuth(context.env, context.readFile),
      store: store.store,
      log,
      worker: `${hostname()}:${process.pid}:${role}:${randomBytes(3).toString('hex')}`,
      userAgent: context.userAgent,
    };
    return {
      parts,
      store,
      close: async () => {
        await store.close();
        await transport.close();
      },
    };
  } catch (error) {
    // Both closed even when one fails (an open store keeps the process alive); the error that
    // stopped the start is the one to report, whatever closing says.
    await Promise.allSettled([store.close(), transport.close()]);
    throw error;
  }
}
