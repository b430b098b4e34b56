// What the api and check functions share on Lambda: the table from IMAGESYNC_TABLE, the service
// transport behind the SSRF guard (no loopback unless listed), the registry credentials, and
// this container's name in leases.
import { loadRegistryAuth } from '../../lib/config/registry-auth.ts';
import type { Settings } from '../../lib/config/settings.ts';
import type { Logger } from '../../lib/log.ts';
import type { CoreParts } from '../../lib/server.ts';
import { dynamoClient } from '../../lib/store/client.ts';
import { DynamoRecordStore } from '../../lib/store/dynamodb.ts';
import { serviceGuard } from '../../lib/transport/address-guard.ts';
import { readTextFile } from '../node/read-file.ts';
import { nodeTransport } from '../node/transport.ts';

export async function lambdaCoreParts(env: Record<string, string | undefined>, settings: Settings, log: Logger, role: string): Promise<CoreParts> {
  return {
    settings,
    transport: nodeTransport({ guard: serviceGuard(settings.allowed, false) }),
    credentials: await loadRegistryAuth(env, readTextFile),
    store: new DynamoRecordStore({ client: dynamoClient(env), table: settings.table }),
    log,
    worker: `${role}:${env.AWS_LAMBDA_LOG_STREAM_NAME ?? 'local'}:${crypto.randomUUID().slice(0, 8)}`,
  };
}
