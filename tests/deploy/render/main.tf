# The user-data of both roles for one sensor backend, rendered by the same
# module the pool uses, with placeholder addresses: no provider, no cloud.
# tests/deploy/userdata_test.sh applies it and checks what comes out.
terraform {
  required_version = ">= 1.9.0"
}

variable "sensor_backend" {
  type    = string
  default = "ebpf"
}

variable "tls" {
  type    = bool
  default = true
}

locals {
  common = {
    SF_NAME                = "scanfarm"
    SF_REGION              = "eu-west-1"
    SF_PACKAGE_URL         = "https://packages.example.org/scanfarm"
    SF_PACKAGE_VERSION     = "0.1.0"
    SF_WORKER_SECRET_PARAM = "/scanfarm/worker-secret"
    SF_NPM_REGISTRY        = "https://registry.npmjs.org/"
    # a private registry's token: where it is, never what
    SF_NPM_REGISTRY_AUTH_SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:npm-token"
  }
  # what the module passes with tls = true (secrets.tf): names and ARNs
  tls = var.tls ? {
    SF_TLS                   = "on"
    SF_TLS_SERVER_NAME       = "coordinator.scanfarm.internal"
    SF_TLS_CA_PARAM          = "/scanfarm/tls-ca"
    SF_TLS_WORKER_SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:scanfarm-tls-worker-x"
  } : { SF_TLS = "off" }
}

module "coordinator" {
  source = "../../../terraform/modules/scanfarm-aws/user-data"
  role   = "coordinator"
  env = merge(local.common, local.tls, var.tls ? {
    SF_TLS_CA_SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:scanfarm-tls-ca-x"
    SF_TLS_API_NAMES     = "scanfarm.example.org"
    SF_TLS_PUBLIC_IP     = "198.51.100.7"
    } : {}, {
    SF_DB_HOST         = "db.example.internal"
    SF_DB_PORT         = "5432"
    SF_DB_NAME         = "scanfarm"
    SF_DB_SECRET_ARN   = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds-x"
    SF_STORE_VOLUME_ID = "vol-0123456789abcdef0"
    SF_DRAIN_TIMEOUT   = "30"
    SF_JOB_TIME_LIMIT  = "300"
    SF_API_AUTH        = "on"
    SF_API_TOKEN_PARAM = "/scanfarm/api-token"
  })
}

module "worker" {
  source = "../../../terraform/modules/scanfarm-aws/user-data"
  role   = "worker"
  env = merge(local.common, local.tls, {
    SF_COORDINATOR_HOST = "10.42.0.10"
    SF_SLOTS            = "2"
    SF_SENSOR           = var.sensor_backend
    SF_FALCO_VERSION    = "0.43.1"
    SF_RULES_SOURCE     = "bundled"
    SF_NETWORK_MODE     = "sinkhole"
    SF_ASG_NAME         = "scanfarm-workers"
    SF_LIFECYCLE_HOOK   = "scanfarm-drain"
  })
}

module "database" {
  source = "../../../terraform/modules/scanfarm-aws/user-data"
  role   = "database"
  env = {
    SF_NAME              = "scanfarm"
    SF_REGION            = "eu-west-1"
    SF_DB_PASSWORD_PARAM = "/scanfarm/db-password"
    SF_DB_VOLUME_ID      = "vol-0fedcba9876543210"
    SF_DB_CLIENT         = "10.42.0.10/32"
  }
}

output "database" {
  value = module.database.cloud_config
}

output "coordinator" {
  value = module.coordinator.cloud_config
}

output "worker" {
  value = module.worker.cloud_config
}
