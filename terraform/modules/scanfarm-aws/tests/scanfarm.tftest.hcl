# terraform test: the module planned and applied against a mocked AWS
# provider (offline, no credentials). What must always hold:
#   - the NNG ports and PostgreSQL are never open to 0.0.0.0/0 (only to
#     the worker / coordinator security groups);
#   - IMDSv2 is required with hop limit 1 on the coordinator and the workers;
#   - no secret value appears in the rendered user-data;
#   - a queue-depth scaling policy and a drain lifecycle hook exist;
#   - every sensor backend renders;
#   - the PostgreSQL VM option (database = vm) keeps the same rules: the
#     coordinator alone reaches it, IMDSv2, its password in SSM only;
#   - a private registry's token is named (its secret's ARN), never carried;
#   - TLS by default: the daemons are told where the CA and the certificates
#     are (ARNs and names, no key), the workers' role reads their certificate
#     and never the CA's key, the API URL is https://, no new port opens.
mock_provider "aws" {
  mock_data "aws_availability_zones" {
    defaults = { names = ["xx-test-1a", "xx-test-1b", "xx-test-1c"] }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_secretsmanager_random_password" {
    defaults = { random_password = "MOCK-worker-secret-0123456789abcdefMOCK" }
  }
  mock_resource "aws_db_instance" {
    defaults = {
      address            = "db.mock.internal"
      port               = 5432
      endpoint           = "db.mock.internal:5432"
      master_user_secret = [{ secret_arn = "arn:aws:secretsmanager:xx-test-1:123456789012:secret:rds-mock", kms_key_id = "", secret_status = "active" }]
    }
  }
  mock_resource "aws_network_interface" {
    defaults = { private_ip = "10.42.0.10" }
  }
  mock_resource "aws_eip" {
    defaults = { public_ip = "198.51.100.7" }
  }
  mock_resource "aws_ebs_volume" {
    defaults = { id = "vol-0123456789abcdef0" }
  }
  mock_resource "aws_iam_instance_profile" {
    defaults = { arn = "arn:aws:iam::123456789012:instance-profile/scanfarm-mock" }
  }
  mock_resource "aws_ssm_parameter" {
    defaults = { arn = "arn:aws:ssm:xx-test-1:123456789012:parameter/scanfarm/mock" }
  }
  mock_resource "aws_launch_template" {
    defaults = { id = "lt-0123456789abcdef0", latest_version = 1 }
  }
}

# the two TLS secrets told apart by their ARNs
override_resource {
  target = aws_secretsmanager_secret.tls_ca[0]
  values = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:scanfarm-tls-ca-MOCK" }
}
override_resource {
  target = aws_secretsmanager_secret.tls_worker[0]
  values = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:scanfarm-tls-worker-MOCK" }
}
override_resource {
  target = aws_ssm_parameter.tls_ca[0]
  values = { arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/scanfarm/tls-ca" }
}

variables {
  region             = "eu-west-1"
  allowed_cidrs      = ["203.0.113.0/24"]
  package_source_url = "https://packages.example.org/scanfarm"
}

run "defaults" {
  command = apply

  # NNG (7301, 7302) and PostgreSQL (5432): from security groups only
  assert {
    condition = alltrue([for r in aws_vpc_security_group_ingress_rule.nng_from_workers :
    r.cidr_ipv4 == null && r.cidr_ipv6 == null && r.referenced_security_group_id == aws_security_group.worker.id])
    error_message = "an NNG port is open to an address range instead of the worker security group"
  }
  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.nng_from_workers) == 2
    error_message = "expected exactly the jobs and results NNG rules"
  }
  assert {
    condition = (aws_vpc_security_group_ingress_rule.db_from_coordinator.cidr_ipv4 == null &&
      aws_vpc_security_group_ingress_rule.db_from_coordinator.referenced_security_group_id == aws_security_group.coordinator.id &&
    aws_vpc_security_group_ingress_rule.db_from_coordinator.from_port == 5432)
    error_message = "PostgreSQL must be reachable from the coordinator security group only"
  }
  # no rule of any group opens 7301, 7302 or 5432 to the world
  assert {
    condition = alltrue([for r in concat(values(aws_vpc_security_group_ingress_rule.api_from_cidrs), values(aws_vpc_security_group_ingress_rule.ssh)) :
    !(r.from_port <= 7302 && r.to_port >= 7301) && !(r.from_port <= 5432 && r.to_port >= 5432) && r.cidr_ipv4 != "0.0.0.0/0"])
    error_message = "a CIDR-based rule covers an NNG or PostgreSQL port, or is open to 0.0.0.0/0"
  }
  assert {
    condition     = [for r in aws_vpc_security_group_ingress_rule.api_from_cidrs : r.cidr_ipv4] == ["203.0.113.0/24"]
    error_message = "the API must be open to allowed_cidrs exactly"
  }
  assert {
    condition     = aws_db_instance.this[0].publicly_accessible == false
    error_message = "the database must not be publicly accessible"
  }

  # IMDSv2 required, hop limit 1, on both roles
  assert {
    condition = (aws_instance.coordinator.metadata_options[0].http_tokens == "required" &&
    aws_instance.coordinator.metadata_options[0].http_put_response_hop_limit == 1)
    error_message = "the coordinator must require IMDSv2 with hop limit 1"
  }
  assert {
    condition = (aws_launch_template.worker.metadata_options[0].http_tokens == "required" &&
    aws_launch_template.worker.metadata_options[0].http_put_response_hop_limit == 1)
    error_message = "the worker launch template must require IMDSv2 with hop limit 1"
  }

  # secrets: the worker secret goes to SSM, never into user-data
  assert {
    condition     = aws_ssm_parameter.worker_secret.type == "SecureString"
    error_message = "the worker secret must be a SecureString"
  }
  assert {
    condition = (!strcontains(output.coordinator_user_data, "MOCK-worker-secret") &&
      !strcontains(output.worker_user_data, "MOCK-worker-secret") &&
      # the script writes these from what it read at boot ("$secret", "$(pq_quote ...)")
      !can(regex("password=[^$]", output.coordinator_user_data)) &&
      !can(regex("worker-secret = [^$]", output.coordinator_user_data)) &&
    !can(regex("worker-secret = [^$]", output.worker_user_data)))
    error_message = "a secret value appears in rendered user-data"
  }
  assert {
    condition = (strcontains(output.coordinator_user_data, "SF_WORKER_SECRET_PARAM='/scanfarm/worker-secret'") &&
    strcontains(output.coordinator_user_data, "SF_DB_SECRET_ARN='arn:aws:secretsmanager:"))
    error_message = "the coordinator must be told where its secrets are"
  }
  assert {
    condition     = aws_db_instance.this[0].manage_master_user_password == true && aws_db_instance.this[0].password == null
    error_message = "the database password must be managed by RDS in Secrets Manager"
  }

  # scaling on queue depth, drain on scale-in
  assert {
    condition     = aws_autoscaling_policy.queue_depth.policy_type == "TargetTrackingScaling"
    error_message = "the worker group needs its target-tracking policy"
  }
  assert {
    condition = contains(flatten([for m in aws_autoscaling_policy.queue_depth.target_tracking_configuration[0].customized_metric_specification[0].metrics :
    [for st in m.metric_stat : [for mm in st.metric : mm.metric_name]]]), "QueuedJobs")
    error_message = "the scaling policy must follow the queued jobs metric"
  }
  assert {
    condition = anytrue([for h in aws_autoscaling_group.worker.initial_lifecycle_hook :
    h.lifecycle_transition == "autoscaling:EC2_INSTANCE_TERMINATING" && h.heartbeat_timeout > 480])
    error_message = "a terminating lifecycle hook longer than the worker's stop timeout must hold leaving instances"
  }
  assert {
    condition     = strcontains(output.worker_user_data, "SF_SLOTS='2'") && strcontains(output.worker_user_data, "SF_SENSOR='ebpf'")
    error_message = "the worker user-data must carry the slots and the sensor"
  }
  assert {
    condition = (strcontains(output.worker_user_data, "echo \"capacity = $SF_SLOTS\"") &&
      strcontains(output.worker_user_data, "local units=(scanfarm-worker.service)") &&
    !strcontains(output.worker_user_data, "scanfarm-worker@"))
    error_message = "the slots must be one worker process's capacity, not scanfarm-worker@N units"
  }
  assert {
    condition     = startswith(output.worker_user_data, "#cloud-config\n") && startswith(output.coordinator_user_data, "#cloud-config\n")
    error_message = "user-data must be a cloud-config document"
  }
  assert {
    condition     = output.coordinator_url == "https://198.51.100.7:3000" && output.database_endpoint == "db.mock.internal:5432"
    error_message = "outputs"
  }

  # TLS, on by default: where things are, never what
  assert {
    condition = (strcontains(output.coordinator_user_data, "SF_TLS='on'") &&
      strcontains(output.coordinator_user_data, "SF_TLS_CA_SECRET_ARN='arn:aws:secretsmanager:eu-west-1:123456789012:secret:scanfarm-tls-ca-MOCK'") &&
      strcontains(output.coordinator_user_data, "SF_TLS_WORKER_SECRET_ARN='arn:aws:secretsmanager:eu-west-1:123456789012:secret:scanfarm-tls-worker-MOCK'") &&
      strcontains(output.coordinator_user_data, "SF_TLS_CA_PARAM='/scanfarm/tls-ca'") &&
      strcontains(output.coordinator_user_data, "SF_TLS_PUBLIC_IP='198.51.100.7'") &&
    strcontains(output.coordinator_user_data, "SF_TLS_SERVER_NAME='coordinator.scanfarm.internal'"))
    error_message = "the coordinator must be told where the CA, the workers' certificate and the trust parameter are"
  }
  assert {
    condition = (strcontains(output.worker_user_data, "SF_TLS='on'") &&
      strcontains(output.worker_user_data, "SF_TLS_WORKER_SECRET_ARN='arn:aws:secretsmanager:eu-west-1:123456789012:secret:scanfarm-tls-worker-MOCK'") &&
      strcontains(output.worker_user_data, "SF_TLS_CA_PARAM='/scanfarm/tls-ca'") &&
      strcontains(output.worker_user_data, "SF_TLS_SERVER_NAME='coordinator.scanfarm.internal'") &&
    !strcontains(output.worker_user_data, "scanfarm-tls-ca-MOCK"))
    error_message = "the workers must be told where their certificate is, and not where the CA's key is"
  }
  assert {
    condition = (!strcontains(output.coordinator_user_data, "PRIVATE KEY-----\n") &&
    !strcontains(output.worker_user_data, "PRIVATE KEY-----\n"))
    error_message = "a private key in user-data"
  }
  # the bootstrap's TLS wiring travels with the user-data: the issuing
  # script, its daily timer, the options it writes (tests/deploy run them)
  assert {
    condition = alltrue([for ud in [output.coordinator_user_data, output.worker_user_data] :
      strcontains(ud, "path: /usr/local/sbin/scanfarm-pki\n") &&
      strcontains(ud, "path: /etc/systemd/system/scanfarm-pki.timer\n") &&
      strcontains(ud, "/usr/local/sbin/scanfarm-pki issue") &&
    strcontains(ud, "jobs-url = $nng://")])
    error_message = "both roles need scanfarm-pki, its timer and the tls+tcp:// configuration"
  }
  assert {
    condition = (aws_ssm_parameter.tls_ca[0].type == "String" && aws_ssm_parameter.tls_ca[0].value == "unset" &&
    aws_secretsmanager_secret.tls_ca[0].recovery_window_in_days > 0)
    error_message = "the trust parameter starts as a placeholder; the CA secret is recoverable after a destroy"
  }
  assert {
    condition = anytrue([for st in data.aws_iam_policy_document.coordinator.statement :
      st.sid == "TlsIssue" && toset(st.resources) == toset([aws_secretsmanager_secret.tls_ca[0].arn, aws_secretsmanager_secret.tls_worker[0].arn]) &&
    toset(st.actions) == toset(["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"])])
    error_message = "the coordinator keeps the CA and issues the workers' certificate"
  }
  assert {
    condition = (alltrue([for st in data.aws_iam_policy_document.worker.statement :
      !contains(tolist(st.resources), aws_secretsmanager_secret.tls_ca[0].arn)]) &&
      anytrue([for st in data.aws_iam_policy_document.worker.statement :
        st.sid == "TlsWorkerCertificate" && toset(st.resources) == toset([aws_secretsmanager_secret.tls_worker[0].arn]) &&
      toset(st.actions) == toset(["secretsmanager:GetSecretValue"])]) &&
      anytrue([for st in data.aws_iam_policy_document.worker.statement :
    st.sid == "TlsCa" && toset(st.resources) == toset([aws_ssm_parameter.tls_ca[0].arn]) && toset(st.actions) == toset(["ssm:GetParameter"])]))
    error_message = "the workers read their certificate and the CA certificate, never the CA's key, and write nothing"
  }
  # TLS opens no port: the operations listener (3001) stays on loopback
  assert {
    condition = alltrue([for r in concat(values(aws_vpc_security_group_ingress_rule.api_from_cidrs), values(aws_vpc_security_group_ingress_rule.ssh),
      values(aws_vpc_security_group_ingress_rule.nng_from_workers), [aws_vpc_security_group_ingress_rule.api_from_workers]) :
    !(r.from_port <= 3001 && r.to_port >= 3001)])
    error_message = "no rule may open the operations port"
  }
  assert {
    condition     = output.tls_ca_parameter == "/scanfarm/tls-ca" && output.tls_server_name == "coordinator.scanfarm.internal"
    error_message = "TLS outputs"
  }
}

run "tls_off" {
  command = apply
  variables {
    tls = false
  }
  assert {
    condition = (length(aws_secretsmanager_secret.tls_ca) == 0 && length(aws_secretsmanager_secret.tls_worker) == 0 &&
      length(aws_ssm_parameter.tls_ca) == 0 && output.coordinator_url == "http://198.51.100.7:3000" &&
    output.tls_ca_parameter == null)
    error_message = "tls = false: no CA, no secrets, plain HTTP"
  }
  assert {
    condition = (strcontains(output.coordinator_user_data, "SF_TLS='off'") && strcontains(output.worker_user_data, "SF_TLS='off'") &&
    !strcontains(output.worker_user_data, "SF_TLS_WORKER_SECRET_ARN='"))
    error_message = "tls = false must reach both bootstraps"
  }
  assert {
    condition = alltrue([for st in concat(data.aws_iam_policy_document.worker.statement, data.aws_iam_policy_document.coordinator.statement) :
    !startswith(coalesce(st.sid, "-"), "Tls")])
    error_message = "tls = false: no TLS statements"
  }
}

run "api_dns_names" {
  command = apply
  variables {
    api_dns_names = ["scanfarm.example.org", "scan.corp.example"]
  }
  assert {
    condition     = strcontains(output.coordinator_user_data, "SF_TLS_API_NAMES='scanfarm.example.org,scan.corp.example'")
    error_message = "the API names must reach the coordinator's certificate"
  }
}

run "rejects_bad_api_dns_name" {
  command = plan
  variables {
    api_dns_names = ["Not A Name"]
  }
  expect_failures = [var.api_dns_names]
}

run "falco_json" {
  command = apply
  variables {
    sensor_backend = "falco-json"
  }
  assert {
    condition     = strcontains(output.worker_user_data, "SF_SENSOR='falco-json'") && strcontains(output.worker_user_data, "SF_FALCO_VERSION='0.43.1'")
    error_message = "falco-json must render"
  }
}

run "falco_grpc_existing_vpc" {
  command = apply
  variables {
    sensor_backend   = "falco-grpc"
    create_vpc       = false
    vpc_id           = "vpc-0123"
    subnet_ids       = ["subnet-a", "subnet-b"]
    assign_public_ip = false
    api_auth         = false
    slots_per_worker = 4
  }
  assert {
    condition     = strcontains(output.worker_user_data, "SF_SENSOR='falco-grpc'") && strcontains(output.worker_user_data, "SF_SLOTS='4'")
    error_message = "falco-grpc must render"
  }
  assert {
    condition     = length(aws_vpc.this) == 0 && output.coordinator_url == "https://10.42.0.10:3000"
    error_message = "an existing VPC: nothing created, the private URL"
  }
  assert {
    condition     = strcontains(output.coordinator_user_data, "SF_TLS_PUBLIC_IP=''")
    error_message = "no public address: none in the coordinator's certificate"
  }
}

run "rejects_bad_backend" {
  command = plan
  variables {
    sensor_backend = "sysdig"
  }
  expect_failures = [var.sensor_backend]
}

run "rejects_bad_scaling_bounds" {
  command = plan
  variables {
    worker_min     = 3
    worker_desired = 2
    worker_max     = 4
  }
  expect_failures = [var.worker_desired]
}

run "existing_vpc_needs_subnets" {
  command = plan
  variables {
    create_vpc = false
    vpc_id     = "vpc-0123"
    subnet_ids = ["subnet-a"]
  }
  expect_failures = [aws_security_group.coordinator]
}

run "database_vm_and_registry_token" {
  command = apply
  variables {
    database                     = "vm"
    npm_registry                 = "https://npm.corp.example/api/npm/npm/"
    npm_registry_auth_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:npm-token"
  }
  assert {
    condition     = length(aws_db_instance.this) == 0 && length(aws_instance.database) == 1 && length(aws_db_subnet_group.this) == 0
    error_message = "database = vm: a PostgreSQL instance instead of RDS"
  }
  assert {
    condition = (aws_instance.database[0].metadata_options[0].http_tokens == "required" &&
    aws_instance.database[0].metadata_options[0].http_put_response_hop_limit == 1)
    error_message = "the database VM must require IMDSv2 with hop limit 1"
  }
  assert {
    condition = (contains(tolist(aws_network_interface.database[0].security_groups), aws_security_group.database.id) &&
      length(aws_network_interface.database[0].security_groups) == 1 &&
    aws_vpc_security_group_ingress_rule.db_from_coordinator.referenced_security_group_id == aws_security_group.coordinator.id)
    error_message = "the database VM must sit in the database group, which admits the coordinator group only"
  }
  assert {
    condition     = aws_ebs_volume.pgdata[0].encrypted && aws_ssm_parameter.db_password[0].type == "SecureString"
    error_message = "the data volume must be encrypted and the password a SecureString"
  }
  assert {
    condition = (!strcontains(output.database_user_data, "MOCK-worker-secret") &&
      !strcontains(output.coordinator_user_data, "MOCK-worker-secret") &&
    !strcontains(output.worker_user_data, "MOCK-worker-secret"))
    error_message = "the database password appears in rendered user-data"
  }
  assert {
    condition = (strcontains(output.coordinator_user_data, "SF_DB_PASSWORD_PARAM='/scanfarm/db-password'") &&
      strcontains(output.coordinator_user_data, "SF_DB_SECRET_ARN=''") &&
      strcontains(output.database_user_data, "SF_ROLE='database'") &&
      strcontains(output.database_user_data, "SF_DB_CLIENT='10.42.0.10/32'") &&
    strcontains(output.database_user_data, "SF_DB_VOLUME_ID='vol-0123456789abcdef0'"))
    error_message = "the coordinator and the database VM must be told where the password, the volume and the client are"
  }
  assert {
    condition     = output.database_endpoint == "10.42.0.10:5432" && output.database_secret_arn == null && output.database_password_parameter == "/scanfarm/db-password"
    error_message = "database outputs for the VM"
  }
  assert {
    condition = anytrue([for st in data.aws_iam_policy_document.coordinator.statement :
      st.sid == "DatabaseVmPassword" && contains(tolist(st.resources), aws_ssm_parameter.db_password[0].arn)]) && alltrue([for st in data.aws_iam_policy_document.coordinator.statement :
    st.sid != "DatabasePassword"])
    error_message = "the coordinator reads the VM's password from SSM, and no RDS secret"
  }
  assert {
    condition     = [for st in data.aws_iam_policy_document.database[0].statement : st.sid] == ["DatabasePassword"]
    error_message = "the database VM's role reads its own password and nothing else"
  }
  # the private registry's token: its secret named for both roles, the value nowhere
  assert {
    condition = (strcontains(output.worker_user_data, "SF_NPM_REGISTRY_AUTH_SECRET_ARN='arn:aws:secretsmanager:eu-west-1:123456789012:secret:npm-token'") &&
    strcontains(output.coordinator_user_data, "SF_NPM_REGISTRY_AUTH_SECRET_ARN='arn:aws:secretsmanager:eu-west-1:123456789012:secret:npm-token'"))
    error_message = "both roles must be told where the registry token is"
  }
  assert {
    condition = (anytrue([for st in data.aws_iam_policy_document.worker.statement :
      st.sid == "RegistryToken" && length(st.resources) == 1 && contains(tolist(st.resources), "arn:aws:secretsmanager:eu-west-1:123456789012:secret:npm-token")]) &&
      anytrue([for st in data.aws_iam_policy_document.coordinator.statement :
    st.sid == "RegistryToken" && length(st.resources) == 1 && contains(tolist(st.resources), "arn:aws:secretsmanager:eu-west-1:123456789012:secret:npm-token")]))
    error_message = "both roles may read the registry token's secret"
  }
}

run "public_registry_no_token_statement" {
  command = plan
  assert {
    condition = (alltrue([for st in data.aws_iam_policy_document.worker.statement : st.sid != "RegistryToken"]) &&
    length(aws_instance.database) == 0)
    error_message = "no registry token: no statement for one; RDS by default"
  }
}

run "rejects_bad_database" {
  command = plan
  variables {
    database = "sqlite"
  }
  expect_failures = [var.database]
}

run "rejects_a_token_instead_of_its_secret" {
  command = plan
  variables {
    npm_registry_auth_secret_arn = "npm_0123456789abcdef"
  }
  expect_failures = [var.npm_registry_auth_secret_arn]
}

run "private_subnets" {
  command = apply
  variables {
    private_subnets = true
    database        = "vm"
  }
  assert {
    condition     = length(aws_nat_gateway.this) == 1 && length(aws_subnet.private) == 2
    error_message = "private_subnets: two private subnets behind one NAT gateway"
  }
  assert {
    condition = (anytrue([for r in aws_route_table.private[0].route : r.cidr_block == "0.0.0.0/0" && r.nat_gateway_id == aws_nat_gateway.this[0].id]) &&
    alltrue([for r in aws_route_table.private[0].route : r.gateway_id == null || r.gateway_id == ""]))
    error_message = "the private subnets' way out is the NAT gateway, never the internet gateway"
  }
  assert {
    condition = (toset(aws_autoscaling_group.worker.vpc_zone_identifier) == toset(aws_subnet.private[*].id) &&
    aws_launch_template.worker.network_interfaces[0].associate_public_ip_address == "false")
    error_message = "workers go to the private subnets, with no public address"
  }
  assert {
    condition     = aws_network_interface.database[0].subnet_id == aws_subnet.private[0].id && length(aws_eip.database) == 0
    error_message = "the database VM goes to a private subnet, with no public address"
  }
  assert {
    condition     = aws_network_interface.coordinator.subnet_id == aws_subnet.this[0].id && length(aws_eip.coordinator) == 1
    error_message = "the coordinator stays public for the API"
  }
  assert {
    condition     = alltrue([for sn in aws_subnet.private : !sn.map_public_ip_on_launch])
    error_message = "private subnets hand out no public addresses"
  }
}
