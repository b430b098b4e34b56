terraform {
  # 1.2 for the `precondition` on the `image` output (outputs.tf).
  required_version = ">= 1.2.0"

  required_providers {
    restapi = {
      source = "Mastercard/restapi"
      # Every setting this module uses exists with the same meaning in 2.x (SDKv2, package
      # restapi/) and 3.x (plugin framework, package internal/provider/); force_new is
      # written so that both readings replace on a new destination (main.tf).
      version = ">= 2.0.0, < 4.0.0"
    }
  }
}
