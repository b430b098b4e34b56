// Harbor in front of the real registry (docker-registry 2.8 with htpasswd), as its code has it
// (goharbor/harbor src/server/registry/manifest.go, deleteManifest):
// - DELETE manifests/<tag> is refused: "v2 doesn't support delete by tag", 400 UNSUPPORTED (since
//   goharbor/harbor PR#11971, for the OCI spec's "a manifest can only be deleted by digest";
//   src/lib/http/error.go maps UNSUPPORTED to 400). Tags go through Harbor's own REST API.
// - DELETE manifests/<digest> deletes the artifact with every tag on it, as 2.8 does: passed through.
// Robot accounts (`robot$name`) are ordinary users of the registry: the htpasswd file holds one.
import { ociError, type Quirk } from '../quirk-proxy.ts';
import type { Target } from '../raw-client.ts';
import { onTagDelete } from './quay.ts';

export interface HarborEmulation {
  quirks: Quirk[];
  /** `repository:tag` of every tag DELETE refused. */
  tagRefusals: string[];
}

/** `registry`: the real registry behind, with credentials for everything. */
export function harborQuirks(registry: Target): HarborEmulation {
  const tagRefusals: string[] = [];
  const tags = onTagDelete(registry, async (repository, tag, res) => {
    tagRefusals.push(`${repository}:${tag}`);
    return ociError(res, 400, 'UNSUPPORTED', `unsupported digest ${tag}: invalid checksum digest format`);
  });
  return { quirks: [tags], tagRefusals };
}
