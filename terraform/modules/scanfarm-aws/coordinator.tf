# The coordinator: one instance behind a persistent network interface (its
# address survives a replacement, so workers keep dialling it) with a
# persistent EBS volume for the artifact store.
data "aws_ami" "debian12" {
  count       = var.ami_id == null ? 1 : 0
  most_recent = true
  owners      = ["136693071363"] # Debian's official account
  filter {
    name   = "name"
    values = ["debian-12-amd64-*"]
  }
  filter {
    name   = "architecture"
    values = ["x86_64"]
  }
}

locals {
  ami_id = var.ami_id != null ? var.ami_id : data.aws_ami.debian12[0].id
  common_env = {
    SF_NAME                = var.name
    SF_REGION              = var.region
    SF_PACKAGE_URL         = var.package_source_url
    SF_PACKAGE_VERSION     = var.package_version
    SF_WORKER_SECRET_PARAM = aws_ssm_parameter.worker_secret.name
    SF_NPM_REGISTRY        = var.npm_registry
    # where the token of a private registry is (not the token)
    SF_NPM_REGISTRY_AUTH_SECRET_ARN = var.npm_registry_auth_secret_arn == null ? "" : var.npm_registry_auth_secret_arn
  }
}

data "aws_subnet" "coordinator" {
  count = var.create_vpc ? 0 : 1
  id    = var.subnet_ids[0]
}

resource "aws_network_interface" "coordinator" {
  subnet_id       = local.subnet_ids[0]
  security_groups = [aws_security_group.coordinator.id]
  description     = "${var.name} coordinator"
  tags            = merge(local.tags, { Name = "${var.name}-coordinator" })
}

resource "aws_eip" "coordinator" {
  count             = var.assign_public_ip ? 1 : 0
  domain            = "vpc"
  network_interface = aws_network_interface.coordinator.id
  tags              = merge(local.tags, { Name = "${var.name}-coordinator" })
}

resource "aws_ebs_volume" "store" {
  availability_zone = var.create_vpc ? aws_subnet.this[0].availability_zone : data.aws_subnet.coordinator[0].availability_zone
  size              = var.store_volume_size_gb
  type              = "gp3"
  encrypted         = true
  tags              = merge(local.tags, { Name = "${var.name}-artifact-store" })
  lifecycle { prevent_destroy = false }
}

module "coordinator_user_data" {
  source = "./user-data"
  role   = "coordinator"
  env = merge(local.common_env, local.tls_env, var.tls ? {
    SF_TLS_CA_SECRET_ARN = aws_secretsmanager_secret.tls_ca[0].arn
    SF_TLS_API_NAMES     = join(",", var.api_dns_names)
    # the EIP in the certificate from the first boot on (IMDS may not show it yet)
    SF_TLS_PUBLIC_IP = var.assign_public_ip ? aws_eip.coordinator[0].public_ip : ""
    } : {}, {
    SF_DB_HOST           = local.db_host
    SF_DB_PORT           = tostring(local.db_port)
    SF_DB_NAME           = "scanfarm"
    SF_DB_SECRET_ARN     = local.db_rds ? aws_db_instance.this[0].master_user_secret[0].secret_arn : ""
    SF_DB_PASSWORD_PARAM = local.db_rds ? "" : aws_ssm_parameter.db_password[0].name
    SF_STORE_VOLUME_ID   = aws_ebs_volume.store.id
    SF_DRAIN_TIMEOUT     = tostring(var.drain_timeout)
    SF_JOB_TIME_LIMIT    = tostring(var.job_time_limit)
    SF_API_AUTH          = var.api_auth ? "on" : "off"
    SF_API_TOKEN_PARAM   = var.api_auth ? aws_ssm_parameter.api_token[0].name : ""
  })
}

resource "aws_instance" "coordinator" {
  ami                  = local.ami_id
  instance_type        = var.coordinator_instance_type
  iam_instance_profile = aws_iam_instance_profile.coordinator.name
  key_name             = var.key_name
  user_data_base64     = base64gzip(module.coordinator_user_data.cloud_config)
  network_interface {
    network_interface_id = aws_network_interface.coordinator.id
    device_index         = 0
  }
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
  root_block_device {
    volume_size = 20
    volume_type = "gp3"
    encrypted   = true
  }
  tags        = merge(local.tags, { Name = "${var.name}-coordinator", "scanfarm:role" = "coordinator" })
  volume_tags = merge(local.tags, { Name = "${var.name}-coordinator-root" })
  # user-data changes (a new package version) replace the instance; the ENI
  # and the store volume stay.
  user_data_replace_on_change = true
}

resource "aws_volume_attachment" "store" {
  device_name = "/dev/sdf"
  volume_id   = aws_ebs_volume.store.id
  instance_id = aws_instance.coordinator.id
  # let the coordinator drain (its unit stops on shutdown) before detaching
  stop_instance_before_detaching = true
}
