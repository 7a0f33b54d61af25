#!/usr/bin/env bash
# shutdown_test — SIGTERM with uploads in flight (the graceful drain):
#   a. an upload throttled so that it ends within --drain-timeout (30 s):
#      from the signal on, new connections are refused and a new request on
#      a connection opened before gets 503; the upload goes on, is answered
#      201 with an id, and the process exits 0 as soon as it is answered;
#      after a restart the scan is there and finishes;
#   b. with --drain-timeout 2, an upload that cannot end in time: the process
#      exits 0 about 2 s after the signal, the client gets no id, and the
#      upload leaves nothing behind — no scan or artifact row, no object, no
#      file in the store's tmp dir.
#   shutdown_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
farm_init shutdown "$1" "$2" "$3"
upload_pid= cpid=
cleanup() {
  [ -n "$upload_pid" ] && kill "$upload_pid" 2>/dev/null
  exec 3>&- 2>/dev/null
  farm_cleanup
}
trap cleanup EXIT
sql() { psql "$dsn" -qAtc "$1"; }
store=$work/artifacts
# The coordinator is started here rather than by farm.sh so that this shell
# is its parent and sees its exit status; farm.sh finds it running (pid file),
# starts only the worker, and stops both at the end.
start_coordinator() { # [extra options]
  mkdir -p "$work/log" "$work/run"
  "$build/coordinator/scanfarm-coordinator" --db-dsn "$dsn" --http-address "127.0.0.1:$port" \
    --store-dir "$store" --jobs-url "tcp://127.0.0.1:$((port + 1))" \
    --results-url "tcp://127.0.0.1:$((port + 2))" "$@" >>"$work/log/coordinator.log" 2>&1 &
  cpid=$!
  echo "$cpid" >"$work/run/coordinator.pid"
  for _ in $(seq 1 100); do curl -fs "$url/healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
# Waits until the coordinator holds an upload's temp file in the store of at
# least $1 bytes; prints its size.
wait_tmpfile() {
  local size=0 l
  for _ in $(seq 1 100); do
    for fd in /proc/"$cpid"/fd/*; do
      l=$(readlink "$fd" 2>/dev/null) || continue
      case $l in "$store/tmp/"*) size=$(stat -L -c %s "$fd" 2>/dev/null || echo 0) ;; esac
    done
    [ "$size" -ge "$1" ] && break
    sleep 0.1
  done
  echo "$size"
}
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
refused() { # a new connection is refused (curl exit 7), not answered or left hanging
  curl -s -o /dev/null --max-time 3 "$url/healthz"
  [ $? -eq 7 ]
}

start_coordinator || { echo "FAIL - coordinator did not start"; exit 1; }
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }

# ------------------------------------------------ a. the upload finishes
# A real project (the sample plus 6 MiB of incompressible padding), sent at
# 1 MB/s: ~6 s, well within the default 30 s drain.
mkdir -p "$work/pkg/big/package" && cp "$src/samples/hello-npm/"* "$work/pkg/big/package/"
head -c $((6 << 20)) /dev/urandom >"$work/pkg/big/package/padding.bin"
tar -czf "$work/big.tgz" -C "$work/pkg/big" package
big_sha=$(sha256sum "$work/big.tgz" | cut -d' ' -f1)
# A kept-alive connection opened before the signal (no request on it yet).
exec 3<>"/dev/tcp/127.0.0.1/$port"
curl -s -o "$work/a.out" -w '%{http_code}' -X POST -T "$work/big.tgz" --limit-rate 1M \
  -H 'Content-Type: application/octet-stream' "$url/v1/scans" >"$work/a.code" &
upload_pid=$!
tmpsize=$(wait_tmpfile $((1 << 20)))
ok "the upload streams into the store ($tmpsize bytes so far)" '[ "$tmpsize" -ge $((1 << 20)) ]'
ok "and is still in progress when SIGTERM comes" \
  'kill -0 "$upload_pid" 2>/dev/null && [ "$tmpsize" -lt "$(stat -c %s "$work/big.tgz")" ]'
t0=$(now)
kill -TERM "$cpid"
sleep 0.3
ok "during the drain a new connection is refused" 'refused'
# (in a subshell that ignores SIGPIPE: if the server is gone, the check fails)
(trap '' PIPE; printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >&3) 2>/dev/null
timeout 5 head -c 4096 <&3 >"$work/keepalive.out" 2>/dev/null
exec 3>&-
ok "a new request on a connection opened before gets 503 shutting_down" \
  'head -n 1 "$work/keepalive.out" | grep -q " 503 " && grep -q shutting_down "$work/keepalive.out"'
sleep 1
ok "the coordinator keeps running while the upload goes on" \
  'kill -0 "$cpid" 2>/dev/null && kill -0 "$upload_pid" 2>/dev/null'
wait "$upload_pid"; upload_rc=$?; upload_pid=
upload_s=$(since "$t0")
ok "the upload was answered 201 with an id, $upload_s s after the signal (curl exit $upload_rc)" \
  '[ "$(cat "$work/a.code")" = 201 ] && [ "$(jq -r .id "$work/a.out" | wc -c)" = 37 ]'
a_id=$(jq -r '.id // empty' "$work/a.out" 2>/dev/null)
wait "$cpid"; crc=$?
exit_s=$(since "$t0")
ok "the coordinator exited 0 once it was answered ($exit_s s after the signal, not 30)" \
  '[ "$crc" = 0 ] && [ "$(echo "$exit_s < 15" | bc)" = 1 ]'
ok "it logged the drain" 'grep -q "drained: every upload in progress was answered" "$work/log/coordinator.log"'
ok "the scan row was committed before the reply" \
  '[ "$(sql "SELECT count(*) FROM scans WHERE id = '"'${a_id:-none}'"'")" = 1 ]'

start_coordinator || { echo "FAIL - coordinator did not restart"; exit 1; }
ok "after a restart the scan is there" \
  '[ "$(curl -s -o /dev/null -w "%{http_code}" "$url/v1/scans/$a_id")" = 200 ]'
ph=$(wait_scan "$a_id")
ok "and finishes" '[ "$(jq -r .status <<<"$ph")" = finished ]'
ok "the store holds that artifact" '[ -f "$store/objects/${big_sha:0:2}/$big_sha" ]'
t0=$(now)
kill -TERM "$cpid"; wait "$cpid"; crc=$?
ok "with no upload in flight it exits 0 at once ($(since "$t0") s)" \
  '[ "$crc" = 0 ] && [ "$(echo "$(since "$t0") < 3" | bc)" = 1 ]'

# ---------------------------------------------- b. the drain times out
start_coordinator --drain-timeout 2 || { echo "FAIL - coordinator did not restart"; exit 1; }
scans_before=$(sql "SELECT count(*) FROM scans") arts_before=$(sql "SELECT count(*) FROM artifacts")
head -c $((64 << 20)) /dev/urandom >"$work/huge.bin"
curl -s -o "$work/b.out" -w '%{http_code}' -X POST -T "$work/huge.bin" --limit-rate 1M \
  -H 'Content-Type: application/octet-stream' "$url/v1/scans" >"$work/b.code" &
upload_pid=$!
tmpsize=$(wait_tmpfile $((1 << 20)))
ok "a 64 MiB upload at 1 MB/s streams into the store ($tmpsize bytes so far)" \
  '[ "$tmpsize" -ge $((1 << 20)) ] && kill -0 "$upload_pid" 2>/dev/null'
t0=$(now)
kill -TERM "$cpid"
sleep 0.3
ok "during the drain a new connection is refused" 'refused'
wait "$cpid"; crc=$?
exit_s=$(since "$t0")
ok "the coordinator exited 0 at the drain timeout ($exit_s s after the signal)" \
  '[ "$crc" = 0 ] && [ "$(echo "$exit_s >= 1.8 && $exit_s < 5" | bc)" = 1 ]'
wait "$upload_pid"; upload_rc=$?; upload_pid=
ok "the client saw the upload fail (curl exit $upload_rc, HTTP $(cat "$work/b.code")), no id" \
  '[ "$upload_rc" -ne 0 ] && ! grep -qs "\"id\"" "$work/b.out"'
ok "it logged the discarded upload" \
  'grep -q "drain timeout: 1 upload(s) unfinished, discarded" "$work/log/coordinator.log"'
ok "no scan row for it" '[ "$(sql "SELECT count(*) FROM scans")" = "$scans_before" ]'
ok "no artifact row for it" '[ "$(sql "SELECT count(*) FROM artifacts")" = "$arts_before" ]'
ok "no object for it: the store holds only the first artifact" \
  '[ "$(find "$store/objects" -type f -printf "%f\n")" = "$big_sha" ]'
ok "no file left in the store's tmp dir" '[ -z "$(find "$store/tmp" -mindepth 1)" ]'
ok "no sanitizer findings in the daemons' logs" '! grep -E "Sanitizer|runtime error:" "$work/log/"*.log'

farm_finish
