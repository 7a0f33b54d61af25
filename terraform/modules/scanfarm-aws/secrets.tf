# Secrets never travel in user-data: the hosts read them at boot.
#  - the worker secret: an SSM SecureString generated here (it is in the
#    Terraform state, like every generated secret: keep the state private);
#  - the database password: RDS manages it in Secrets Manager
#    (manage_master_user_password), so Terraform never sees it;
#  - the API bootstrap token: created by the coordinator on its first boot
#    and written to an SSM SecureString that starts as a placeholder.
data "aws_secretsmanager_random_password" "worker_secret" {
  password_length     = 48
  exclude_punctuation = true
}

resource "aws_ssm_parameter" "worker_secret" {
  name        = "/${var.name}/worker-secret"
  description = "scanfarm shared secret of workers and coordinator"
  type        = "SecureString"
  value       = data.aws_secretsmanager_random_password.worker_secret.random_password
  tags        = local.tags
  # the data source draws a new password on every plan: keep the first one
  lifecycle { ignore_changes = [value] }
}

resource "aws_ssm_parameter" "api_token" {
  count       = var.api_auth ? 1 : 0
  name        = "/${var.name}/api-token"
  description = "scanfarm API bootstrap token (written by the coordinator on first boot)"
  type        = "SecureString"
  value       = "unset"
  tags        = local.tags
  lifecycle { ignore_changes = [value] }
}
