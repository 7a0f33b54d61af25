# PostgreSQL, reachable from the coordinator's security group only. Two
# shapes (var.database):
#   rds  Amazon RDS; its master password lives in Secrets Manager, managed
#        by RDS, so Terraform never sees it;
#   vm   PostgreSQL 15 from Debian on an EC2 instance of its own, its data
#        (and the cluster's configuration) on a persistent encrypted EBS
#        volume that outlives the instance, behind a persistent network
#        interface; the password is an SSM SecureString generated here.
#        Cheaper; backups are the operator's (docs/deploy.md).
locals {
  db_rds      = var.database == "rds"
  db_host     = local.db_rds ? aws_db_instance.this[0].address : aws_network_interface.database[0].private_ip
  db_endpoint = "${local.db_host}:${local.db_port}"
}

resource "aws_db_subnet_group" "this" {
  count       = local.db_rds ? 1 : 0
  name_prefix = "${var.name}-"
  subnet_ids  = local.inner_subnet_ids
  tags        = local.tags
}

resource "aws_db_instance" "this" {
  count                       = local.db_rds ? 1 : 0
  identifier_prefix           = "${var.name}-"
  engine                      = "postgres"
  engine_version              = "16"
  instance_class              = var.db_instance_class
  allocated_storage           = var.db_allocated_storage_gb
  storage_type                = "gp3"
  storage_encrypted           = true
  db_name                     = "scanfarm"
  username                    = "scanfarm"
  manage_master_user_password = true
  db_subnet_group_name        = aws_db_subnet_group.this[0].name
  vpc_security_group_ids      = [aws_security_group.database.id]
  publicly_accessible         = false
  backup_retention_period     = 7
  deletion_protection         = var.db_deletion_protection
  skip_final_snapshot         = !var.db_deletion_protection
  final_snapshot_identifier   = var.db_deletion_protection ? "${var.name}-final" : null
  auto_minor_version_upgrade  = true
  apply_immediately           = false
  tags                        = local.tags
}

# --- the PostgreSQL VM

data "aws_secretsmanager_random_password" "db_password" {
  count               = local.db_rds ? 0 : 1
  password_length     = 40
  exclude_punctuation = true
}

resource "aws_ssm_parameter" "db_password" {
  count       = local.db_rds ? 0 : 1
  name        = "/${var.name}/db-password"
  description = "scanfarm PostgreSQL password of the scanfarm role (the database VM sets it, the coordinator uses it)"
  type        = "SecureString"
  value       = data.aws_secretsmanager_random_password.db_password[0].random_password
  tags        = local.tags
  lifecycle { ignore_changes = [value] }
}

resource "aws_network_interface" "database" {
  count           = local.db_rds ? 0 : 1
  subnet_id       = local.inner_subnet_ids[0]
  security_groups = [aws_security_group.database.id]
  description     = "${var.name} PostgreSQL"
  tags            = merge(local.tags, { Name = "${var.name}-database" })
}

# only for its way to the Debian mirror when there is no NAT: the security
# group still admits the coordinator alone
resource "aws_eip" "database" {
  count             = !local.db_rds && local.inner_public_ip ? 1 : 0
  domain            = "vpc"
  network_interface = aws_network_interface.database[0].id
  tags              = merge(local.tags, { Name = "${var.name}-database" })
}

resource "aws_ebs_volume" "pgdata" {
  count             = local.db_rds ? 0 : 1
  availability_zone = local.private ? aws_subnet.private[0].availability_zone : (var.create_vpc ? aws_subnet.this[0].availability_zone : data.aws_subnet.coordinator[0].availability_zone)
  size              = var.db_volume_size_gb
  type              = "gp3"
  encrypted         = true
  tags              = merge(local.tags, { Name = "${var.name}-pgdata" })
}

module "database_user_data" {
  source = "./user-data"
  role   = "database"
  env = {
    SF_NAME              = var.name
    SF_REGION            = var.region
    SF_DB_PASSWORD_PARAM = local.db_rds ? "" : aws_ssm_parameter.db_password[0].name
    SF_DB_VOLUME_ID      = local.db_rds ? "" : aws_ebs_volume.pgdata[0].id
    SF_DB_CLIENT         = "${aws_network_interface.coordinator.private_ip}/32"
  }
}

resource "aws_instance" "database" {
  count                = local.db_rds ? 0 : 1
  ami                  = local.ami_id
  instance_type        = var.db_vm_instance_type
  iam_instance_profile = aws_iam_instance_profile.database[0].name
  key_name             = var.key_name
  user_data_base64     = base64gzip(module.database_user_data.cloud_config)
  network_interface {
    network_interface_id = aws_network_interface.database[0].id
    device_index         = 0
  }
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
  root_block_device {
    volume_size = 10
    volume_type = "gp3"
    encrypted   = true
  }
  tags        = merge(local.tags, { Name = "${var.name}-database", "scanfarm:role" = "database" })
  volume_tags = merge(local.tags, { Name = "${var.name}-database-root" })
  # the database is not replaced by a newer AMI or bootstrap script on a
  # later apply: replace it deliberately (terraform apply -replace), its data
  # volume and address stay
  lifecycle { ignore_changes = [ami, user_data_base64] }
}

resource "aws_volume_attachment" "pgdata" {
  count                          = local.db_rds ? 0 : 1
  device_name                    = "/dev/sdg"
  volume_id                      = aws_ebs_volume.pgdata[0].id
  instance_id                    = aws_instance.database[0].id
  stop_instance_before_detaching = true
}
