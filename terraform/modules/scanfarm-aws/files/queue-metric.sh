#!/bin/bash
# scanfarm-queue-metric — publish the queue depth to CloudWatch (timer, every
# minute on the coordinator): scanfarm_jobs{state="queued"} and
# {state="running"} from the operations listener's /metrics (127.0.0.1:3001, plain HTTP
# whether or not the API speaks HTTPS) become Scanfarm/QueuedJobs and
# Scanfarm/RunningJobs with dimension Pool=NAME. The workers' target-tracking
# policy divides their sum by the slots in service.
set -euo pipefail
# shellcheck source=/dev/null
. /etc/scanfarm/bootstrap.env
export AWS_DEFAULT_REGION="$SF_REGION"

metrics=$(curl -fsS --max-time 10 http://127.0.0.1:3001/metrics)
value() { # value STATE: the gauge, 0 when absent
	awk -v s="$1" '$1 == "scanfarm_jobs{state=\"" s "\"}" { v = $2 } END { print v + 0 }' <<<"$metrics"
}
queued=$(value queued)
running=$(value running)
aws cloudwatch put-metric-data --namespace Scanfarm --metric-data \
	"MetricName=QueuedJobs,Dimensions=[{Name=Pool,Value=$SF_NAME}],Value=$queued,Unit=Count" \
	"MetricName=RunningJobs,Dimensions=[{Name=Pool,Value=$SF_NAME}],Value=$running,Unit=Count"
