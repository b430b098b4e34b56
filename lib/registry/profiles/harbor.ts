// Harbor, chosen by configuration (IMAGESYNC_REGISTRY_PROFILES=host=harbor): any host can run it.
// What differs, with the public record of it (emulated in test/harness/quirks/harbor.ts):
// - v2 deletion is by digest only: DELETE manifests/<digest> deletes the artifact with every tag
//   on it; DELETE manifests/<tag> answers 400 UNSUPPORTED (goharbor/harbor PR#11971;
//   src/server/registry/manifest.go deleteManifest). lib/registry/tag.ts reads any 400 to a tag
//   DELETE as "tag deletion disabled", as the OCI spec has it, so the v2 path moves such a tag to
//   a throwaway manifest and deletes that by digest (lib/cleanup/remove-image.ts). Harbor's own
//   REST API could delete the tag alone; it is not used (one more credential and API to trust).
// - Robot accounts (`robot$name`) are ordinary Basic credentials in config.json.
// - Its own replication has no platform filter and does not carry OCI referrers
//   (goharbor/harbor #11937, #23210), which is why it is a destination here.
import { distribution, type RegistryProfile } from './profile.ts';

export const harbor: RegistryProfile = { ...distribution, name: 'harbor' };
