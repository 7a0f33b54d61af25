# user-data: the cloud-config of one scanfarm role, rendered by templatefile.
# No provider, no resources: the parent module and the tests
# (tests/deploy/render) call it alike. Its inputs are names and addresses,
# never secrets: the bootstrap reads those at boot.
terraform {
  required_version = ">= 1.9.0"
}

variable "role" {
  type        = string
  description = "coordinator, worker or database (the PostgreSQL VM)."
  validation {
    condition     = contains(["coordinator", "worker", "database"], var.role)
    error_message = "role: coordinator, worker or database."
  }
}

variable "env" {
  type        = map(string)
  description = "Bootstrap parameters (SF_* variables written to /etc/scanfarm/bootstrap.env)."
  validation {
    condition     = alltrue([for k in keys(var.env) : can(regex("^SF_[A-Z0-9_]+$", k))])
    error_message = "env: keys are SF_ followed by upper-case letters, digits and underscores."
  }
}

locals {
  files_dir = "${path.module}/../files"
  role_files = {
    coordinator = [
      { path = "/usr/local/sbin/scanfarm-queue-metric", mode = "0755", content = file("${local.files_dir}/queue-metric.sh") },
      { path = "/etc/systemd/system/scanfarm-queue-metric.service", mode = "0644", content = file("${local.files_dir}/scanfarm-queue-metric.service") },
      { path = "/etc/systemd/system/scanfarm-queue-metric.timer", mode = "0644", content = file("${local.files_dir}/scanfarm-queue-metric.timer") },
      { path = "/usr/local/sbin/scanfarm-pki", mode = "0755", content = file("${local.files_dir}/pki.sh") },
      { path = "/etc/systemd/system/scanfarm-pki.service", mode = "0644", content = file("${local.files_dir}/scanfarm-pki.service") },
      { path = "/etc/systemd/system/scanfarm-pki.timer", mode = "0644", content = file("${local.files_dir}/scanfarm-pki.timer") },
    ]
    worker = [
      { path = "/usr/local/sbin/scanfarm-lifecycle", mode = "0755", content = file("${local.files_dir}/lifecycle.sh") },
      { path = "/etc/systemd/system/scanfarm-lifecycle.service", mode = "0644", content = file("${local.files_dir}/scanfarm-lifecycle.service") },
      { path = "/etc/systemd/system/scanfarm-lifecycle.timer", mode = "0644", content = file("${local.files_dir}/scanfarm-lifecycle.timer") },
      { path = "/usr/local/sbin/scanfarm-pki", mode = "0755", content = file("${local.files_dir}/pki.sh") },
      { path = "/etc/systemd/system/scanfarm-pki.service", mode = "0644", content = file("${local.files_dir}/scanfarm-pki.service") },
      { path = "/etc/systemd/system/scanfarm-pki.timer", mode = "0644", content = file("${local.files_dir}/scanfarm-pki.timer") },
    ]
    database = []
  }
  # KEY='value' with ' written as '\'' — read by bash's `.`
  env_file = join("", [for k in sort(keys(var.env)) : "${k}='${replace(var.env[k], "'", "'\\''")}'\n"])
  files = concat([
    { path = "/etc/scanfarm/bootstrap.env", mode = "0644", content = "# scanfarm ${var.role}: bootstrap parameters (no secrets)\nSF_ROLE='${var.role}'\n${local.env_file}" },
    { path = "/usr/local/sbin/scanfarm-bootstrap", mode = "0755", content = file("${local.files_dir}/bootstrap.sh") },
  ], local.role_files[var.role])
}

output "cloud_config" {
  description = "The rendered #cloud-config document."
  value = templatefile("${path.module}/../templates/cloud-config.yaml.tftpl", {
    role  = var.role
    files = local.files
  })
}
