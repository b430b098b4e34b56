// The record store of a Node process: the DynamoDB named by AWS_ENDPOINT_URL_DYNAMODB, else the
// embedded one under IMAGESYNC_DATA_DIR. The table is created when missing.
import type { Env } from '../../lib/config/registry-auth.ts';
import type { Settings } from '../../lib/config/settings.ts';
import { dynamoClient } from '../../lib/store/client.ts';
import { DynamoRecordStore } from '../../lib/store/dynamodb.ts';
import { ensureTable } from '../../lib/store/table.ts';
import { startEmbeddedDynamo } from './embedded-dynamodb.ts';

export interface OpenStore {
  store: DynamoRecordStore;
  /** For people: where the state lives. */
  description: string;
  embedded: boolean;
  close(): Promise<void>;
}

export async function openStore(env: Env, settings: Settings): Promise<OpenStore> {
  const external = env.AWS_ENDPOINT_URL_DYNAMODB;
  const embedded = external ? undefined : await startEmbeddedDynamo(settings.dataDir);
  let opened: ReturnType<typeof dynamoClient> | undefined;
  try {
    const client = (opened = dynamoClient(env, { endpoint: embedded?.endpoint }));
    await ensureTable(client, settings.table);
    return {
      store: new DynamoRecordStore({ client, table: settings.table }),
      description: `${embedded ? `embedded, ${settings.dataDir}` : external}, table ${settings.table}`,
      embedded: embedded !== undefined,
      close: async () => {
        client.destroy();
        await embedded?.close();
      },
    };
  } catch (error) {
    // Nothing opened here outlives a failed open: the next process gets the data directory.
    opened?.destroy();
    await embedded?.close().catch(() => undefined);
    throw error;
  }
}
