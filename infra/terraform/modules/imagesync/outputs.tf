output "id" {
  description = "The imagesync record id (URL-safe, derived from the normalized destination); `terraform import restapi_object.image /v1/images/<id>` takes it."
  value       = restapi_object.image.id
}

# api_data is the provider's map of the record's top-level keys, each as a string (2.x and
# 3.x: "the golang fmt package's representation of the value"), refreshed from the POST
# answer on create and from GET on every refresh. `image` is a flat string in the record
# for exactly this reason.
output "image" {
  description = "The destination pinned by digest, e.g. `gcr.io/my-private-registry/busybox@sha256:...`: what deployments should use. It follows the source: a moved source tag is re-synced by imagesync and shows up here on the next refresh."
  value       = try(restapi_object.image.api_data["image"], null)

  # A copy that outlasts imagesync's request budget is answered 202 with "status":"syncing"
  # and no `image` yet. Say so plainly instead of handing a null image to a deployment; the
  # next plan's refresh reads the finished record.
  precondition {
    condition     = try(restapi_object.image.api_data["image"], "") != ""
    error_message = "The imagesync record has no image yet (the copy is still running); run terraform apply again in a little while."
  }
}
