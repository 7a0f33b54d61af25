#!/usr/bin/env bash
# fault_worker_kill_test — kill -9 a worker mid-install: its lease expires, the
# reaper re-queues the job with attempt 2, another worker runs it, and the
# report holds the result once (batches of attempt 1 would be discarded).
#   fault_worker_kill_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
farm_init fault "$1" "$2" "$3"
# Short leases so the test takes seconds: lease = 6 s time limit + 2 s grace.
export SCANFARM_JOB_TIME_LIMIT=6 SCANFARM_LEASE_GRACE=2 SCANFARM_REAP_INTERVAL=1 SCANFARM_RETRY_BACKOFF=0
w2=
trap '[ -n "$w2" ] && kill "$w2" 2>/dev/null; farm_cleanup' EXIT
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }
w1=$(cat "$work/run/worker.pid")

mkdir -p "$work/pkg/package" && cp "$src/tests/packages/slow-install/"* "$work/pkg/package/"
tar -czf "$work/slow.tgz" -C "$work/pkg" package
id=$(curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$work/slow.tgz" \
  "$url/monitor/project/npm" | jq -r .id)

# Wait until worker 1 is inside the install, then kill it without warning.
for _ in $(seq 1 100); do
  grep -q "installing in" "$work/log/worker.log" && break
  sleep 0.1
done
sleep 1
kill -9 "$w1"
ok "worker 1 was running the job when killed" 'grep -q "installing in sf-" "$work/log/worker.log"'
ok "scan not finished by the dead worker" '[ "$(curl -s "$url/v1/scans/$id" | jq -r .status)" = running ]'

# A second worker joins; once the lease expires it gets attempt 2.
"$build/worker/scanfarm-worker" --worker-id second-worker --work-dir "$work/w2" \
  --rootfs "$src/var/rootfs" --rules "$src/rules" --jobs-url "tcp://127.0.0.1:$((port + 1))" \
  --results-url "tcp://127.0.0.1:$((port + 2))" >"$work/w2.log" 2>&1 &
w2=$!
status=
for _ in $(seq 1 120); do
  report=$(curl -s "$url/v1/scans/$id")
  status=$(jq -r .status <<<"$report")
  [ "$status" = finished ] || [ "$status" = failed ] && break
  sleep 0.5
done
ok "scan finished after the re-run" '[ "$status" = finished ]'
ok "finished on attempt 2" '[ "$(jq -r .job.attempt <<<"$report")" = 2 ]'
ok "finished by the second worker" '[ "$(jq -r .job.worker_id <<<"$report")" = second-worker ]'
ok "the install output appears once" '[ "$(jq -r .install.stdout_tail <<<"$report" | grep -c "slow-install done")" = 1 ]'
ok "the coordinator logged the expired lease" 'grep -q "leases expired: 1 job(s) re-queued" "$work/log/coordinator.log"'
batches=$(psql "$dsn" -tAc "SELECT string_agg(attempt || ':' || seq || ':' || final, ',') FROM batches")
ok "one batch stored, from attempt 2 ($batches)" '[ "$batches" = "2:0:true" ]'

# The killed worker's orphaned container is swept when a worker starts on its directory.
"$build/worker/scanfarm-worker" --worker-id restarted --work-dir "$work/worker" \
  --rootfs "$src/var/rootfs" --rules "$src/rules" --jobs-url "tcp://127.0.0.1:$((port + 1))" \
  --results-url "tcp://127.0.0.1:$((port + 2))" >"$work/w3.log" 2>&1 &
w3=$!
sleep 1.5
kill "$w3"; wait "$w3" 2>/dev/null
ok "restarted worker leaves no container behind" '[ -z "$(ls "$work/worker/runtime-state" 2>/dev/null)" ]'
ok "restarted worker leaves no job directory behind" '[ -z "$(ls "$work/worker/jobs" 2>/dev/null)" ]'

farm_finish
