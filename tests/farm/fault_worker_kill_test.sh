#!/usr/bin/env bash
# fault_worker_kill_test — kill -9 a worker mid-install, three ways the job
# comes back, each then run by a worker as attempt 2 with its result held once
# (batches of attempt 1 would be discarded):
#   1. its lease expires (no heartbeat check: worker-live is long);
#   2. the worker goes silent: after worker-live seconds without a heartbeat
#      its jobs are re-queued, long before their lease would expire;
#   3. the worker restarts under the same id: its first request for work
#      says so, and what was leased to its earlier run is re-queued at once.
# And jobs go only to a worker that asks for one with a free slot.
#   fault_worker_kill_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
farm_init fault "$1" "$2" "$3"
# Short leases so the test takes seconds: lease = 12 s time limit + 2 s grace (the
# 4 s postinstall takes over 5 s in the sanitizer build, with the sandbox set-up).
export SCANFARM_JOB_TIME_LIMIT=12 SCANFARM_LEASE_GRACE=2 SCANFARM_REAP_INTERVAL=1 SCANFARM_RETRY_BACKOFF=0
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
  --rootfs "$SCANFARM_ROOTFS" --rules "$src/rules" --jobs-url "tcp://127.0.0.1:$((port + 1))" \
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
ok "the coordinator logged the expired lease" 'grep -q "silent workers: 1 job(s) re-queued" "$work/log/coordinator.log" && psql "$dsn" -tAc "SELECT last_error FROM jobs" | grep -q "^lease expired on attempt 1"'
batches=$(psql "$dsn" -tAc "SELECT string_agg(attempt || ':' || seq || ':' || final, ',') FROM batches")
ok "one batch stored, from attempt 2 ($batches)" '[ "$batches" = "2:0:true" ]'

# The killed worker's orphaned container is swept when a worker starts on its directory.
"$build/worker/scanfarm-worker" --worker-id restarted --work-dir "$work/worker" \
  --rootfs "$SCANFARM_ROOTFS" --rules "$src/rules" --jobs-url "tcp://127.0.0.1:$((port + 1))" \
  --results-url "tcp://127.0.0.1:$((port + 2))" >"$work/w3.log" 2>&1 &
w3=$!
sleep 1.5
kill "$w3"; wait "$w3" 2>/dev/null
ok "restarted worker leaves no container behind" '[ -z "$(ls "$work/worker/runtime-state" 2>/dev/null)" ]'
ok "restarted worker leaves no job directory behind" '[ -z "$(ls "$work/worker/jobs" 2>/dev/null)" ]'
kill "$w2"; wait "$w2" 2>/dev/null; w2=
"$src/scripts/farm.sh" down >/dev/null 2>&1

# Long leases from here on: only silence or a restart can bring a job back soon.
export SCANFARM_JOB_TIME_LIMIT=120 SCANFARM_WORKER_LIVE=6 SCANFARM_HEARTBEAT_INTERVAL=1
start_worker() { # ID LOG
  "$build/worker/scanfarm-worker" --worker-id "$1" --work-dir "$work/$1" \
    --rootfs "$SCANFARM_ROOTFS" --rules "$src/rules" --jobs-url "tcp://127.0.0.1:$((port + 1))" \
    --results-url "tcp://127.0.0.1:$((port + 2))" >>"$work/$1.log" 2>&1 &
}
submit_slow() { # NONCE: a new artifact each time (no verdict cache)
  echo "$1" >"$work/pkg/package/nonce.txt" && tar -czf "$work/slow-$1.tgz" -C "$work/pkg" package
  curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$work/slow-$1.tgz" \
    "$url/monitor/project/npm" | jq -r .id
}
wait_installing() { # LOG: until the install of a new job has started in it
  for _ in $(seq 1 150); do grep -q "installing in" "$1" 2>/dev/null && return; sleep 0.1; done
}
wait_done() { # ID: prints the final report
  local r
  for _ in $(seq 1 120); do
    r=$(curl -s "$url/v1/scans/$1")
    case $(jq -r .status <<<"$r") in finished|failed) break ;; esac
    sleep 0.5
  done
  echo "$r"
}
"$src/scripts/farm.sh" up >/dev/null 2>&1 || { echo "FAIL - farm did not restart"; exit 1; }
farm_worker=$(cat "$work/run/worker.pid") # the tests below bring their own workers
kill -TERM "$farm_worker"
for _ in $(seq 1 100); do kill -0 "$farm_worker" 2>/dev/null || break; sleep 0.1; done

# Capacity: a worker is only sent a job when it asks, with a free slot. While
# the only worker is busy, a second job waits in the queue (NNG push would
# have queued it behind the first, in that worker's pipe).
start_worker busy; wb=$!
id1=$(submit_slow busy1)
wait_installing "$work/busy.log"
id2=$(submit_slow busy2)
sleep 2
ok "while the only worker is busy a second job stays queued" \
  '[ "$(curl -s "$url/v1/scans/$id1" | jq -r .status)/$(curl -s "$url/v1/scans/$id2" | jq -r .status)" = running/queued ]'
ok "... and /metrics shows no idle worker" 'curl -s "$url/metrics" | grep "^scanfarm_workers_waiting 0$" >/dev/null'
report=$(wait_done "$id2")
ok "once free, the worker takes it" '[ "$(jq -r ".status, .job.worker_id" <<<"$report" | paste -sd" ")" = "finished busy" ]'
kill "$wb"; wait "$wb" 2>/dev/null

# 2. silence
start_worker quiet; wq=$!
id=$(submit_slow silent)
wait_installing "$work/quiet.log"
kill -9 "$wq"; wait "$wq" 2>/dev/null
killed_at=$(date +%s)
start_worker rescuer; w2=$!
report=$(wait_done "$id")
took=$(($(date +%s) - killed_at))
outcome=$(jq -r ".status, .job.attempt, .job.worker_id" <<<"$report" | paste -sd" ")
ok "silent worker: its job re-ran as attempt 2 on another worker ($outcome, ${took}s; lease 120 s)" \
  '[ "$outcome" = "finished 2 rescuer" ] && [ "$took" -lt 60 ]'
reason=$(jq -r .job.last_error <<<"$report")
ok "the report says why it re-ran ($reason)" '[ "$reason" = "worker quiet went silent during attempt 1" ]'
ok "the install output appears once" '[ "$(jq -r .install.stdout_tail <<<"$report" | grep -c "slow-install done")" = 1 ]'
kill "$w2"; wait "$w2" 2>/dev/null; w2=
# A worker started on the killed one's directory sweeps what it left (its
# job's /tmp is a mount of its own).
ok "the killed worker left its job's /tmp mounted" 'grep -q " $work/quiet/jobs/" /proc/mounts'
"$build/worker/scanfarm-worker" --worker-id quiet-again --work-dir "$work/quiet" --sensor none \
  --rootfs "$SCANFARM_ROOTFS" --jobs-url tcp://127.0.0.1:1 --results-url tcp://127.0.0.1:1 \
  >>"$work/quiet-again.log" 2>&1 &
wq=$!
for _ in $(seq 1 50); do grep -q " ready: " "$work/quiet-again.log" && break; sleep 0.1; done
kill "$wq"; wait "$wq" 2>/dev/null
ok "... and a worker restarted there unmounts and removes it" \
  '! grep -q " $work/quiet/jobs/" /proc/mounts && [ -z "$(ls "$work/quiet/jobs" 2>/dev/null)" ]'

# 3. restart under the same id, before it could count as silent
start_worker phoenix; w2=$!
id=$(submit_slow restart)
wait_installing "$work/phoenix.log"
kill -9 "$w2"; wait "$w2" 2>/dev/null
: >"$work/phoenix.log"
start_worker phoenix; w2=$!
report=$(wait_done "$id")
outcome=$(jq -r ".status, .job.attempt, .job.worker_id" <<<"$report" | paste -sd" ")
ok "restarted worker: the job re-ran as attempt 2 on it ($outcome)" '[ "$outcome" = "finished 2 phoenix" ]'
reason=$(jq -r .job.last_error <<<"$report")
ok "the reason kept is the restart ($reason)" '[ "$reason" = "worker phoenix restarted during attempt 1" ]'
ok "counted in /metrics" 'curl -s "$url/metrics" | grep "^scanfarm_jobs_lost_requeued_total 1$" >/dev/null'
batches=$(psql "$dsn" -tAc "SELECT string_agg(b.attempt || ':' || b.final, ',') FROM batches b JOIN jobs j ON j.id = b.job_id WHERE j.scan_id = '$id'")
ok "one batch stored, from attempt 2 ($batches)" '[ "$batches" = "2:true" ]'

farm_finish
