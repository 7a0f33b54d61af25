# aws-pool: a scanfarm pool with the module's defaults — one coordinator
# (t3.medium), RDS PostgreSQL (db.t4g.micro), 1 to 4 c6i.large workers with
# two slots each, the embedded eBPF sensor, TLS on the NNG links and the API
# with the pool's own CA. docs/deploy.md walks through it.
terraform {
  required_version = ">= 1.9.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40, < 6.0"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  type        = string
  description = "AWS region of the pool."
  default     = "eu-west-1"
}

variable "allowed_cidrs" {
  type        = list(string)
  description = "CIDRs of the machines that submit scans (your office, your CI runners)."
}

variable "package_source_url" {
  type        = string
  description = "Where the .deb packages are (https:// or s3://, no trailing slash)."
}

variable "package_bucket_arn" {
  type        = string
  description = "ARN of the bucket when package_source_url is an s3:// URL."
  default     = null
}

variable "package_version" {
  type        = string
  description = "Version of the .deb packages."
  default     = "0.1.0"
}

variable "sensor_backend" {
  type        = string
  description = "ebpf, falco-json or falco-grpc."
  default     = "ebpf"
}

variable "database" {
  type        = string
  description = "rds (managed) or vm (PostgreSQL on an instance of its own: cheaper, backups yours)."
  default     = "rds"
}

variable "npm_registry" {
  type        = string
  description = "npm registry the pool installs from (a company's private one, say)."
  default     = "https://registry.npmjs.org/"
}

variable "npm_registry_auth_secret_arn" {
  type        = string
  description = "Secrets Manager secret holding that registry's token, or null for a public registry."
  default     = null
}

module "pool" {
  source = "../../modules/scanfarm-aws"

  name               = "scanfarm"
  region             = var.region
  allowed_cidrs      = var.allowed_cidrs
  package_source_url = var.package_source_url
  package_bucket_arn = var.package_bucket_arn
  package_version    = var.package_version
  sensor_backend     = var.sensor_backend
  database           = var.database

  npm_registry                 = var.npm_registry
  npm_registry_auth_secret_arn = var.npm_registry_auth_secret_arn

  worker_min       = 1
  worker_desired   = 1
  worker_max       = 4
  slots_per_worker = 2

  # a pool to try out: let `terraform destroy` remove the database
  db_deletion_protection = false
}

output "coordinator_url" {
  description = "The API (give it to `scanfarm --server`)."
  value       = module.pool.coordinator_url
}

output "worker_group_name" {
  description = "The workers' autoscaling group."
  value       = module.pool.worker_group_name
}

output "database_endpoint" {
  description = "RDS PostgreSQL host:port."
  value       = module.pool.database_endpoint
}

output "tls_ca_parameter" {
  description = "SSM parameter holding the pool's CA certificate once the coordinator has booted (give it to `scanfarm --cacert`)."
  value       = module.pool.tls_ca_parameter
}

output "api_token_parameter" {
  description = "SSM parameter holding the API bootstrap token once the coordinator has booted."
  value       = module.pool.api_token_parameter
}
