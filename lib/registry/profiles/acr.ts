// Azure Container Registry (*.azurecr.io, and the sovereign clouds' azurecr.cn, azurecr.us).
// What differs, with the public record of it:
// - MANIFEST_UNKNOWN when Accept lacks the manifest's type (google/go-containerregistry#1697):
//   every manifest request sends the full list (media-types.ts MANIFEST_ACCEPT).
// - Many repository scopes in one token request overflow its header limits: few scopes a token.
import { distribution, type RegistryProfile } from './profile.ts';

export function isAcr(registry: string): boolean {
  return /\.azurecr\.(io|cn|us)$/.test(registry.replace(/:\d+$/, ''));
}

export const acr: RegistryProfile = { ...distribution, name: 'acr', maxScopesPerToken: 4 };
