#!/usr/bin/env bash
# fault_pg_restart_test — PostgreSQL stops for a few seconds under load and
# comes back. The farm runs on a cluster of its own (not the ctest fixture's),
# so the restart disturbs no other test. While PostgreSQL is down:
#   /healthz answers 200, /readyz 503, a submission a 503 JSON error
#   (database_unavailable) and leaves no row behind;
# after it is back, with nobody restarting the coordinator:
#   /readyz is ready again, submissions are accepted, and every scan ever
#   accepted ({"status":"ok","id":…}) finishes — including those whose jobs
#   were dispatched or whose batches arrived while the database was away.
#   fault_pg_restart_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
farm_init pgrestart "$1" "$2" "$3"
# Jobs wait in the worker's queue behind the backlog: a lease long enough for
# that (nothing should need a re-run here), short enough that a lost result
# would still be re-run within the test's wait.
export SCANFARM_JOB_TIME_LIMIT=60 SCANFARM_LEASE_GRACE=10 SCANFARM_REAP_INTERVAL=1 \
  SCANFARM_RETRY_BACKOFF=0
# Our own cluster under $work (reachable by the postgres user, removed with $work).
chmod 755 "$work"
pgdir=$work/pg
stream_pid=
cleanup() {
  [ -n "$stream_pid" ] && kill "$stream_pid" 2>/dev/null
  "$src/scripts/farm.sh" down >/dev/null 2>&1
  "$src/scripts/pg.sh" stop "$pgdir" >/dev/null 2>&1
  [ "$failed" -ne 0 ] && [ -f "$pgdir/server.log" ] && { echo "--- $pgdir/server.log"; tail -n 20 "$pgdir/server.log"; }
  farm_cleanup
}
trap cleanup EXIT
own_dsn=$(SCANFARM_PG_OPTS='-c fsync=off' "$src/scripts/pg.sh" start "$pgdir") ||
  { echo "FAIL - cannot start a PostgreSQL cluster in $pgdir"; failed=1; exit 1; }
ok "own PostgreSQL cluster under the test's directory" '[ "$own_dsn" = "host=$pgdir/run dbname=scanfarm user=postgres" ]'
export SCANFARM_DB_DSN=$own_dsn
sql() { psql "$own_dsn" -qAtc "$1"; }
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }

# Every submission carries its own bytes, so a refused one can be told apart.
mkdir -p "$work/sub"
submit_one() { # N: submit a fresh tarball; records "N code sha id" in $work/sub/N.rec
  mkdir -p "$work/pkg/$1/package" && cp "$src/samples/hello-npm/"* "$work/pkg/$1/package/"
  echo "$1 $(date +%s.%N)" >"$work/pkg/$1/package/nonce.txt"
  tar -czf "$work/sub/$1.tgz" -C "$work/pkg/$1" package
  local code
  code=$(curl -s -o "$work/sub/$1.body" -w '%{http_code}' --max-time 30 \
    -H 'Content-Type: application/octet-stream' --data-binary @"$work/sub/$1.tgz" \
    "$url/monitor/project/npm")
  echo "$1 $code $(sha256sum "$work/sub/$1.tgz" | cut -d' ' -f1) $(jq -r '.id // "-"' "$work/sub/$1.body" 2>/dev/null)" \
    >"$work/sub/$1.rec"
}
# A steady stream of submissions, one every 0.4 s, in the background.
stream() { local i=0; while [ ! -e "$work/stop-stream" ]; do i=$((i + 1)); submit_one "s$i"; sleep 0.4; done; }
stream &
stream_pid=$!

# Let jobs flow (dispatch, installs, ingestion), then pull the database away.
for _ in $(seq 1 100); do
  [ "$(grep -c ' stored: ' "$work/log/coordinator.log")" -ge 2 ] && break; sleep 0.1
done
ok "scans were flowing before the outage" '[ "$(grep -c " stored: " "$work/log/coordinator.log")" -ge 2 ]'
"$src/scripts/pg.sh" stop "$pgdir"
ok "PostgreSQL is down" '! psql "$own_dsn" -qAtc "SELECT 1" >/dev/null 2>&1'
outage_start=$(date +%s.%N) outage_from=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)

# During the outage: the coordinator answers, and says why it cannot take work.
submit_one outage1
sleep 1
hz=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url/healthz")
rz_code=$(curl -s -o "$work/readyz.body" -w '%{http_code}' --max-time 5 "$url/readyz")
submit_one outage2
ok "/healthz answers 200 while PostgreSQL is down" '[ "$hz" = 200 ]'
ok "/readyz answers 503 database_unavailable" \
  '[ "$rz_code" = 503 ] && [ "$(jq -r .error.code "$work/readyz.body")" = database_unavailable ]'
for n in outage1 outage2; do
  read -r _ code _ _ <"$work/sub/$n.rec"
  ok "submission during the outage ($n): 503 with a JSON error (got $code)" \
    '[ "$code" = 503 ] && jq -e ".status == \"error\" and .error.code == \"database_unavailable\" and (.error.message | length) > 0" "$work/sub/$n.body" >/dev/null'
done
ok "a report request during the outage: 503 JSON" \
  '[ "$(curl -s -o "$work/rep.body" -w "%{http_code}" --max-time 5 "$url/?id=00000000-0000-4000-8000-000000000000")" = 503 ] && jq -e .error.code "$work/rep.body" >/dev/null'
sleep 3
ok "the coordinator is still running" 'kill -0 "$(cat "$work/run/coordinator.pid")"'

outage_to=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
SCANFARM_PG_OPTS='-c fsync=off' "$src/scripts/pg.sh" start "$pgdir" >/dev/null
outage=$(echo "$(date +%s.%N) - $outage_start" | bc)
echo "# PostgreSQL was down ${outage%.*} s"
ready=0
for _ in $(seq 1 100); do
  [ "$(curl -s --max-time 5 "$url/readyz" | jq -r .status 2>/dev/null)" = ready ] && { ready=1; break; }
  sleep 0.2
done
ok "the coordinator reconnected by itself: /readyz is ready" '[ "$ready" = 1 ]'
# Every pooled connection must be usable again, not only the one /readyz got:
# stall INSERT INTO scans behind a lock so that a burst of parallel
# submissions holds all the pool's connections (db-pool, 8) at once, then let
# them through. A connection left over from before the restart must not turn
# into a 503 now that PostgreSQL is back.
psql "$own_dsn application_name=sf_blocker" -qAtc \
  "BEGIN; LOCK TABLE scans IN SHARE ROW EXCLUSIVE MODE; SELECT pg_sleep(2)" >/dev/null 2>&1 &
blocker=$!
for _ in $(seq 1 50); do
  [ "$(sql "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
    WHERE a.application_name = 'sf_blocker' AND a.datname = current_database() AND l.relation = 'scans'::regclass AND l.granted")" = 1 ] && break
  sleep 0.05
done
for i in $(seq 1 12); do submit_one "burst$i" & done
wait "$blocker"
for _ in $(seq 1 200); do [ "$(ls "$work"/sub/burst*.rec 2>/dev/null | wc -l)" = 12 ] && break; sleep 0.1; done
sleep 0.2
burst_codes=$(cat "$work"/sub/burst*.rec | awk '{print $2}' | sort | uniq -c | tr -s ' \n' ' ')
ok "a burst of 12 parallel submissions after the restart: all accepted ($burst_codes)" \
  '[ "$(cat "$work"/sub/burst*.rec | awk "\$2 == 200 && length(\$4) == 36" | wc -l)" = 12 ]'
# Keep the stream going a little after the restart, then stop it.
sleep 1
touch "$work/stop-stream"
wait "$stream_pid"; stream_pid=
submit_one after
read -r _ code_after _ id_after <"$work/sub/after.rec"
ok "a submission after the restart is accepted" '[ "$code_after" = 200 ] && [ ${#id_after} -eq 36 ]'

# Classify every submission.
cat "$work"/sub/*.rec >"$work/all.rec"
accepted=$(awk '$2 == 200 && length($4) == 36' "$work/all.rec" | wc -l)
refused=$(awk '$2 == 503' "$work/all.rec" | wc -l)
other=$(awk '!($2 == 200 && length($4) == 36) && $2 != 503' "$work/all.rec")
echo "# submissions: $(wc -l <"$work/all.rec") ($accepted accepted, $refused refused with 503)"
ok "every submission got 200 with an id or 503 ${other:+(other: $other)}" '[ -z "$other" ]'
ok "submissions were refused during the outage and accepted around it" '[ "$refused" -ge 2 ] && [ "$accepted" -ge 5 ]'

# Every accepted scan finishes.
unfinished=
for id in $(awk '$2 == 200 {print $4}' "$work/all.rec"); do
  st=$(wait_scan "$id" | jq -r .status)
  [ "$st" = finished ] || unfinished="$unfinished $id:$st"
done
ok "every accepted scan finished ${unfinished:+(not:$unfinished)}" '[ -z "$unfinished" ]'

# Nothing half-stored: the database holds exactly the accepted scans.
awk '$2 == 200 {print $4}' "$work/all.rec" | sort >"$work/accepted.ids"
sql "SELECT id FROM scans ORDER BY 1" | sort >"$work/db.ids"
ok "PostgreSQL holds exactly the accepted scans" 'cmp -s "$work/accepted.ids" "$work/db.ids"'
refused_shas=$(awk '$2 == 503 {printf "%s'"'"'%s'"'"'", sep, $3; sep=","}' "$work/all.rec")
ok "no artifact row for a refused submission" \
  '[ "$(sql "SELECT count(*) FROM artifacts WHERE sha256 IN ($refused_shas)")" = 0 ]'
ok "every scan has exactly one job, done" \
  '[ "$(sql "SELECT count(*) FROM scans s JOIN jobs j ON j.scan_id = s.id WHERE j.state = '"'done'"'")" = "$(wc -l <"$work/accepted.ids")" ] &&
   [ "$(sql "SELECT count(*) FROM jobs")" = "$(wc -l <"$work/accepted.ids")" ]'
bad=$(sql "SELECT j.id FROM jobs j LEFT JOIN batches b ON b.job_id = j.id AND b.final
  GROUP BY j.id HAVING count(b.*) <> 1")
ok "exactly one final batch per job ${bad:+(bad: $bad)}" '[ -z "$bad" ]'
# Jobs the worker finished while PostgreSQL was down: their batches waited in
# the coordinator's ingest retry loop and must have been stored afterwards.
during=$(awk -v a="$outage_from" -v b="$outage_to" '/ done in / && $1 >= a && $1 <= b {print $5}' \
  "$work/log/worker.log" | sort -u)
lost=
for j in $during; do
  [ "$(sql "SELECT count(*) FROM batches WHERE job_id = $j AND final")" = 1 ] || lost="$lost $j"
done
ok "results sent during the outage were stored after it (jobs: $(echo $during))" \
  '[ -n "$during" ] && [ -z "$lost" ]'
orphans=$(awk '$2 == 503 {print $3}' "$work/all.rec" | while read -r s; do
  [ -e "$work/artifacts/objects/${s:0:2}/$s" ] && echo "$s"; done | wc -l)
echo "# refused submissions whose bytes stay in the store unreferenced: $orphans of $refused"
echo "# jobs by attempt: $(sql "SELECT string_agg(attempt || ':' || n, ' ') FROM (SELECT attempt, count(*) n FROM jobs GROUP BY 1 ORDER BY 1) x")"
ok "the coordinator logged the reconnection" 'grep -q "postgresql: reconnected" "$work/log/coordinator.log"'
ok "no sanitizer findings in the daemons' logs" '! grep -E "Sanitizer|runtime error:" "$work/log/"*.log'

farm_finish
