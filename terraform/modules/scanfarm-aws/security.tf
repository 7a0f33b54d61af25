# Security groups. Ingress only, each rule its own resource so the tests can
# check every one: the HTTP API from allowed_cidrs and the workers; the NNG
# ports (7301 jobs, 7302 results) from the worker group only; PostgreSQL
# from the coordinator group only. Workers accept nothing but optional SSH.
locals {
  api_port     = 3000
  jobs_port    = 7301
  results_port = 7302
  db_port      = 5432
}

resource "aws_security_group" "coordinator" {
  name_prefix = "${var.name}-coordinator-"
  description = "scanfarm coordinator: API from allowed CIDRs and workers, NNG from workers"
  vpc_id      = local.vpc_id
  tags        = merge(local.tags, { Name = "${var.name}-coordinator" })
  lifecycle {
    create_before_destroy = true
    precondition {
      condition     = var.create_vpc || (var.vpc_id != null && length(var.subnet_ids) >= 2)
      error_message = "create_vpc = false needs vpc_id and subnet_ids in at least two availability zones."
    }
  }
}

resource "aws_security_group" "worker" {
  name_prefix = "${var.name}-worker-"
  description = "scanfarm workers: no ingress (SSH only if ssh_cidrs is set)"
  vpc_id      = local.vpc_id
  tags        = merge(local.tags, { Name = "${var.name}-worker" })
  lifecycle { create_before_destroy = true }
}

resource "aws_security_group" "database" {
  name_prefix = "${var.name}-db-"
  description = "scanfarm PostgreSQL: from the coordinator only"
  vpc_id      = local.vpc_id
  tags        = merge(local.tags, { Name = "${var.name}-db" })
  lifecycle { create_before_destroy = true }
}

resource "aws_vpc_security_group_ingress_rule" "api_from_cidrs" {
  for_each          = toset(var.allowed_cidrs)
  security_group_id = aws_security_group.coordinator.id
  description       = "HTTP API from an allowed submitter CIDR"
  ip_protocol       = "tcp"
  from_port         = local.api_port
  to_port           = local.api_port
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "api_from_workers" {
  security_group_id            = aws_security_group.coordinator.id
  description                  = "artifact downloads (/v1/artifacts) from workers"
  ip_protocol                  = "tcp"
  from_port                    = local.api_port
  to_port                      = local.api_port
  referenced_security_group_id = aws_security_group.worker.id
}

resource "aws_vpc_security_group_ingress_rule" "nng_from_workers" {
  for_each                     = toset([tostring(local.jobs_port), tostring(local.results_port)])
  security_group_id            = aws_security_group.coordinator.id
  description                  = "NNG ${each.value == tostring(local.jobs_port) ? "jobs" : "results"} from workers"
  ip_protocol                  = "tcp"
  from_port                    = tonumber(each.value)
  to_port                      = tonumber(each.value)
  referenced_security_group_id = aws_security_group.worker.id
}

resource "aws_vpc_security_group_ingress_rule" "db_from_coordinator" {
  security_group_id            = aws_security_group.database.id
  description                  = "PostgreSQL from the coordinator"
  ip_protocol                  = "tcp"
  from_port                    = local.db_port
  to_port                      = local.db_port
  referenced_security_group_id = aws_security_group.coordinator.id
}

resource "aws_vpc_security_group_ingress_rule" "ssh" {
  for_each          = { for pair in setproduct(["coordinator", "worker"], var.ssh_cidrs) : "${pair[0]}-${pair[1]}" => pair }
  security_group_id = each.value[0] == "coordinator" ? aws_security_group.coordinator.id : aws_security_group.worker.id
  description       = "SSH from an operator CIDR"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = each.value[1]
}

# Egress: instances reach the Debian mirror, the npm registry, the package
# source and the AWS APIs (the database VM: the mirror and SSM); the sandbox
# itself is confined by the worker.
resource "aws_vpc_security_group_egress_rule" "all" {
  for_each = merge({ coordinator = aws_security_group.coordinator.id, worker = aws_security_group.worker.id },
  local.db_rds ? {} : { database = aws_security_group.database.id })
  security_group_id = each.value
  description       = "outbound to the internet"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}
