# The imagesync API through Mastercard/restapi, 2.x or 3.x. Every argument below is a
# provider argument in both (2.x restapi/provider.go, 3.x internal/provider/provider.go);
# none of them can be set on restapi_object, which is why they live here and not in the
# module.
provider "restapi" {
  # Base of every request: uri (trailing "/" cut) + "/v1/images[/{id}]".
  uri = var.imagesync_url

  # One of the tokens in IMAGESYNC_API_TOKEN. `headers` is set on every request by 2.x and
  # 3.x alike (3.x also offers `bearer_token`, which the 2.x schema may lack). Provider
  # configuration is not written to the state file.
  headers = {
    Authorization = "Bearer ${var.imagesync_token}"
  }

  # POST /v1/images answers the record with a top-level string "id": the provider takes the
  # id and api_data from that answer (no id in `data`, no GET right after the POST).
  create_returns_object = true
  # PUT /v1/images/{id} answers the record as well: its answer refreshes api_data, so a new
  # source's digest is in the `image` output without a further GET.
  write_returns_object = true

  # Seconds per request. 3.x aborts after 60 by default, 2.x never does. imagesync answers
  # within its request budget (IMAGESYNC_REQUEST_BUDGET, 50s by default) even for a large
  # copy (202, "syncing", then the next refresh reads the result), so 900 leaves room for a
  # longer budget and a slow link without ever cutting a request short.
  timeout = 900

  # restapi 3.x only (2.x rejects the block): retry connection errors and 5xx responses.
  # Safe with imagesync, whose POST is idempotent; enable it when pinning the provider to 3.x.
  # retries {
  #   max_retries = 3
  #   min_wait    = 1
  #   max_wait    = 30
  # }
}

provider "kubernetes" {
  config_path    = var.kubeconfig_path
  config_context = var.kube_context
}
