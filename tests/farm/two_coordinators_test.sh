#!/usr/bin/env bash
# two_coordinators_test — two coordinators on one database (their own HTTP and
# NNG ports, one shared artifact store), each with its own worker. Scans are
# submitted to both APIs at once, so both dispatchers race for the same queue
# rows on every NOTIFY. No job may be dispatched twice: across both
# coordinators' logs and /metrics every job is dispatched exactly once, each
# worker runs only jobs no other worker ran, every job has attempt 1 and
# exactly one (final) batch, every scan finishes once — and both coordinators
# did dispatch jobs, so the race really happened.
#   two_coordinators_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
farm_init twocoord "$1" "$2" "$3"
n_per_api=${SF_TWO_COORD_SCANS:-20}
# Coordinator B: three ports next to A's, inside 20000–40000.
if [ $((port + 5)) -lt 40000 ]; then port_b=$((port + 3)); else port_b=$((port - 3)); fi
url_a=$url url_b=http://127.0.0.1:$port_b
work_b=$work/b
farm_b() { # farm.sh for coordinator B + its worker; the store is A's (a symlink)
  SCANFARM_VAR=$work_b SCANFARM_HTTP_PORT=$port_b SCANFARM_JOBS_PORT=$((port_b + 1)) \
    SCANFARM_RESULTS_PORT=$((port_b + 2)) "$src/scripts/farm.sh" "$@"
}
cleanup() {
  farm_b down >/dev/null 2>&1
  if [ "$failed" -ne 0 ]; then
    for f in "$work_b"/log/*.log; do [ -f "$f" ] && { echo "--- B: $f"; tail -n 30 "$f"; }; done
  fi
  farm_cleanup
}
trap cleanup EXIT
sql() { psql "$dsn" -qAtc "$1"; }
metric() { curl -s "$1/metrics" | sed -n "s/^$2 //p"; }

"$src/scripts/farm.sh" up || { echo "FAIL - farm A did not start"; exit 1; }
# B serves artifacts that A stored and the other way round: one store.
mkdir -p "$work_b" && ln -s "$work/artifacts" "$work_b/artifacts"
farm_b up || { echo "FAIL - farm B did not start"; failed=1; exit 1; }
ok "two coordinators up on one database" \
  '[ "$(curl -s "$url_a/readyz" | jq -r .status)/$(curl -s "$url_b/readyz" | jq -r .status)" = ready/ready ]'
ok "they are two processes" '[ "$(cat "$work/run/coordinator.pid")" != "$(cat "$work_b/run/coordinator.pid")" ]'

# 2 × n scans, each its own bytes, submitted to both APIs concurrently.
submit_to() { # URL TAG COUNT
  local i
  for i in $(seq 1 "$3"); do
    mkdir -p "$work/pkg/$2$i/package" && cp "$src/samples/hello-npm/"* "$work/pkg/$2$i/package/"
    echo "$2$i" >"$work/pkg/$2$i/package/nonce.txt"
    tar -czf "$work/pkg/$2$i.tgz" -C "$work/pkg/$2$i" package
    curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$work/pkg/$2$i.tgz" \
      "$1/monitor/project/npm" | jq -r '.id // "none"' >>"$work/ids.$2"
  done
}
submit_to "$url_a" a "$n_per_api" &
pa=$!
submit_to "$url_b" b "$n_per_api" &
pb=$!
wait "$pa" "$pb"
total=$((2 * n_per_api))
ok "$n_per_api scans accepted by each API" \
  '[ "$(grep -c "^[0-9a-f-]\{36\}$" "$work/ids.a")/$(grep -c "^[0-9a-f-]\{36\}$" "$work/ids.b")" = "$n_per_api/$n_per_api" ]'

unfinished=
for id in $(cat "$work/ids.a" "$work/ids.b"); do
  st=$(wait_scan "$id" | jq -r .status)
  [ "$st" = finished ] || unfinished="$unfinished $id:$st"
done
ok "all $total scans finished ${unfinished:+(not:$unfinished)}" '[ -z "$unfinished" ]'

# --- no job dispatched twice
da=$(metric "$url_a" scanfarm_jobs_dispatched_total) db=$(metric "$url_b" scanfarm_jobs_dispatched_total)
echo "# dispatched: coordinator A $da, coordinator B $db"
ok "both coordinators dispatched jobs (A $da, B $db)" '[ "${da:-0}" -ge 1 ] && [ "${db:-0}" -ge 1 ]'
ok "dispatches add up to one per job (A + B = $total)" '[ $((da + db)) = "$total" ]'
grep -ho 'job [0-9]* (scan [0-9a-f-]*, attempt [0-9]*) dispatched' "$work/log/coordinator.log" \
  "$work_b/log/coordinator.log" | awk '{print $2}' | sort -n >"$work/dispatched"
twice=$(uniq -d "$work/dispatched" | tr '\n' ' ')
ok "the coordinators' logs name each job dispatched once (${twice:+twice: $twice})" \
  '[ "$(wc -l <"$work/dispatched")" = "$total" ] && [ -z "$twice" ]'
grep -ho 'worker: job [0-9]* attempt [0-9]*: scan' "$work/log/worker.log" "$work_b/log/worker.log" |
  awk '{print $3}' | sort -n >"$work/ran"
ran_twice=$(uniq -d "$work/ran" | tr '\n' ' ')
ok "the workers ran each job once (${ran_twice:+twice: $ran_twice})" \
  '[ "$(wc -l <"$work/ran")" = "$total" ] && [ -z "$ran_twice" ]'
wa=$(grep -c 'worker: job [0-9]* attempt [0-9]*: scan' "$work/log/worker.log")
wb=$(grep -c 'worker: job [0-9]* attempt [0-9]*: scan' "$work_b/log/worker.log")
ok "each worker ran its coordinator's dispatches (A $wa = $da, B $wb = $db)" '[ "$wa" = "$da" ] && [ "$wb" = "$db" ]'

# --- PostgreSQL agrees
ok "$total jobs, all done on attempt 1" \
  '[ "$(sql "SELECT count(*) FILTER (WHERE state = '"'done'"' AND attempt = 1) || '"'/'"' || count(*) FROM jobs")" = "$total/$total" ]'
bad=$(sql "SELECT j.id FROM jobs j LEFT JOIN batches b ON b.job_id = j.id GROUP BY j.id
  HAVING count(b.*) <> 1 OR bool_and(b.final AND b.attempt = 1) IS NOT TRUE")
ok "exactly one batch per job, final, attempt 1 ${bad:+(bad: $bad)}" \
  '[ -z "$bad" ] && [ "$(sql "SELECT count(*) FROM batches")" = "$total" ]'
ok "every scan finished once, one job each" \
  '[ "$(sql "SELECT count(*) FROM scans s WHERE s.status = '"'finished'"' AND (SELECT count(*) FROM jobs j WHERE j.scan_id = s.id) = 1")" = "$total" ]'
finals=$(grep -ho 'batch job=[0-9]* attempt=[0-9]* seq=[0-9]* (final) stored' "$work/log/coordinator.log" \
  "$work_b/log/coordinator.log" | sed 's/ attempt.*//' | sort | uniq -d | tr '\n' ' ')
ok "no final batch stored twice across the coordinators ${finals:+($finals)}" '[ -z "$finals" ]'
for c in a b; do
  u=$url_a; [ $c = b ] && u=$url_b
  ok "coordinator ${c^^}: no duplicate or stale batch, no expired lease" \
    '[ "$(metric "$u" scanfarm_batches_duplicate_total)/$(metric "$u" scanfarm_batches_stale_total)/$(metric "$u" scanfarm_leases_expired_total)" = 0/0/0 ]'
done
# Submitted to one API, run through the other coordinator's worker: the queue is shared.
wid_b=$(sql "SELECT id FROM workers ORDER BY first_seen DESC LIMIT 1")
cross=$(sql "SELECT count(*) FROM jobs WHERE scan_id IN ($(sed "s/.*/'&'/" "$work/ids.a" | paste -sd,))
  AND worker_id = '$wid_b'")
echo "# scans submitted to A and run by B's worker: $cross"
ok "no sanitizer findings in the daemons' logs" \
  '! grep -E "Sanitizer|runtime error:" "$work/log/"*.log "$work_b/log/"*.log'

farm_finish
