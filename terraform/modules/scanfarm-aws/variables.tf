variable "name" {
  type        = string
  description = "Name of the pool: prefix of every resource, SSM parameter path (/NAME/...) and CloudWatch dimension."
  default     = "scanfarm"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name: 2-31 characters, lower-case letters, digits and dashes, starting with a letter."
  }
}

variable "region" {
  type        = string
  description = "AWS region the pool runs in (also written into the hosts' configuration for the AWS CLI)."
  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region: an AWS region name such as eu-west-1."
  }
}

variable "create_vpc" {
  type        = bool
  description = "true: create a VPC with public subnets in two availability zones; false: use vpc_id and subnet_ids."
  default     = true
}

variable "vpc_cidr" {
  type        = string
  description = "CIDR of the VPC created when create_vpc is true."
  default     = "10.42.0.0/16"
  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr: a valid IPv4 CIDR block."
  }
}

variable "availability_zones" {
  type        = list(string)
  description = "Availability zones of the created subnets (at least two, RDS needs them); empty: the region's first two."
  default     = []
}

variable "vpc_id" {
  type        = string
  description = "Existing VPC (create_vpc = false)."
  default     = null
}

variable "subnet_ids" {
  type        = list(string)
  description = "Existing subnets in at least two availability zones (create_vpc = false); they need a route to the internet (NAT) for packages, npm and AWS APIs."
  default     = []
}

variable "assign_public_ip" {
  type        = bool
  description = "Give instances public addresses (needed in the created VPC, which has no NAT gateway). Ingress is still limited by the security groups."
  default     = true
}

variable "private_subnets" {
  type        = bool
  description = "In the created VPC, put the workers and the database in private subnets behind one NAT gateway (no public address, nothing routable from the internet); the coordinator stays in a public subnet for the API. Costs the NAT gateway's hours and per-GB processing of everything the workers download."
  default     = false
}

variable "allowed_cidrs" {
  type        = list(string)
  description = "CIDRs allowed to reach the coordinator's HTTP API (submitters, CI runners). Never 0.0.0.0/0 unless you mean it."
  validation {
    condition     = length(var.allowed_cidrs) > 0 && alltrue([for c in var.allowed_cidrs : can(cidrhost(c, 0))])
    error_message = "allowed_cidrs: at least one valid CIDR block."
  }
}

variable "ssh_cidrs" {
  type        = list(string)
  description = "CIDRs allowed to SSH to the instances; empty (the default): no SSH, use SSM Session Manager."
  default     = []
  validation {
    condition     = alltrue([for c in var.ssh_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "ssh_cidrs: valid CIDR blocks, not 0.0.0.0/0."
  }
}

variable "ami_id" {
  type        = string
  description = "AMI for both roles; null: the newest official Debian 12 (bookworm) amd64 AMI."
  default     = null
}

variable "key_name" {
  type        = string
  description = "EC2 key pair for SSH (optional)."
  default     = null
}

variable "coordinator_instance_type" {
  type        = string
  description = "Instance type of the coordinator."
  default     = "t3.medium"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.coordinator_instance_type))
    error_message = "coordinator_instance_type: an EC2 instance type such as t3.medium."
  }
}

variable "worker_instance_type" {
  type        = string
  description = "Instance type of the workers (x86_64: the packages are amd64; the eBPF sensor needs a Nitro kernel with BTF, which Debian 12 has)."
  default     = "c6i.large"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.worker_instance_type)) && !can(regex("^[a-z][0-9]+g", var.worker_instance_type))
    error_message = "worker_instance_type: an x86_64 EC2 instance type such as c6i.large (no Graviton: the packages are amd64)."
  }
}

variable "database" {
  type        = string
  description = "Where PostgreSQL runs: rds (Amazon RDS: managed backups, patching and password) or vm (PostgreSQL 15 from Debian on an EC2 instance with a persistent encrypted data volume: cheaper, backups are yours)."
  default     = "rds"
  validation {
    condition     = contains(["rds", "vm"], var.database)
    error_message = "database: rds or vm."
  }
}

variable "db_vm_instance_type" {
  type        = string
  description = "Instance type of the PostgreSQL VM (database = vm)."
  default     = "t3.small"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.db_vm_instance_type)) && !can(regex("^[a-z][0-9]+g", var.db_vm_instance_type))
    error_message = "db_vm_instance_type: an x86_64 EC2 instance type such as t3.small."
  }
}

variable "db_volume_size_gb" {
  type        = number
  description = "Size of the PostgreSQL VM's data volume in GiB (database = vm)."
  default     = 50
  validation {
    condition     = var.db_volume_size_gb >= 10
    error_message = "db_volume_size_gb: at least 10."
  }
}

variable "db_instance_class" {
  type        = string
  description = "RDS instance class of the PostgreSQL database."
  default     = "db.t4g.micro"
  validation {
    condition     = startswith(var.db_instance_class, "db.")
    error_message = "db_instance_class: an RDS class such as db.t4g.micro."
  }
}

variable "db_allocated_storage_gb" {
  type        = number
  description = "Storage of the database in GiB."
  default     = 20
  validation {
    condition     = var.db_allocated_storage_gb >= 20
    error_message = "db_allocated_storage_gb: at least 20."
  }
}

variable "db_deletion_protection" {
  type        = bool
  description = "Protect the database from deletion (turn off to destroy a test pool)."
  default     = true
}

variable "store_volume_size_gb" {
  type        = number
  description = "Size of the coordinator's persistent EBS volume for the artifact store, in GiB."
  default     = 100
  validation {
    condition     = var.store_volume_size_gb >= 8
    error_message = "store_volume_size_gb: at least 8."
  }
}

variable "worker_min" {
  type        = number
  description = "Fewest worker instances."
  default     = 1
  validation {
    condition     = var.worker_min >= 0 && floor(var.worker_min) == var.worker_min
    error_message = "worker_min: a whole number >= 0."
  }
}

variable "worker_max" {
  type        = number
  description = "Most worker instances."
  default     = 4
  validation {
    condition     = var.worker_max >= 1 && floor(var.worker_max) == var.worker_max && var.worker_max >= var.worker_min
    error_message = "worker_max: a whole number >= 1 and >= worker_min."
  }
}

variable "worker_desired" {
  type        = number
  description = "Worker instances at creation (then the scaling policy decides; later changes to it are ignored)."
  default     = 1
  validation {
    condition     = floor(var.worker_desired) == var.worker_desired && var.worker_desired >= var.worker_min && var.worker_desired <= var.worker_max
    error_message = "worker_desired: a whole number from worker_min to worker_max."
  }
}

variable "slots_per_worker" {
  type        = number
  description = "Installs each worker instance runs at once: the capacity of its one worker process (scanfarm-worker.service), each slot with its own user-namespace id range. Size it to vCPUs and memory (job-memory-mb per slot). Earlier releases ran one scanfarm-worker@N unit (capacity 1) per slot; the pool sees the same number of slots either way."
  default     = 2
  validation {
    condition     = var.slots_per_worker >= 1 && var.slots_per_worker <= 64 && floor(var.slots_per_worker) == var.slots_per_worker
    error_message = "slots_per_worker: a whole number from 1 to 64."
  }
}

variable "target_jobs_per_slot" {
  type        = number
  description = "Target of the scaling policy: (queued + running jobs) per worker slot in service."
  default     = 1
  validation {
    condition     = var.target_jobs_per_slot > 0
    error_message = "target_jobs_per_slot: greater than 0."
  }
}

variable "sensor_backend" {
  type        = string
  description = "Runtime sensor of the workers: ebpf (embedded CO-RE sensor), falco-json or falco-grpc (Falco installed on each worker, docs/falco.md)."
  default     = "ebpf"
  validation {
    condition     = contains(["ebpf", "falco-json", "falco-grpc"], var.sensor_backend)
    error_message = "sensor_backend: one of ebpf, falco-json, falco-grpc."
  }
}

variable "falco_version" {
  type        = string
  description = "Falco package version installed for the falco-* backends (falco-grpc needs <= 0.43, the last with gRPC outputs)."
  default     = "0.43.1"
  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.falco_version))
    error_message = "falco_version: MAJOR.MINOR.PATCH."
  }
}

variable "rules_source" {
  type        = string
  description = "Rules the workers load: \"bundled\" (/usr/share/scanfarm/rules from the package) or an https:// or s3:// URL of a .tar.gz of rule files (checked with scanfarm-rules before use)."
  default     = "bundled"
  validation {
    condition     = var.rules_source == "bundled" || can(regex("^(https|s3)://.+\\.(tar\\.gz|tgz)$", var.rules_source))
    error_message = "rules_source: \"bundled\" or an https:// or s3:// URL ending in .tar.gz or .tgz."
  }
}

variable "network_mode" {
  type        = string
  description = "Sandbox network mode (issue 12): sinkhole or offline. Passed to workers whose binary has the option; ignored with a log line by older ones."
  default     = "sinkhole"
  validation {
    condition     = contains(["sinkhole", "offline"], var.network_mode)
    error_message = "network_mode: sinkhole or offline."
  }
}

variable "package_source_url" {
  type        = string
  description = "Base URL (https:// or s3://) holding scanfarm-{coordinator,worker,cli}_VERSION_amd64.deb (cmake --build build --target package)."
  validation {
    condition     = can(regex("^(https|s3)://[^ ]+[^/]$", var.package_source_url))
    error_message = "package_source_url: an https:// or s3:// URL without a trailing slash."
  }
}

variable "package_version" {
  type        = string
  description = "Version of the .deb packages to install (changing it rolls the workers through an instance refresh)."
  default     = "0.1.0"
  validation {
    condition     = can(regex("^[0-9][0-9A-Za-z.+~-]*$", var.package_version))
    error_message = "package_version: a Debian version string."
  }
}

variable "package_bucket_arn" {
  type        = string
  description = "ARN of the S3 bucket of package_source_url / rules_source when they are s3:// URLs (the instances get read access to it)."
  default     = null
}

variable "npm_registry" {
  type        = string
  description = "npm registry the workers' fetch phase and the coordinator's batches use."
  default     = "https://registry.npmjs.org/"
}

variable "npm_registry_auth_secret_arn" {
  type        = string
  description = "Secrets Manager secret holding a private npm_registry's token (or a whole Authorization value): read at boot by the coordinator and the workers (whose gateway adds it; the sandbox never sees it). null: a public registry."
  default     = null
  validation {
    condition     = var.npm_registry_auth_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:", var.npm_registry_auth_secret_arn))
    error_message = "npm_registry_auth_secret_arn: a Secrets Manager secret ARN, or null."
  }
}

variable "api_auth" {
  type        = bool
  description = "Require API tokens on /v1 (a bootstrap token is created on the coordinator's first boot and stored in SSM at /NAME/api-token)."
  default     = true
}

variable "drain_timeout" {
  type        = number
  description = "Coordinator --drain-timeout in seconds (the unit's stop timeout is 90 s: keep this under 80)."
  default     = 30
  validation {
    condition     = var.drain_timeout >= 1 && var.drain_timeout <= 80
    error_message = "drain_timeout: 1 to 80 seconds (scanfarm-coordinator.service stops after 90 s)."
  }
}

variable "job_time_limit" {
  type        = number
  description = "Seconds an install may run (coordinator --job-time-limit). A draining worker finishes its job: keep it under 400 (worker unit stop timeout 480 s, lifecycle hook 600 s)."
  default     = 300
  validation {
    condition     = var.job_time_limit >= 30 && var.job_time_limit <= 400
    error_message = "job_time_limit: 30 to 400 seconds."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}

variable "tls" {
  type        = bool
  description = "NNG over tls+tcp:// with mutual authentication and the API over HTTPS, with certificates of the pool's own CA (made on the coordinator's first boot, kept in Secrets Manager, renewed daily when due: docs/deploy.md \"TLS\"). false: plain TCP and HTTP inside the VPC."
  default     = true
}

variable "api_dns_names" {
  type        = list(string)
  description = "DNS names API clients use for the coordinator (a record you point at its address): added to its certificate beside its addresses."
  default     = []
  validation {
    condition     = alltrue([for n in var.api_dns_names : can(regex("^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?$", n))])
    error_message = "api_dns_names: lower-case DNS names."
  }
}
