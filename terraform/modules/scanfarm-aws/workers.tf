# The workers: an autoscaling group from a launch template. It scales on
# queue depth (target tracking on (queued + running) / slots in service, the
# metrics the coordinator publishes), and a lifecycle hook holds a leaving
# instance until its slots have drained (files/lifecycle.sh). Each instance
# runs one worker process with capacity = slots_per_worker (bootstrap.sh).
locals {
  asg_name       = "${var.name}-workers"
  lifecycle_hook = "${var.name}-drain"
}

module "worker_user_data" {
  source = "./user-data"
  role   = "worker"
  env = merge(local.common_env, local.tls_env, {
    SF_COORDINATOR_HOST = aws_network_interface.coordinator.private_ip
    SF_SLOTS            = tostring(var.slots_per_worker)
    SF_SENSOR           = var.sensor_backend
    SF_FALCO_VERSION    = var.falco_version
    SF_RULES_SOURCE     = var.rules_source
    SF_NETWORK_MODE     = var.network_mode
    SF_ASG_NAME         = local.asg_name
    SF_LIFECYCLE_HOOK   = local.lifecycle_hook
  })
}

resource "aws_launch_template" "worker" {
  name_prefix   = "${var.name}-worker-"
  image_id      = local.ami_id
  instance_type = var.worker_instance_type
  key_name      = var.key_name
  user_data     = base64gzip(module.worker_user_data.cloud_config)
  iam_instance_profile {
    arn = aws_iam_instance_profile.worker.arn
  }
  network_interfaces {
    associate_public_ip_address = local.inner_public_ip
    security_groups             = [aws_security_group.worker.id]
    delete_on_termination       = true
  }
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }
  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = 30
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }
  tag_specifications {
    resource_type = "instance"
    tags          = merge(local.tags, { Name = "${var.name}-worker", "scanfarm:role" = "worker" })
  }
  tags = local.tags
}

resource "aws_autoscaling_group" "worker" {
  name                      = local.asg_name
  min_size                  = var.worker_min
  max_size                  = var.worker_max
  desired_capacity          = var.worker_desired
  vpc_zone_identifier       = local.inner_subnet_ids
  health_check_type         = "EC2"
  health_check_grace_period = 300
  default_instance_warmup   = 180
  enabled_metrics           = ["GroupInServiceInstances", "GroupDesiredCapacity"]
  launch_template {
    id      = aws_launch_template.worker.id
    version = aws_launch_template.worker.latest_version
  }
  # a new launch template version (package version, sizes, backend) rolls
  # the group; every replaced instance drains through the lifecycle hook
  instance_refresh {
    strategy = "Rolling"
    preferences {
      min_healthy_percentage = 50
      instance_warmup        = 180
    }
  }
  initial_lifecycle_hook {
    name                 = local.lifecycle_hook
    lifecycle_transition = "autoscaling:EC2_INSTANCE_TERMINATING"
    # above the worker unit's stop timeout (480 s): the slots finish first
    heartbeat_timeout = 600
    default_result    = "CONTINUE"
  }
  dynamic "tag" {
    for_each = merge(local.tags, { Name = "${var.name}-worker" })
    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = true
    }
  }
  lifecycle {
    ignore_changes = [desired_capacity]
  }
}

resource "aws_autoscaling_policy" "queue_depth" {
  name                   = "${var.name}-queue-depth"
  autoscaling_group_name = aws_autoscaling_group.worker.name
  policy_type            = "TargetTrackingScaling"
  target_tracking_configuration {
    target_value     = var.target_jobs_per_slot
    disable_scale_in = false
    customized_metric_specification {
      metrics {
        id          = "queued"
        return_data = false
        metric_stat {
          stat = "Maximum"
          metric {
            namespace   = "Scanfarm"
            metric_name = "QueuedJobs"
            dimensions {
              name  = "Pool"
              value = var.name
            }
          }
        }
      }
      metrics {
        id          = "running"
        return_data = false
        metric_stat {
          stat = "Maximum"
          metric {
            namespace   = "Scanfarm"
            metric_name = "RunningJobs"
            dimensions {
              name  = "Pool"
              value = var.name
            }
          }
        }
      }
      metrics {
        id          = "inservice"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "AWS/AutoScaling"
            metric_name = "GroupInServiceInstances"
            dimensions {
              name  = "AutoScalingGroupName"
              value = aws_autoscaling_group.worker.name
            }
          }
        }
      }
      metrics {
        id          = "jobs_per_slot"
        label       = "(queued + running) jobs per worker slot"
        expression  = "(queued + running) / (IF(inservice > 0, inservice, 1) * ${var.slots_per_worker})"
        return_data = true
      }
    }
  }
}
