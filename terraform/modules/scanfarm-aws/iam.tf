# Instance roles: each role reads only its own secrets; the coordinator
# publishes the queue-depth metric and, with tls, keeps the pool's CA (the
# workers read their certificate, never the CA's key); a worker completes its own lifecycle
# action; the database VM (database = vm) reads its password. All get SSM
# Session Manager (no SSH needed).
data "aws_iam_policy_document" "assume_ec2" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

data "aws_partition" "current" {}

locals {
  ssm_core_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
  # a private registry's token: the coordinator and the workers read it
  registry_auth_read = var.npm_registry_auth_secret_arn == null ? [] : [var.npm_registry_auth_secret_arn]
  bucket_read = var.package_bucket_arn == null ? [] : [{
    actions   = ["s3:GetObject", "s3:ListBucket"]
    resources = [var.package_bucket_arn, "${var.package_bucket_arn}/*"]
  }]
}

resource "aws_iam_role" "coordinator" {
  name_prefix        = "${var.name}-coord-"
  assume_role_policy = data.aws_iam_policy_document.assume_ec2.json
  tags               = local.tags
}

resource "aws_iam_role" "worker" {
  name_prefix        = "${var.name}-worker-"
  assume_role_policy = data.aws_iam_policy_document.assume_ec2.json
  tags               = local.tags
}

data "aws_iam_policy_document" "coordinator" {
  statement {
    sid       = "WorkerSecret"
    actions   = ["ssm:GetParameter"]
    resources = concat([aws_ssm_parameter.worker_secret.arn], aws_ssm_parameter.api_token[*].arn)
  }
  dynamic "statement" {
    for_each = var.api_auth ? [1] : []
    content {
      sid       = "BootstrapToken"
      actions   = ["ssm:PutParameter"]
      resources = aws_ssm_parameter.api_token[*].arn
    }
  }
  dynamic "statement" {
    for_each = local.db_rds ? [aws_db_instance.this[0].master_user_secret[0].secret_arn] : []
    content {
      sid       = "DatabasePassword"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }
  dynamic "statement" {
    for_each = local.db_rds ? [] : [aws_ssm_parameter.db_password[0].arn]
    content {
      sid       = "DatabaseVmPassword"
      actions   = ["ssm:GetParameter"]
      resources = [statement.value]
    }
  }
  dynamic "statement" {
    for_each = local.registry_auth_read
    content {
      sid       = "RegistryToken"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }
  # the pool's CA: the coordinator alone keeps its key, issues the workers'
  # certificate and publishes the certificates to trust (files/pki.sh)
  dynamic "statement" {
    for_each = var.tls ? [1] : []
    content {
      sid       = "TlsIssue"
      actions   = ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"]
      resources = [aws_secretsmanager_secret.tls_ca[0].arn, aws_secretsmanager_secret.tls_worker[0].arn]
    }
  }
  dynamic "statement" {
    for_each = var.tls ? [1] : []
    content {
      sid       = "TlsPublishCa"
      actions   = ["ssm:GetParameter", "ssm:PutParameter"]
      resources = [aws_ssm_parameter.tls_ca[0].arn]
    }
  }
  statement {
    sid       = "QueueDepthMetric"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["Scanfarm"]
    }
  }
  dynamic "statement" {
    for_each = local.bucket_read
    content {
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

data "aws_iam_policy_document" "worker" {
  statement {
    sid       = "WorkerSecret"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.worker_secret.arn]
  }
  dynamic "statement" {
    for_each = local.registry_auth_read
    content {
      sid       = "RegistryToken"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }
  # the workers' certificate and the CA to trust; never the CA's key
  dynamic "statement" {
    for_each = var.tls ? [1] : []
    content {
      sid       = "TlsWorkerCertificate"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [aws_secretsmanager_secret.tls_worker[0].arn]
    }
  }
  dynamic "statement" {
    for_each = var.tls ? [1] : []
    content {
      sid       = "TlsCa"
      actions   = ["ssm:GetParameter"]
      resources = [aws_ssm_parameter.tls_ca[0].arn]
    }
  }
  statement {
    sid       = "DrainOnScaleIn"
    actions   = ["autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"]
    resources = ["arn:${data.aws_partition.current.partition}:autoscaling:${var.region}:*:autoScalingGroup:*:autoScalingGroupName/${var.name}-workers"]
  }
  dynamic "statement" {
    for_each = local.bucket_read
    content {
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

resource "aws_iam_role_policy" "coordinator" {
  role   = aws_iam_role.coordinator.id
  policy = data.aws_iam_policy_document.coordinator.json
}

resource "aws_iam_role_policy" "worker" {
  role   = aws_iam_role.worker.id
  policy = data.aws_iam_policy_document.worker.json
}

resource "aws_iam_role_policy_attachment" "ssm_core" {
  for_each = merge({ coordinator = aws_iam_role.coordinator.name, worker = aws_iam_role.worker.name },
  local.db_rds ? {} : { database = aws_iam_role.database[0].name })
  role       = each.value
  policy_arn = local.ssm_core_arn
}

resource "aws_iam_instance_profile" "coordinator" {
  name_prefix = "${var.name}-coord-"
  role        = aws_iam_role.coordinator.name
}

resource "aws_iam_instance_profile" "worker" {
  name_prefix = "${var.name}-worker-"
  role        = aws_iam_role.worker.name
}

# --- the database VM (database = vm): its own password, nothing else
resource "aws_iam_role" "database" {
  count              = local.db_rds ? 0 : 1
  name_prefix        = "${var.name}-db-"
  assume_role_policy = data.aws_iam_policy_document.assume_ec2.json
  tags               = local.tags
}

data "aws_iam_policy_document" "database" {
  count = local.db_rds ? 0 : 1
  statement {
    sid       = "DatabasePassword"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.db_password[0].arn]
  }
}

resource "aws_iam_role_policy" "database" {
  count  = local.db_rds ? 0 : 1
  role   = aws_iam_role.database[0].id
  policy = data.aws_iam_policy_document.database[0].json
}

resource "aws_iam_instance_profile" "database" {
  count       = local.db_rds ? 0 : 1
  name_prefix = "${var.name}-db-"
  role        = aws_iam_role.database[0].name
}
