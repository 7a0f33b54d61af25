#!/bin/bash
# scanfarm-lifecycle — drain this worker when the autoscaling group takes it
# away (timer, every 10 s). A scale-in or instance refresh puts the instance
# in Terminating:Wait (the group's lifecycle hook); IMDS then reports
# target-lifecycle-state "Terminated". We stop scanfarm-worker.target: the
# worker gets SIGTERM, stops asking for jobs and finishes the ones its slots
# have (the unit allows 480 s), then we complete the lifecycle action and the group
# terminates the instance. No job is lost: one that outlived even that is
# handed to another worker when its lease expires.
set -euo pipefail
# shellcheck source=/dev/null
. /etc/scanfarm/bootstrap.env
export AWS_DEFAULT_REGION="$SF_REGION"

imds() {
	local t
	t=$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token)
	curl -fsS -H "X-aws-ec2-metadata-token: $t" "http://169.254.169.254/latest/$1"
}

state=$(imds meta-data/autoscaling/target-lifecycle-state 2>/dev/null || echo unknown)
[ "$state" = Terminated ] || exit 0

echo "scanfarm-lifecycle: instance leaving the group: draining the worker slots" >&2
systemctl stop scanfarm-worker.target
instance=$(imds meta-data/instance-id)
aws autoscaling complete-lifecycle-action --lifecycle-action-result CONTINUE \
	--lifecycle-hook-name "$SF_LIFECYCLE_HOOK" --auto-scaling-group-name "$SF_ASG_NAME" \
	--instance-id "$instance"
echo "scanfarm-lifecycle: drained; lifecycle action completed" >&2
