variable "imagesync_url" {
  description = "Base URL of the imagesync API (without /v1): `npm start` serves http://127.0.0.1:8787; on AWS, the API Gateway or function URL."
  type        = string
  default     = "http://127.0.0.1:8787"

  validation {
    condition     = can(regex("^https?://[^/]+", var.imagesync_url))
    error_message = "The imagesync_url must be an http:// or https:// URL, such as http://127.0.0.1:8787."
  }
}

variable "imagesync_token" {
  description = "Bearer token accepted by imagesync (one of IMAGESYNC_API_TOKEN). Pass it with TF_VAR_imagesync_token rather than a file."
  type        = string
  sensitive   = true
  nullable    = false
}

variable "kubeconfig_path" {
  description = "Kubeconfig for the cluster that runs the deployment."
  type        = string
  default     = "~/.kube/config"
}

variable "kube_context" {
  description = "Context in the kubeconfig; null uses its current context."
  type        = string
  default     = null
}

variable "namespace" {
  description = "Namespace of the busybox deployment."
  type        = string
  default     = "default"
}
