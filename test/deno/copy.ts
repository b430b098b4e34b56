// Runs one copy with the portable core on Deno: the runtime's fetch as transport.
// Used by test/integration/deno.test.ts as `deno run -A test/deno/copy.ts SOURCE DESTINATION`.
import process from 'node:process';
import { insecureHosts } from '../../lib/config/insecure.ts';
import { copyImage } from '../../lib/copy/image.ts';
import { parseReference } from '../../lib/reference/reference.ts';
import { RegistryClients } from '../../lib/registry/client.ts';
import { fetchTransport } from '../../lib/transport/fetch.ts';

const [source, destination] = process.argv.slice(2);
const clients = new RegistryClients({ transport: fetchTransport(), isInsecure: insecureHosts(undefined) });
const result = await copyImage(parseReference(source!), parseReference(destination!), { clients });
console.log(JSON.stringify(result));
