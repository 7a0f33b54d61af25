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

# --- TLS (var.tls): the pool's own CA, made on the coordinator's first boot
# by scanfarm-pki (files/pki.sh), never by Terraform, so no key is in the
# state or in user-data. Terraform creates the containers empty:
#  - the CA's key and certificate: a secret only the coordinator's role may
#    read or write;
#  - the workers' client certificate and key: a secret the coordinator
#    writes and the workers' role reads;
#  - the certificates to trust: a plain SSM parameter (public data), what
#    workers and API clients verify the coordinator with.
resource "aws_secretsmanager_secret" "tls_ca" {
  count                   = var.tls ? 1 : 0
  name_prefix             = "${var.name}-tls-ca-"
  description             = "scanfarm ${var.name}: the pool's CA key and certificate (written by the coordinator; only its role may read it)"
  recovery_window_in_days = 7
  tags                    = local.tags
}

resource "aws_secretsmanager_secret" "tls_worker" {
  count                   = var.tls ? 1 : 0
  name_prefix             = "${var.name}-tls-worker-"
  description             = "scanfarm ${var.name}: the workers' TLS client certificate and key (issued by the coordinator)"
  recovery_window_in_days = 7
  tags                    = local.tags
}

resource "aws_ssm_parameter" "tls_ca" {
  count       = var.tls ? 1 : 0
  name        = "/${var.name}/tls-ca"
  description = "scanfarm CA certificate(s) to trust (published by the coordinator on first boot)"
  type        = "String"
  value       = "unset"
  tags        = local.tags
  lifecycle { ignore_changes = [value] }
}

locals {
  tls_server_name = "coordinator.${var.name}.internal"
  tls_env = var.tls ? {
    SF_TLS                   = "on"
    SF_TLS_SERVER_NAME       = local.tls_server_name
    SF_TLS_CA_PARAM          = aws_ssm_parameter.tls_ca[0].name
    SF_TLS_WORKER_SECRET_ARN = aws_secretsmanager_secret.tls_worker[0].arn
  } : { SF_TLS = "off" }
}
