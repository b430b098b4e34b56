# One imagesync record: `source_image` mirrored into `destination`, pinned by digest.
#
# Sources for every setting below (Mastercard/terraform-provider-restapi):
#   2.x  registry.terraform.io/providers/Mastercard/restapi/2.0.1/docs/resources/object (the
#        resource schema) and restapi/resource_api_object.go, restapi/api_object.go;
#   3.x  internal/provider/resource_api_object.go (Schema, Read, ModifyPlan),
#        internal/provider/utils.go (getNestedValue), internal/provider/provider.go.
#
# Provider-level settings this resource relies on, which a module cannot set for its caller
# (they are provider arguments in 2.x restapi/provider.go and 3.x internal/provider/provider.go,
# and neither version's restapi_object accepts them):
#   create_returns_object = true (or write_returns_object = true): POST /v1/images answers the
#       record with a top-level string "id", so the provider takes the id and api_data from
#       the POST answer instead of needing the id in `data`;
#   timeout = 900 or so: seconds per request; 3.x defaults to 60, 2.x to 0 (none). imagesync
#       answers within its request budget (IMAGESYNC_REQUEST_BUDGET, 50s by default; 202 with
#       "status":"syncing" after that), so anything comfortably above the budget works.
# See ../../examples/busybox/providers.tf.

resource "restapi_object" "image" {
  path = "/v1/images"

  # The whole object the provider manages; sent as the body of POST /v1/images and of
  # PUT /v1/images/{id}. imagesync returns both keys exactly as sent (docs/records.md), so
  # they never show as drift.
  data = jsonencode({
    source      = var.source_image
    destination = var.destination
  })

  # Both versions default to "id" (2.x restapi/api_object.go, 3.x provider.go Configure);
  # spelled out because the URL of every later call is path/{id}.
  id_attribute = "id"

  # Exactly the keys imagesync adds to a record (lib/api/record.ts SERVER_KEYS, docs/records.md
  # "Keys"). Read compares every key of the GET answer with `data`; a key the server
  # adds counts as drift unless listed here (2.x resource_api_object.go Read, 3.x Read via
  # getDelta), and drift means a PUT on every apply.
  ignore_changes_to = ["id", "image", "source_digest", "status", "synced_at", "checked_at", "error"]

  # A new destination is a new record: imagesync answers 409 to a PUT that changes it, so
  # Terraform must replace (DELETE, then POST). The two major versions read this list
  # differently, and the list satisfies both:
  #   2.x: a list of VALUES. The attribute itself is `ForceNew: true` (restapi/
  #        resource_api_object.go schema; registry docs: "Any changes to these values will
  #        result in recreating the resource instead of updating"), so the resource is
  #        replaced whenever an element of the list changes. "destination=${var.destination}"
  #        changes exactly when the destination does; the constant "destination" never does.
  #   3.x: a list of KEYS of `data`. ModifyPlan looks each element up in the prior data with
  #        getNestedValue (dot-separated path; a missing key is skipped) and requires
  #        replacement when that key's value differs in the plan. "destination" is such a key.
  #        "destination=..." can never name a key of this data (its first dot-separated part
  #        contains "=", or there is no such key at all), so 3.x ignores it; the list
  #        attribute has no RequiresReplace of its own in 3.x, so its changing value alone
  #        does not replace anything.
  # A change of source_image touches neither element: an in-place PUT on both versions.
  force_new = ["destination", "destination=${var.destination}"]
}
