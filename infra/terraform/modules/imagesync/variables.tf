variable "source_image" {
  description = "Image to mirror: `[host[:port]/]path[:tag][@digest]`, e.g. `registry.hub.docker.com/library/busybox:1.32`. Docker Hub short names are allowed (`busybox:1.32`), and so is a source pinned by digest. Sent to imagesync exactly as written; changing it re-syncs the destination tag in place."
  type        = string
  nullable    = false

  validation {
    # Light checks only; imagesync parses the reference and answers 400 with the reason.
    condition     = can(regex("^\\S+$", var.source_image)) && !can(regex("://", var.source_image))
    error_message = "The source_image must be a non-empty image reference without spaces and without a URL scheme, such as registry.hub.docker.com/library/busybox:1.32."
  }
}

variable "destination" {
  description = "Tag to mirror into: `host[:port]/path[:tag]`, e.g. `gcr.io/my-private-registry/busybox:1.32`. A tag, not a digest. Changing it replaces the mirror: the old tag is removed and the new one is written."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^\\S+$", var.destination)) && !can(regex("://", var.destination)) && !can(regex("@", var.destination))
    error_message = "The destination must be a non-empty image tag reference without spaces, without a URL scheme and without a digest, such as gcr.io/my-private-registry/busybox:1.32."
  }
}
