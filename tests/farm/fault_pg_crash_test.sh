#!/usr/bin/env bash
# fault_pg_crash_test — PostgreSQL crashes under load (pg_ctl stop -m
# immediate: no checkpoint, WAL not yet written is gone) and comes back
# through crash recovery. The queue's own commits (claims, leases, ingested
# batches, reaps, heartbeats) are asynchronous (synchronous_commit=off, see
# coordinator/db.c); submissions are synchronous. So the crash may take back
# the last seconds of the queue's work, but never an answered submission:
#   every submission answered with an id still has its scan after the crash,
#   and it finishes; no job is lost (a lost claim is claimed again, a lost
#   result is redone when its lease expires); every job ends done, with one
#   final batch of its current attempt; no alert is stored twice; every scan
#   ends finished.
# The farm runs on a cluster of its own with fsync on (a crash must be
# survivable) and a slow WAL writer (wal_writer_delay=10s), so that the
# asynchronous commits of the seconds before the crash really are lost —
# the test checks that some were.
#   fault_pg_crash_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
farm_init pgcrash "$1" "$2" "$3"
# Lease 12 + 3 s: a result lost with the crash is redone within the test;
# spare attempts, so that a job re-run on a slow machine is not dead-lettered.
export SCANFARM_JOB_TIME_LIMIT=12 SCANFARM_LEASE_GRACE=3 SCANFARM_REAP_INTERVAL=1 \
  SCANFARM_RETRY_BACKOFF=0 SCANFARM_MAX_ATTEMPTS=5
pg_opts="-c fsync=on -c synchronous_commit=on -c wal_writer_delay=10s"
chmod 755 "$work"
pgdir=$work/pg
stream_pid= cpid=
cleanup() {
  [ -n "$stream_pid" ] && kill "$stream_pid" 2>/dev/null
  [ -n "$cpid" ] && kill -CONT "$cpid" 2>/dev/null
  "$src/scripts/farm.sh" down >/dev/null 2>&1
  "$src/scripts/pg.sh" stop "$pgdir" >/dev/null 2>&1
  [ "$failed" -ne 0 ] && [ -f "$pgdir/server.log" ] && { echo "--- $pgdir/server.log"; tail -n 20 "$pgdir/server.log"; }
  farm_cleanup
}
trap cleanup EXIT
own_dsn=$(SCANFARM_PG_OPTS=$pg_opts "$src/scripts/pg.sh" start "$pgdir") ||
  { echo "FAIL - cannot start a PostgreSQL cluster in $pgdir"; failed=1; exit 1; }
export SCANFARM_DB_DSN=$own_dsn
sql() { psql "$own_dsn" -qAtc "$1"; }
ok "own cluster, fsync on" '[ "$(sql "SHOW fsync")" = on ]'
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }

# Every third submission is an attack package, so that there are alerts to
# count; each carries a nonce, so each is its own artifact.
mkdir -p "$work/sub"
submit_one() { # N: records "N code sha id" in $work/sub/N.rec
  local pkg=$src/samples/hello-npm
  case $1 in *[036]) pkg=$src/tests/packages/attack-credential-harvest ;; esac
  mkdir -p "$work/pkg/$1/package" && cp -R "$pkg/"* "$work/pkg/$1/package/" && rm -f "$work/pkg/$1/package/expect"
  arm "$work/pkg/$1/package"
  echo "$1 $(date +%s.%N)" >"$work/pkg/$1/package/nonce.txt"
  tar -czf "$work/sub/$1.tgz" -C "$work/pkg/$1" package
  local code
  code=$(curl -s -o "$work/sub/$1.body" -w '%{http_code}' --max-time 30 \
    -H 'Content-Type: application/octet-stream' --data-binary @"$work/sub/$1.tgz" "$url/v1/scans")
  echo "$1 $code $(sha256sum "$work/sub/$1.tgz" | cut -d' ' -f1) $(jq -r '.id // "-"' "$work/sub/$1.body" 2>/dev/null)" \
    >"$work/sub/$1.rec"
}
# A steady stream, one every 0.5 s, that can be paused (a submission is a
# synchronous commit: it makes every asynchronous commit before it durable).
stream() {
  local i=0
  while [ ! -e "$work/stop-stream" ]; do
    if [ -e "$work/pause-stream" ]; then sleep 0.1; continue; fi
    i=$((i + 1)); submit_one "s$i"; sleep 0.5
  done
}
stream &
stream_pid=$!
stored() { grep -c ' stored: ' "$work/log/coordinator.log"; }
for _ in $(seq 1 150); do [ "$(stored)" -ge 3 ] && break; sleep 0.1; done
ok "scans were flowing before the crash" '[ "$(stored)" -ge 3 ]'

crash() { "$src/scripts/pg.sh" crash "$pgdir"; }
recover() { SCANFARM_PG_OPTS=$pg_opts "$src/scripts/pg.sh" start "$pgdir" >/dev/null; }
recoveries() { grep -c "database system was not properly shut down" "$pgdir/server.log"; }

# Crash 1, the queue's asynchronous work. Pause the stream (a submission is
# a synchronous commit: what was committed before it is durable) and let the
# queue work on for a few seconds, claiming jobs and storing results: that is
# what the crash takes back.
touch "$work/pause-stream"
sleep 0.7
stored_at_pause=$(stored)
for _ in $(seq 1 40); do [ "$(stored)" -ge $((stored_at_pause + 2)) ] && break; sleep 0.1; done
sleep 0.5
sql "SELECT id, state, attempt FROM jobs" | sort >"$work/jobs.before"
batches_before=$(sql "SELECT count(*) FROM batches")
crash
crash_at=$(date +%s.%N)
ok "PostgreSQL crashed (immediate stop)" '! psql "$own_dsn" -qAtc "SELECT 1" >/dev/null 2>&1'
echo "# the queue stored $(( $(stored) - stored_at_pause )) batch(es) after the last submission and before the crash"
submit_one outage
read -r _ code_out _ _ <"$work/sub/outage.rec"
ok "a submission while PostgreSQL is down gets 503 (HTTP $code_out)" '[ "$code_out" = 503 ]'
sleep 1
# Hold the coordinator still while PostgreSQL recovers, so that what the
# crash took back can be seen before the queue redoes it.
cpid=$(cat "$work/run/coordinator.pid")
kill -STOP "$cpid"
recover
echo "# PostgreSQL was down $(echo "$(date +%s.%N) - $crash_at" | bc | cut -c1-4) s"
ok "it came back through crash recovery" '[ "$(recoveries)" = 1 ]'
sql "SELECT id, state, attempt FROM jobs" | sort >"$work/jobs.after"
changed=$(join -t'|' "$work/jobs.before" "$work/jobs.after" |
  awk -F'|' '$2 != $4 || $3 != $5 {printf " job %s %s/%s -> %s/%s", $1, $2, $3, $4, $5}')
lost=$(join -t'|' "$work/jobs.before" "$work/jobs.after" | awk -F'|' '$2 != $4 || $3 != $5' | wc -l)
lost_batches=$(( batches_before - $(sql "SELECT count(*) FROM batches") ))
echo "# asynchronous commits lost in the crash: $lost job state(s) went back${changed:+ (}${changed# }${changed:+)}, $lost_batches batch(es) gone"
ok "the crash took back asynchronous commits, so what follows tests their recovery" \
  '[ "$lost" -ge 1 ] || [ "$lost_batches" -ge 1 ]'
kill -CONT "$cpid"

# Crash 2, an answered submission: PostgreSQL crashes right after the 201.
for _ in $(seq 1 50); do
  [ "$(curl -s --max-time 5 "$url/readyz" | jq -r .status 2>/dev/null)" = ready ] && break; sleep 0.1
done
submit_one precrash
read -r _ code_pre _ id_pre <"$work/sub/precrash.rec"
crash
ok "a submission just before the second crash was accepted (HTTP $code_pre)" '[ "$code_pre" = 201 ]'
recover
ok "PostgreSQL came back through crash recovery again" '[ "$(recoveries)" = 2 ]'
ok "the submission answered just before the crash kept its scan" \
  '[ "$(sql "SELECT count(*) FROM scans WHERE id = '"'$id_pre'"'")" = 1 ]'

# The stream goes on a little after the restarts, then stops.
rm -f "$work/pause-stream"
sleep 2
touch "$work/stop-stream"
wait "$stream_pid"; stream_pid=

cat "$work"/sub/*.rec >"$work/all.rec"
accepted=$(awk '$2 == 201 && length($4) == 36' "$work/all.rec" | wc -l)
echo "# submissions: $(wc -l <"$work/all.rec") ($accepted accepted)"
ok "submissions were accepted before and after the crash" \
  '[ "$accepted" -ge 6 ] && [ "$(awk '"'"'$2 == 201'"'"' "$work/all.rec" | grep -c "^s")" -ge 5 ]'
missing=$(awk '$2 == 201 {print $4}' "$work/all.rec" | while read -r id; do
  [ "$(sql "SELECT count(*) FROM scans WHERE id = '$id'")" = 1 ] || echo "$id"; done)
ok "every accepted submission has its scan after the crash ${missing:+(missing: $missing)}" '[ -z "$missing" ]'
unfinished=
for id in $(awk '$2 == 201 {print $4}' "$work/all.rec"); do
  st=$(wait_scan "$id" | jq -r .status)
  [ "$st" = finished ] || unfinished="$unfinished $id:$st"
done
ok "every accepted scan finished ${unfinished:+(not:$unfinished)}" '[ -z "$unfinished" ]'
extra=$(sql "SELECT id FROM scans" | sort | comm -23 - <(awk '$2 == 201 {print $4}' "$work/all.rec" | sort))
ok "no scan PostgreSQL holds went unanswered ${extra:+(extra: $extra)}" '[ -z "$extra" ]'
ok "no job lost: every job is done" \
  '[ "$(sql "SELECT count(*) FROM jobs WHERE state <> '"'done'"'")" = 0 ] &&
   [ "$(sql "SELECT count(*) FROM jobs")" = "$(sql "SELECT count(*) FROM scans")" ]'
ok "every scan is finished with finished_at set" \
  '[ "$(sql "SELECT count(*) FROM scans WHERE status <> '"'finished'"' OR finished_at IS NULL")" = 0 ]'
bad=$(sql "SELECT j.id FROM jobs j LEFT JOIN batches b ON b.job_id = j.id AND b.final
  GROUP BY j.id, j.attempt HAVING count(b.*) <> 1 OR count(b.*) FILTER (WHERE b.attempt = j.attempt) <> 1")
ok "exactly one final batch per job, of its current attempt ${bad:+(bad: $bad)}" '[ -z "$bad" ]'
dups=$(sql "SELECT scan_id || ' ' || rule || ' x' || count(*) FROM alerts GROUP BY scan_id, rule, output HAVING count(*) > 1")
ok "no alert stored twice ${dups:+($dups)}" '[ -z "$dups" ]'
ok "every alert comes from a stored batch of its job's current attempt" \
  '[ "$(sql "SELECT count(*) FROM alerts a JOIN jobs j ON j.id = a.job_id
    LEFT JOIN batches b ON (b.job_id, b.attempt, b.seq) = (a.job_id, a.attempt, a.seq)
    WHERE b.job_id IS NULL OR a.attempt <> j.attempt")" = 0 ]'
attacks=$(awk '$2 == 201 && $1 ~ /[036]$/ {print $4}' "$work/all.rec" | wc -l)
ok "each attack submission ($attacks) has its alert, so the checks above mean something" \
  '[ "$attacks" -ge 2 ] && [ "$(sql "SELECT count(DISTINCT scan_id) FROM alerts WHERE rule = '"'Credential file read during install'"'")" = "$attacks" ]'
echo "# jobs by attempt: $(sql "SELECT string_agg(attempt || ':' || n, ' ') FROM (SELECT attempt, count(*) n FROM jobs GROUP BY 1 ORDER BY 1) x")"
ok "the coordinator logged the reconnection" 'grep -q "postgresql: reconnected" "$work/log/coordinator.log"'
ok "no sanitizer findings in the daemons' logs" '! grep -E "Sanitizer|runtime error:" "$work/log/"*.log'

farm_finish
