// Creates the records table on first use, so `serve` and a fresh AWS account need no setup step.
// Several processes may start at once: whoever loses the CreateTable race just waits for ACTIVE.
import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient, type TableDescription } from '@aws-sdk/client-dynamodb';
import { StoreError } from './types.ts';
import { storeError } from './dynamodb.ts';

const WAIT_CAP_MS = 30_000;

export async function ensureTable(client: DynamoDBClient, table: string): Promise<'created' | 'exists'> {
  const existing = await describe(client, table);
  if (existing) {
    checkKeySchema(existing, table);
    await waitUntilActive(client, table, existing);
    return 'exists';
  }
  try {
    await client.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    // Another process created it between our DescribeTable and CreateTable.
    if (errorName(error) === 'ResourceInUseException') {
      await waitUntilActive(client, table);
      return 'exists';
    }
    throw storeError('CreateTable', table, error);
  }
  await waitUntilActive(client, table);
  return 'created';
}

/** The table's description, or undefined when there is no such table. */
async function describe(client: DynamoDBClient, table: string): Promise<TableDescription | undefined> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
    return Table;
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return undefined;
    throw storeError('DescribeTable', table, error);
  }
}

/** Polls DescribeTable until the table takes requests (ACTIVE, or UPDATING which also serves). */
async function waitUntilActive(client: DynamoDBClient, table: string, first?: TableDescription): Promise<void> {
  const deadline = Date.now() + WAIT_CAP_MS;
  let description = first;
  let delay = 50;
  for (;;) {
    const status = description?.TableStatus;
    if (status === 'ACTIVE' || status === 'UPDATING') return;
    if (Date.now() >= deadline) {
      throw new StoreError(`DynamoDB table ${table} is not ACTIVE after ${WAIT_CAP_MS / 1000} s (status ${status ?? 'not found'})`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 1000);
    // Right after CreateTable, AWS may briefly answer ResourceNotFoundException: keep polling.
    description = await describe(client, table);
  }
}

/** A table made by something else with another key would fail every request later, less clearly. */
function checkKeySchema(description: TableDescription, table: string): void {
  const key = description.KeySchema ?? [];
  const type = description.AttributeDefinitions?.find((a) => a.AttributeName === 'id')?.AttributeType;
  if (key.length !== 1 || key[0]?.AttributeName !== 'id' || key[0]?.KeyType !== 'HASH' || type !== 'S') {
    throw new StoreError(`DynamoDB table ${table} exists but its key is not the string hash key "id"`);
  }
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}
