# The seed's busybox mirror, now through imagesync: Docker Hub's busybox:1.32 copied into a
# private registry, and the deployment pulling the copy by digest.
module "busybox_1_32" {
  source       = "../../modules/imagesync"
  source_image = "registry.hub.docker.com/library/busybox:1.32"
  destination  = "gcr.io/my-private-registry/busybox:1.32"
}

resource "kubernetes_deployment" "busybox" {
  metadata {
    name      = "busybox"
    namespace = var.namespace
    labels = {
      app = "busybox"
    }
  }

  spec {
    replicas = 1

    selector {
      match_labels = {
        app = "busybox"
      }
    }

    template {
      metadata {
        labels = {
          app = "busybox"
        }
      }

      spec {
        container {
          name = "busybox"
          # gcr.io/my-private-registry/busybox@sha256:...: the exact bytes imagesync copied.
          # When the source tag moves, imagesync re-syncs the copy, this output changes on
          # the next plan, and the deployment rolls to the new digest.
          image   = module.busybox_1_32.image
          command = ["sh", "-c", "while true; do sleep 3600; done"]
        }
      }
    }
  }
}
