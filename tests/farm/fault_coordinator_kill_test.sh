#!/usr/bin/env bash
# fault_coordinator_kill_test — kill -9 the coordinator, twice:
#   a. mid-upload (a rate-limited streaming POST): nothing of the upload may
#      survive — no artifact row, no scan row, no object in the store, no named
#      file in the store's tmp dir (uploads go to an O_TMPFILE, which has no
#      name) — and after a restart new submissions work;
#   b. mid-ingestion: a lock on `alerts` held by this test stalls the
#      coordinator inside sf_db_ingest's transaction (batch row inserted,
#      alerts pending) while the worker keeps finishing jobs; the coordinator
#      is killed there. The open transaction must leave nothing, the lost
#      batches' leases expire, the jobs re-run, and in the end every scan is
#      finished once: one final batch per job, of the job's current attempt,
#      alerts from that attempt only and none stored twice.
#   fault_coordinator_kill_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
farm_init coordkill "$1" "$2" "$3"
# Lease = 15 s time limit + 2 s grace: lost batches re-run within seconds (the
# worker takes ~1 s a job; all six are pushed to it at once). Spare attempts,
# so a slow machine re-running a late job cannot dead-letter it.
export SCANFARM_JOB_TIME_LIMIT=15 SCANFARM_LEASE_GRACE=2 SCANFARM_REAP_INTERVAL=1 \
  SCANFARM_RETRY_BACKOFF=0 SCANFARM_MAX_ATTEMPTS=5
upload_pid= blocker_pid=
cleanup() {
  [ -n "$upload_pid" ] && kill "$upload_pid" 2>/dev/null
  [ -n "$blocker_pid" ] && kill "$blocker_pid" 2>/dev/null
  psql "$dsn" -qAtc "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
    WHERE application_name = 'sf_blocker' AND datname = current_database()" >/dev/null 2>&1
  farm_cleanup
}
trap cleanup EXIT
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }
sql() { psql "$dsn" -qAtc "$1"; }
coord_pid() { cat "$work/run/coordinator.pid"; }
kill9_coordinator() {
  local pid; pid=$(coord_pid)
  kill -9 "$pid"
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  return 1
}
submit() { # FILE -> reply JSON
  curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$1" \
    "$url/monitor/project/npm?rescan=1"
}
pack() { # DIR NAME -> $work/NAME.tgz packed as `npm pack` does (package/ on top)
  mkdir -p "$work/pkg/$2" && cp -R "$1" "$work/pkg/$2/package" && rm -f "$work/pkg/$2/package/expect"
  arm "$work/pkg/$2/package"
  tar -czf "$work/$2.tgz" -C "$work/pkg/$2" package
}

# ------------------------------------------------------------ a. mid-upload
store=$work/artifacts
head -c $((64 << 20)) /dev/urandom >"$work/big.bin"
# Streamed (-T), not read into memory, at 4 MB/s: the upload takes ~16 s.
curl -s -o "$work/upload.out" -X POST -T "$work/big.bin" --limit-rate 4M \
  -H 'Content-Type: application/octet-stream' "$url/monitor/project/npm" &
upload_pid=$!
# Find the coordinator's temp file in the store and watch it grow.
cpid=$(coord_pid) tmpfd= tmplink= tmpsize=0
for _ in $(seq 1 100); do
  for fd in /proc/"$cpid"/fd/*; do
    l=$(readlink "$fd" 2>/dev/null) || continue
    case $l in "$store/tmp/"*) tmpfd=$fd tmplink=$l ;; esac
  done
  [ -n "$tmpfd" ] && tmpsize=$(stat -L -c %s "$tmpfd" 2>/dev/null || echo 0)
  [ "${tmpsize:-0}" -ge $((8 << 20)) ] && break
  sleep 0.1
done
ok "the upload streams into a temp file in the store ($tmplink, $tmpsize bytes)" \
  '[ "${tmpsize:-0}" -ge $((8 << 20)) ]'
ok "the upload is still in progress when the coordinator is killed" \
  'kill -0 "$upload_pid" 2>/dev/null && [ "$tmpsize" -lt $((64 << 20)) ]'
case $tmplink in
  *"/#"*" (deleted)") tmpfile_kind=unnamed ;; # O_TMPFILE: "tmp/#<ino> (deleted)"
  *) tmpfile_kind=named ;;
esac
echo "# the store uses a(n) $tmpfile_kind temp file ($tmplink)"
ok "coordinator killed mid-upload" 'kill9_coordinator'
wait "$upload_pid"; upload_rc=$?; upload_pid=
ok "the client saw the upload fail (curl exit $upload_rc), not an id" \
  '[ "$upload_rc" -ne 0 ] && ! grep -qs "\"ok\"" "$work/upload.out"'
ok "no scan row for the interrupted upload" '[ "$(sql "SELECT count(*) FROM scans")" = 0 ]'
ok "no artifact row for the interrupted upload" '[ "$(sql "SELECT count(*) FROM artifacts")" = 0 ]'
ok "no object in the store" '[ -z "$(find "$store/objects" -type f)" ]'
if [ "$tmpfile_kind" = unnamed ]; then
  # O_TMPFILE: the data had no name and went with the process.
  ok "no leftover in the store's tmp dir" '[ -z "$(find "$store/tmp" -mindepth 1)" ]'
else
  # Without O_TMPFILE the store documents that a crash leaves the named temp
  # file (swept only after --orphan-grace: coordinators may share a store); it must be the only one.
  ok "only the interrupted upload's named temp file is left" \
    '[ "$(find "$store/tmp" -mindepth 1 | wc -l)" -le 1 ]'
fi

"$src/scripts/farm.sh" up || { echo "FAIL - coordinator did not restart"; exit 1; }
ok "coordinator restarted" 'curl -fs "$url/healthz" >/dev/null && [ "$(coord_pid)" != "$cpid" ]'
pack "$src/samples/hello-npm" hello
reply=$(submit "$work/hello.tgz")
hello_id=$(jq -r '.id // empty' <<<"$reply")
ok "a new submission is accepted after the restart" '[ ${#hello_id} -eq 36 ]'
ph=$(wait_scan "$hello_id")
ok "and finishes" '[ "$(jq -r .status <<<"$ph")" = finished ]'
ok "the store holds exactly that artifact" \
  '[ "$(find "$store/objects" -type f -printf "%f\n")" = "$(sha256sum "$work/hello.tgz" | cut -d" " -f1)" ]'
ok "one scan and one artifact in PostgreSQL" \
  '[ "$(sql "SELECT count(*) FROM scans")/$(sql "SELECT count(*) FROM artifacts")" = 1/1 ]'

# ---------------------------------------------------------- b. mid-ingestion
# Hold a SHARE lock on alerts: the next batch carrying alerts stops inside
# sf_db_ingest's transaction, after its batches row and before its alerts.
psql "$dsn application_name=sf_blocker" -qAtc \
  "BEGIN; LOCK TABLE alerts IN SHARE MODE; SELECT pg_sleep(300)" >/dev/null 2>&1 &
blocker_pid=$!
for _ in $(seq 1 50); do
  [ "$(sql "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
    WHERE a.application_name = 'sf_blocker' AND a.datname = current_database() AND l.relation = 'alerts'::regclass AND l.granted")" = 1 ] && break
  sleep 0.1
done
ok "test holds a lock on alerts" \
  '[ "$(sql "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
    WHERE a.application_name = '"'sf_blocker'"' AND a.datname = current_database() AND l.relation = '"'alerts'"'::regclass AND l.granted")" = 1 ]'

wlog_from=$(( $(stat -c %s "$work/log/worker.log") + 1 ))
done_jobs() { tail -c +"$wlog_from" "$work/log/worker.log" | grep -c ' done in '; }
pkgs=(benign-banner attack-credential-harvest attack-dns-beacon attack-dropper benign-build attack-setuid)
declare -A ids
for p in "${pkgs[@]}"; do
  pack "$src/tests/packages/$p" "$p"
  ids[$p]=$(submit "$work/$p.tgz" | jq -r '.id // empty')
done
ok "${#pkgs[@]} scans submitted" \
  '[ "$(for p in "${pkgs[@]}"; do [ ${#ids[$p]} -eq 36 ] && echo y; done | wc -l)" = ${#pkgs[@]} ]'

stalled() {
  sql "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
    AND application_name <> 'sf_blocker' AND wait_event_type = 'Lock'
    AND (query LIKE 'COPY alerts%' OR query LIKE 'INSERT INTO alerts%')"
}
for _ in $(seq 1 300); do [ "$(stalled)" -ge 1 ] && break; sleep 0.1; done
ok "the coordinator is stalled inside an ingestion transaction" '[ "$(stalled)" -ge 1 ]'
# Let the worker finish more jobs: their batches stall too (if they carry
# alerts), are stored (if not), or wait for a free ingest thread.
for _ in $(seq 1 200); do [ "$(done_jobs)" -ge 4 ] && break; sleep 0.1; done
ok "the worker finished more jobs meanwhile ($(done_jobs) of ${#pkgs[@]})" '[ "$(done_jobs)" -ge 4 ]'
cpid=$(coord_pid)
echo "# ingestion transactions stalled when the coordinator is killed: $(stalled)"
ok "coordinator killed mid-ingestion" 'kill9_coordinator'
# Release the lock: the dead client's transaction is rolled back by PostgreSQL.
sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sf_blocker' AND datname = current_database()" >/dev/null
wait "$blocker_pid" 2>/dev/null; blocker_pid=
for _ in $(seq 1 50); do
  [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
    AND pid <> pg_backend_pid()")" = 0 ] && break
  sleep 0.1
done
ok "the killed coordinator's sessions are gone" \
  '[ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")" = 0 ]'
ok "the interrupted transaction left no batch of an unfinished job" \
  '[ "$(sql "SELECT count(*) FROM batches b JOIN jobs j ON j.id = b.job_id WHERE j.state <> '"'done'"'")" = 0 ]'
ok "and no alert of an unfinished job" \
  '[ "$(sql "SELECT count(*) FROM alerts a JOIN jobs j ON j.id = a.job_id WHERE j.state <> '"'done'"'")" = 0 ]'
unfinished=$(sql "SELECT count(*) FROM jobs WHERE state <> 'done'")
ok "some jobs' results were lost with the coordinator ($unfinished unfinished)" '[ "$unfinished" -ge 1 ]'

"$src/scripts/farm.sh" up || { echo "FAIL - coordinator did not restart"; exit 1; }
declare -A status
for p in "${pkgs[@]}"; do
  [ -n "${ids[$p]}" ] || continue
  status[$p]=$(wait_scan "${ids[$p]}" | jq -r .status)
done
echo "# jobs (id:attempt): $(sql "SELECT string_agg(id || ':' || attempt, ' ' ORDER BY id) FROM jobs")"
ok "every scan finished after the restart" \
  '[ "$(for p in "${pkgs[@]}"; do echo "${status[$p]:-}"; done | sort -u)" = finished ]'
ok "a lost result was recovered by re-running the job (attempt 2)" \
  '[ "$(sql "SELECT count(*) FROM jobs WHERE attempt > 1")" -ge 1 ]'
ok "every scan is finished, once, with finished_at set" \
  '[ "$(sql "SELECT count(*) FROM scans WHERE status = '"'finished'"' AND finished_at IS NOT NULL")" = $((${#pkgs[@]} + 1)) ]'
ok "one job per scan, all done" \
  '[ "$(sql "SELECT count(*) FROM jobs WHERE state = '"'done'"'")/$(sql "SELECT count(DISTINCT scan_id) FROM jobs")" = "$((${#pkgs[@]} + 1))/$((${#pkgs[@]} + 1))" ]'
bad=$(sql "SELECT j.id || ':' || count(b.*) || ':' || count(b.*) FILTER (WHERE b.final AND b.attempt = j.attempt)
  FROM jobs j LEFT JOIN batches b ON b.job_id = j.id GROUP BY j.id
  HAVING count(b.*) <> 1 OR count(b.*) FILTER (WHERE b.final AND b.attempt = j.attempt) <> 1")
ok "exactly one batch per job, final and of the job's current attempt ${bad:+(bad: $bad)}" '[ -z "$bad" ]'
finals=$(grep -o 'batch job=[0-9]* attempt=[0-9]* seq=[0-9]* (final) stored' "$work/log/coordinator.log" |
  sed 's/ attempt.*//' | sort | uniq -d)
ok "no job's final batch was stored twice across restarts ${finals:+($finals)}" '[ -z "$finals" ]'
dups=$(sql "SELECT scan_id || ' ' || rule || ' x' || count(*) FROM alerts GROUP BY scan_id, rule, output HAVING count(*) > 1")
ok "no alert stored twice (scan, rule, output) ${dups:+($dups)}" '[ -z "$dups" ]'
ok "every alert comes from its job's stored batch" \
  '[ "$(sql "SELECT count(*) FROM alerts a JOIN jobs j ON j.id = a.job_id
    LEFT JOIN batches b ON (b.job_id, b.attempt, b.seq) = (a.job_id, a.attempt, a.seq)
    WHERE b.job_id IS NULL OR a.attempt <> j.attempt")" = 0 ]'
ok "alerts were stored at all ($(sql "SELECT count(*) FROM alerts")), so the checks above mean something" \
  '[ "$(sql "SELECT count(*) FROM alerts")" -gt 0 ]'
ok "the attack packages' expected rules fired" \
  '[ "$(sql "SELECT count(DISTINCT scan_id) FROM alerts WHERE rule IN
    ('"'Credential file read during install', 'DNS lookup of unlisted domain', 'Download tool launched during install', 'Setuid or setgid bit set'"')")" = 4 ]'
ok "no sanitizer findings in the daemons' logs" '! grep -E "Sanitizer|runtime error:" "$work/log/"*.log'

farm_finish
