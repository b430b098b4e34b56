// Azure Container Registry (`*.azurecr.io`) in front of the real registry (docker-registry 2.8
// with token auth), as documented:
// - A manifest GET or HEAD whose Accept lacks the manifest's type answers 404 MANIFEST_UNKNOWN,
//   "OCI index found, but accept header does not support OCI indexes" (google/go-containerregistry#1697,
//   Azure/acr-cli PR#132, Azure/azure-cli#25280; for OCI manifests Azure/acr PR#764). Emulated for
//   all four types; Azure's own SDKs send every type (Azure/azure-sdk-for-net PR#35084).
// - The token realm is on the registry's host (`/oauth2/token`); many repository scopes in one
//   request overflow its header limits (REGISTRY-NOTES), answered as ACR answers an oversized
//   request, 400 "Request Header Or Cookie Too Large" (Azure/acr#797).
import { ociError, type Quirk } from '../quirk-proxy.ts';
import { rawFetch, type Target } from '../raw-client.ts';
import { MANIFEST_ACCEPT } from '../registry-api.ts';
import { tokenRealm, type TokenRealm } from './gar.ts';
import { MANIFEST_PATH } from './quay.ts';

/** What ACR says for each type when Accept lacks it. */
const REFUSALS: Record<string, string> = {
  'application/vnd.oci.image.index.v1+json': 'OCI index found, but accept header does not support OCI indexes',
  'application/vnd.oci.image.manifest.v1+json': 'OCI manifest found, but accept header does not support OCI manifests',
  'application/vnd.docker.distribution.manifest.list.v2+json': 'Manifest list found, but accept header does not support manifest lists',
  'application/vnd.docker.distribution.manifest.v2+json': 'Docker manifest found, but accept header does not support Docker manifests',
};

export interface AcrEmulation {
  quirks: Quirk[];
  token: TokenRealm;
  /** Manifest requests refused for their Accept: `type reference`. */
  acceptRefusals: string[];
}

/** The media types an Accept header lists (parameters such as q= dropped). */
export function acceptedTypes(header: string | string[] | undefined): string[] {
  const values = Array.isArray(header) ? header : header === undefined ? [] : [header];
  return values.flatMap((v) => v.split(',')).map((t) => t.split(';')[0]!.trim().toLowerCase()).filter(Boolean);
}

/**
 * `registry`: the real registry behind, with credentials for everything; `tokenServer`: its token
 * server; `maxScopes`: the most scopes one token request may carry.
 */
export function acrQuirks(registry: Target, tokenServer: { realm: string }, maxScopes: number): AcrEmulation {
  const token = tokenRealm('/oauth2/token', tokenServer, (scopes) => {
    if (scopes.length <= maxScopes) return undefined;
    const body = '<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>Request Header Or Cookie Too Large</center>\r\n</body>\r\n</html>\r\n';
    return { status: 400, contentType: 'text/html', body };
  });
  const acceptRefusals: string[] = [];
  const accept: Quirk = {
    async request(req, res) {
      const match = MANIFEST_PATH.exec(req.path);
      // Unauthenticated requests go on: the registry answers them with its challenge first.
      if ((req.method !== 'GET' && req.method !== 'HEAD') || !match || !req.headers.authorization) return false;
      const [, repository, reference] = match as unknown as [string, string, string];
      const head = await rawFetch(registry, `/v2/${repository}/manifests/${reference}`, { method: 'HEAD', headers: { accept: MANIFEST_ACCEPT } }, `repository:${repository}:pull`);
      const type = head.headers.get('content-type')?.split(';')[0]?.trim();
      if (head.status !== 200 || !type || acceptedTypes(req.headers.accept).includes(type)) return false;
      acceptRefusals.push(`${type} ${reference}`);
      if (req.method === 'HEAD') {
        res.writeHead(404, { 'content-type': 'application/json' }).end();
        return true;
      }
      return ociError(res, 404, 'MANIFEST_UNKNOWN', REFUSALS[type] ?? `${type} found, but accept header does not support it`);
    },
  };
  return { quirks: [token, accept], token, acceptRefusals };
}
