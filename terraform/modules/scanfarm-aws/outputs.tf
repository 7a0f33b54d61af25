locals {
  api_scheme = var.tls ? "https" : "http"
}

output "coordinator_url" {
  description = "Base URL of the coordinator's API (its public address when assign_public_ip, else the private one); https:// with tls, verified with the CA in tls_ca_parameter."
  value       = "${local.api_scheme}://${var.assign_public_ip ? aws_eip.coordinator[0].public_ip : aws_network_interface.coordinator.private_ip}:3000"
}

output "coordinator_private_url" {
  description = "The API on the coordinator's private address (what workers use)."
  value       = "${local.api_scheme}://${aws_network_interface.coordinator.private_ip}:3000"
}

output "tls_ca_parameter" {
  description = "SSM parameter holding the pool's CA certificate(s) once the coordinator has booted: give it to `scanfarm --cacert` (null without tls)."
  value       = var.tls ? aws_ssm_parameter.tls_ca[0].name : null
}

output "tls_server_name" {
  description = "The DNS name in the coordinator's certificate that the workers check (null without tls)."
  value       = var.tls ? local.tls_server_name : null
}

output "worker_group_name" {
  description = "Name of the workers' autoscaling group."
  value       = aws_autoscaling_group.worker.name
}

output "database_endpoint" {
  description = "host:port of PostgreSQL (the RDS instance, or the database VM's private address)."
  value       = local.db_rds ? aws_db_instance.this[0].endpoint : local.db_endpoint
}

output "database_secret_arn" {
  description = "Secrets Manager secret (managed by RDS) holding the database user and password (null with database = vm)."
  value       = local.db_rds ? aws_db_instance.this[0].master_user_secret[0].secret_arn : null
}

output "database_password_parameter" {
  description = "SSM SecureString holding the database VM's password (null with database = rds)."
  value       = local.db_rds ? null : aws_ssm_parameter.db_password[0].name
}

output "database_user_data" {
  description = "Rendered cloud-config of the database VM (contains no secrets; checked by the tests)."
  value       = module.database_user_data.cloud_config
}

output "api_token_parameter" {
  description = "SSM parameter the coordinator writes the API bootstrap token to on first boot (null without api_auth)."
  value       = var.api_auth ? aws_ssm_parameter.api_token[0].name : null
}

output "coordinator_user_data" {
  description = "Rendered cloud-config of the coordinator (contains no secrets; checked by the tests)."
  value       = module.coordinator_user_data.cloud_config
}

output "worker_user_data" {
  description = "Rendered cloud-config of the workers (contains no secrets; checked by the tests)."
  value       = module.worker_user_data.cloud_config
}

output "security_group_ids" {
  description = "Security groups by role."
  value = {
    coordinator = aws_security_group.coordinator.id
    worker      = aws_security_group.worker.id
    database    = aws_security_group.database.id
  }
}
