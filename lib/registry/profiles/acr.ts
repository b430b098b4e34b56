// Azure Container Registry (*.azurecr.io, and the sovereign clouds' azurecr.cn, azurecr.us).
// What differs, with the public record of it (emulated in test/harness/quirks/acr.ts):
// - MANIFEST_UNKNOWN ("OCI index found, but accept header does not support OCI indexes") when
//   Accept lacks the manifest's type (google/go-containerregistry#1697, Azure/acr-cli PR#132,
//   Azure/azure-cli#25280, Azure/acr PR#764): every manifest GET and HEAD sends all four types
//   (media-types.ts MANIFEST_ACCEPT), as Azure's own SDKs now do (Azure/azure-sdk-for-net PR#35084).
// - Its token realm (/oauth2/token) sits behind header limits (400 "Request Header Or Cookie Too
//   Large", Azure/acr#797) that many repository scopes in one request overflow (REGISTRY-NOTES):
//   at most 4 scopes a token request. Today a request asks for one scope, two for a mount.
// - `az acr login` leaves an identity (refresh) token, exchanged at the realm by POST.
import { hostWithoutPort } from '../../reference/reference.ts';
import { distribution, type RegistryProfile } from './profile.ts';

export function isAcr(registry: string): boolean {
  return /\.azurecr\.(io|cn|us)$/.test(hostWithoutPort(registry).toLowerCase());
}

export const acr: RegistryProfile = { ...distribution, name: 'acr', maxScopesPerToken: 4 };
