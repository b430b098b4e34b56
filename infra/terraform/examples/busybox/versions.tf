terraform {
  required_version = ">= 1.2.0"

  required_providers {
    restapi = {
      source  = "Mastercard/restapi"
      version = ">= 2.0.0, < 4.0.0" # as in ../../modules/imagesync/versions.tf
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 2.0.0, < 3.0.0" # kubernetes_deployment as documented for 2.x
    }
  }
}
