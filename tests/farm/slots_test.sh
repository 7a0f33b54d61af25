#!/usr/bin/env bash
# slots_test — one worker process with --capacity 3 runs several real installs
# at once (the eBPF sensor, the sinkhole, the rules), attack simulations and
# benign packages interleaved, and each report holds exactly its own findings:
#   - every attack's expected rules fired, no benign package raised anything at
#     Notice or above, and no report names another package of the run or holds
#     another's tell-tale facts (its DNS name, its address);
#   - the installs overlapped: the worker log shows a job starting before an
#     earlier one was done, and a heartbeat reported 3 running;
#   - each slot is a user namespace of its own: two concurrent probes read
#     different host id ranges from /proc/self/uid_map;
#   - a worker killed with two jobs in flight gives both back: restarted under
#     its id, both re-run as attempt 2, each result stored once.
#   slots_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
[ -x "$2/worker/scanfarm-rules" ] || { echo "SKIP: rule engine not built"; exit 77; }
farm_init slots "$1" "$2" "$3"
w2= poller=
trap '[ -n "$w2" ] && kill "$w2" 2>/dev/null; [ -n "$poller" ] && kill "$poller" 2>/dev/null; farm_cleanup' EXIT
export SCANFARM_RULES=$src/rules SCANFARM_HEARTBEAT_INTERVAL=1
export SCANFARM_WORKER_OPTS="--capacity 3 --worker-id slotted"
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }
ok "the worker started three slots, each with its own id range" \
  '[ "$(grep -c "slot [0-2]: sandbox ids 0-65535 are host ids" "$work/log/worker.log")" = 3 ]'

# A package of the test's own: prints the user namespace it runs in and waits
# a little, so two of them run side by side.
idprobe() { # DIR NONCE
  mkdir -p "$1/package"
  cat >"$1/package/package.json" <<EOF
{"name": "slots-idprobe-$2", "version": "1.0.0",
 "scripts": {"postinstall": "cat /proc/self/uid_map; sleep 3"}}
EOF
  tar -czf "$1.tgz" -C "$1" package
}

# The work, interleaved so that attacks and benign installs share the slots.
pkgs=(attack-dns-beacon benign-banner attack-reverse-shell slow-install attack-persistence
      benign-build attack-downloader)
declare -A ids reports names
submit() { # NAME TARBALL
  local name=$1
  ids[$name]=$(curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$2" \
    "$url/monitor/project/npm" | jq -r '.id // empty')
  ok "$name: submitted" '[ ${#ids[$name]} -eq 36 ]'
}
# the heartbeats' running count, sampled while the jobs run
( while :; do curl -s "$url/v1/workers" | jq -r '.workers[]? | select(.id == "slotted") | .running'
    sleep 0.3; done >"$work/running.txt" 2>/dev/null ) &
poller=$!
for p in "${pkgs[@]}"; do
  mkdir -p "$work/pkg/$p"
  cp -R "$src/tests/packages/$p" "$work/pkg/$p/package"
  rm -f "$work/pkg/$p/package/expect"
  arm "$work/pkg/$p/package"
  tar -czf "$work/$p.tgz" -C "$work/pkg/$p" package
  names[$p]=$(jq -r .name "$work/pkg/$p/package/package.json")
  submit "$p" "$work/$p.tgz"
  if [ "$p" = benign-banner ]; then
    idprobe "$work/idprobe-a" a && submit idprobe-a "$work/idprobe-a.tgz"
    idprobe "$work/idprobe-b" b && submit idprobe-b "$work/idprobe-b.tgz"
    names[idprobe-a]=slots-idprobe-a names[idprobe-b]=slots-idprobe-b
  fi
done
all=("${pkgs[@]}" idprobe-a idprobe-b)

for p in "${all[@]}"; do
  [ -n "${ids[$p]}" ] || continue
  wait_scan "${ids[$p]}" >/dev/null
  reports[$p]=$(curl -s "$url/v1/scans/${ids[$p]}")
  ok "$p: finished, install exited 0" \
    '[ "$(jq -r ".status, .install.exit_status" <<<"${reports[$p]}" | paste -sd" ")" = "finished 0" ]'
done
kill "$poller" 2>/dev/null; wait "$poller" 2>/dev/null; poller=

# Each report holds its own findings and no one else's.
loud='["emergency","alert","critical","error","warning","warn","notice"]'
for p in "${all[@]}"; do
  r=${reports[$p]:-\{\}}
  case $p in
    attack-*)
      while IFS= read -r rule || [ -n "$rule" ]; do
        [ -n "$rule" ] || continue
        ok "$p: \"$rule\" fired" 'jq -e --arg r "$rule" "any(.alerts[]?; .rule == \$r)" <<<"$r" >/dev/null'
      done <"$src/tests/packages/$p/expect"
      ;;
    benign-*|slow-install|idprobe-*)
      ok "$p: no alert at Notice or above" \
        '[ "$(jq "[.alerts[]? | select(.priority | ascii_downcase | IN($loud[]))] | length" <<<"$r")" = 0 ]'
      ;;
  esac
  ok "$p: the report names its own package" 'grep -qF "${names[$p]}" <<<"$r"'
  ok "$p: the sensor saw its events and lost none of them" \
    '[ "$(jq -r ".sensor.events // 0" <<<"$r")" -gt 0 ] && [ "$(jq -r ".sensor.drops // -1" <<<"$r")" = 0 ]'
  for q in "${all[@]}"; do
    [ "$q" = "$p" ] && continue
    ok "$p: no trace of ${names[$q]}" '! grep -qF "\"${names[$q]}" <<<"$r" && ! grep -qF "${names[$q]}@" <<<"$r"'
  done
done
marker() { # PACKAGE STRING: STRING is in PACKAGE's report and in no other
  local q
  grep -qF "$2" <<<"${reports[$1]}" || return 1
  for q in "${all[@]}"; do [ "$q" = "$1" ] || ! grep -qF "$2" <<<"${reports[$q]}" || return 1; done
}
ok "the DNS beacon's name is in its report alone" 'marker attack-dns-beacon exfil-test.example'
ok "the reverse shell's address is in its report alone" 'marker attack-reverse-shell 203.0.113.5:4444'
ok "the persistence writes are in its report alone" \
  'marker attack-persistence "$(jq -r "[.facts.file_written[]?.value | select(test(\"bashrc|profile|cron\"))][0] // \"none\"" <<<"${reports[attack-persistence]}")"'

# They ran at once: a job started before an earlier one was done.
overlap=$(awk '/ attempt 1: scan .*slot [0-9]/ { started++ } / done in / { if (started - done >= 2) o = 1; done++ } END { print o + 0 }' "$work/log/worker.log")
ok "the installs overlapped (worker log: a job started while another ran)" '[ "$overlap" = 1 ]'
ok "all three slots took jobs" \
  '[ "$(grep -o "bytes), slot [0-9]*" "$work/log/worker.log" | sort -u | wc -l)" = 3 ]'
ok "a heartbeat reported 3 jobs running (most seen: $(sort -n "$work/running.txt" | tail -1))" \
  'grep -qx 3 "$work/running.txt"'
map_a=$(jq -r .install.stdout_tail <<<"${reports[idprobe-a]:-\{\}}" | awk '$1 == 0 {print $2; exit}')
map_b=$(jq -r .install.stdout_tail <<<"${reports[idprobe-b]:-\{\}}" | awk '$1 == 0 {print $2; exit}')
ok "concurrent sandboxes: different host id ranges ($map_a, $map_b)" \
  '[ -n "$map_a" ] && [ -n "$map_b" ] && [ "$map_a" != "$map_b" ] &&
   [ $(( (map_a - 2013265920) % 65536 )) = 0 ] && [ $(( (map_b - 2013265920) % 65536 )) = 0 ] &&
   [ $(( (map_a - 2013265920) / 65536 )) -le 2 ] && [ $(( (map_b - 2013265920) / 65536 )) -le 2 ]'
ok "no job directory or container left" \
  '[ -z "$(ls "$work/worker/jobs" 2>/dev/null)" ] && [ -z "$(ls "$work/worker/runtime-state" 2>/dev/null)" ]'

# A worker killed with two jobs in flight: restarted under its id, its first
# request says so and both jobs are re-queued at once (their leases are long).
"$src/scripts/farm.sh" down >/dev/null 2>&1
export SCANFARM_JOB_TIME_LIMIT=120 SCANFARM_WORKER_LIVE=60
unset SCANFARM_WORKER_OPTS
start_worker() {
  "$build/worker/scanfarm-worker" --worker-id killed --capacity 2 --work-dir "$work/wk" \
    --rootfs "$SCANFARM_ROOTFS" --rules "$src/rules" --jobs-url "tcp://127.0.0.1:$((port + 1))" \
    --results-url "tcp://127.0.0.1:$((port + 2))" >>"$work/wk.log" 2>&1 &
  w2=$!
}
"$src/scripts/farm.sh" up >/dev/null 2>&1 || { echo "FAIL - farm did not restart"; exit 1; }
farm_worker=$(cat "$work/run/worker.pid") # this part brings its own worker
kill -TERM "$farm_worker"
for _ in $(seq 1 100); do kill -0 "$farm_worker" 2>/dev/null || break; sleep 0.1; done
start_worker
slow=()
for n in 1 2; do
  echo "kill-$n" >"$work/pkg/slow-install/package/nonce.txt"
  tar -czf "$work/slow-$n.tgz" -C "$work/pkg/slow-install" package
  submit "slow-$n" "$work/slow-$n.tgz"
  slow+=("${ids[slow-$n]}")
done
for _ in $(seq 1 150); do
  [ "$(grep -c "installing in" "$work/wk.log")" -ge 2 ] && break; sleep 0.1
done
ok "both jobs were installing when the worker was killed" '[ "$(grep -c "installing in" "$work/wk.log")" = 2 ]'
kill -9 "$w2"; wait "$w2" 2>/dev/null
start_worker
for id in "${slow[@]}"; do
  wait_scan "$id" >/dev/null
  r=$(curl -s "$url/v1/scans/$id")
  outcome=$(jq -r ".status, .job.attempt, .job.last_error" <<<"$r" | paste -sd" ")
  ok "killed job re-ran as attempt 2 ($outcome)" \
    '[ "$outcome" = "finished 2 worker killed restarted during attempt 1" ]'
  ok "... its install output once" '[ "$(jq -r .install.stdout_tail <<<"$r" | grep -c "slow-install done")" = 1 ]'
done
batches=$(psql "$dsn" -tAc "SELECT string_agg(b.attempt || ':' || b.final, ',') FROM batches b JOIN jobs j ON j.id = b.job_id WHERE j.scan_id IN ('${slow[0]}', '${slow[1]}')")
ok "one batch stored per job, from attempt 2 ($batches)" '[ "$batches" = "2:true,2:true" ]'
kill "$w2"; wait "$w2" 2>/dev/null; w2=
ok "no sanitizer findings in the workers' logs (ASan build: their exits too)" \
  '! grep -E "Sanitizer|runtime error:" "$work/log/worker.log" "$work/wk.log"'

farm_finish
