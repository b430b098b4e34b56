// The one place a DynamoDB client is built, for AWS, the embedded dynalite of `serve`, and any
// endpoint given by AWS_ENDPOINT_URL_DYNAMODB (which the SDK resolves itself).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Variables through which the SDK would find real credentials; any of them means "use the chain". */
const CREDENTIAL_VARIABLES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_PROFILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
];

/** A local DynamoDB (dynalite, DynamoDB Local) checks that requests are signed, not by whom. */
const LOCAL_CREDENTIALS = { accessKeyId: 'imagesync-local', secretAccessKey: 'imagesync-local' };

export function dynamoClient(env: Record<string, string | undefined>, options: { endpoint?: string } = {}): DynamoDBClient {
  // The SDK reads AWS_REGION but not AWS_DEFAULT_REGION, and fails without a region; local mode needs none.
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
  // Without options.endpoint the SDK applies AWS_ENDPOINT_URL_DYNAMODB (and its other endpoint
  // settings) on its own; it is read here only to decide about credentials.
  const effectiveEndpoint = options.endpoint ?? configuredEndpoint(env);
  const local = effectiveEndpoint !== undefined && isLoopbackUrl(effectiveEndpoint);
  const hasCredentials = CREDENTIAL_VARIABLES.some((name) => env[name]);
  return new DynamoDBClient({
    region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(local && !hasCredentials ? { credentials: LOCAL_CREDENTIALS } : {}),
    // Retries: the SDK's defaults (standard mode, AWS_MAX_ATTEMPTS / AWS_RETRY_MODE honoured).
  });
}

function configuredEndpoint(env: Record<string, string | undefined>): string | undefined {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true') return undefined;
  return env.AWS_ENDPOINT_URL_DYNAMODB || env.AWS_ENDPOINT_URL || undefined;
}

/** localhost, 127.0.0.0/8 or ::1: traffic that never leaves the machine. */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host === '[::1]') return true;
  return /^127(\.\d{1,3}){3}$/.test(host);
}
