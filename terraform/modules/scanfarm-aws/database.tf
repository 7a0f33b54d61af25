# RDS PostgreSQL, reachable from the coordinator's security group only; its
# master password lives in Secrets Manager, managed by RDS.
resource "aws_db_subnet_group" "this" {
  name_prefix = "${var.name}-"
  subnet_ids  = local.subnet_ids
  tags        = local.tags
}

resource "aws_db_instance" "this" {
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
  db_subnet_group_name        = aws_db_subnet_group.this.name
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
