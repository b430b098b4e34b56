output "busybox_image" {
  description = "The mirrored busybox, pinned by digest."
  value       = module.busybox_1_32.image
}

output "busybox_record_id" {
  description = "The imagesync record behind it (GET /v1/images/<id>)."
  value       = module.busybox_1_32.id
}
