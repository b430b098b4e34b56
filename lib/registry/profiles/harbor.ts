// Harbor, chosen by configuration (IMAGESYNC_REGISTRY_PROFILES=host=harbor): any host can run it.
// v2 deletion works (tags and manifests); robot accounts (`robot$name`) are ordinary Basic
// credentials in config.json. Its own replication has no platform filter and does not carry
// OCI referrers (goharbor/harbor #11937, #23210), which is why it is a destination here.
import { distribution, type RegistryProfile } from './profile.ts';

export const harbor: RegistryProfile = { ...distribution, name: 'harbor' };
