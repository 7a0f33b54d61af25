# scanfarm-aws: a scanfarm pool on AWS — one coordinator (instance, persistent
# ENI and EBS artifact store), RDS PostgreSQL, and an autoscaling group of
# workers that scales on queue depth and drains before scale-in.
terraform {
  required_version = ">= 1.9.0" # validations that name other variables
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40, < 6.0"
    }
  }
}
