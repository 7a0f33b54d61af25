#!/usr/bin/env bash
# falco_slots_test — one worker process with --capacity 3 and a Falco
# backend (`falco-grpc` or `falco-json`) with a real Falco (modern eBPF, the
# shipped rules and configuration): attack simulations and benign packages
# installed at the same time in the one process, and every Falco alert in
# the report of the job whose sandbox raised it and in no other:
#   - each attack's expected rules fired, the benign packages raised
#     nothing at Notice or above, no report names another package of the
#     run, and every alert in a report names that job's own container
#     cgroup (/scanfarm/sf-<worker pid>-<job>-<attempt>-<phase>);
#   - nothing lost or misfiled: for every job, the alerts its report
#     counts (sensor.events) are exactly Falco's own alerts for that job's
#     cgroups (Falco's file output, written beside the backend's);
#   - a package that raises a burst of 300 alerts as the very last thing
#     its last phase does (require-time code reading a credential file),
#     with Falco's outputs slowed down so the alerts are still on their
#     way when its container has gone, gets all 300, and the jobs beside
#     it none of them;
#   - the installs overlapped (a heartbeat reported 3 running; the worker
#     log shows a job starting before an earlier one was done).
#   falco_slots_test.sh grpc|json SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
. "$(dirname "$0")/falcolib.sh"
kind=$1
shift
src=$1
falco_locate
farm_init "fslots_$kind" "$1" "$2" "$3"
poller=
trap '[ -n "$poller" ] && kill "$poller" 2>/dev/null; falco_stop; farm_cleanup' EXIT
falco_configure "$kind"
# Falco's outputs made slow: a program output it starts for every alert,
# which takes 10 ms, before the next alert goes to any output. 300 alerts
# then come out over 3 s or more, long after the node that raised them has
# exited and its container gone: the job must still get every one (its
# closing pulse comes out behind them), and no other job any.
cat >"$work/falco/config.d/95-slow-outputs.yaml" <<'EOF'
program_output:
  enabled: true
  keep_alive: false
  program: "sleep 0.01; cat >/dev/null"
EOF
falco_start
falco_wait_ready || exit 1
export SCANFARM_HEARTBEAT_INTERVAL=1
export SCANFARM_WORKER_OPTS="--capacity 3 --worker-id fslots"
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }
ok "one worker, three slots, sensor falco-$kind" \
  'grep -q "sensor=falco-$kind capacity=3" "$work/log/worker.log"'
wpid=$(cat "$work/run/worker.pid")

declare -A ids reports names
pack() { # NAME: tests/packages/NAME as `npm pack` lays it out, an attack armed
  mkdir -p "$work/pkg/$1" && cp -R "$src/tests/packages/$1" "$work/pkg/$1/package"
  rm -f "$work/pkg/$1/package/expect"
  case $1 in attack-*) arm "$work/pkg/$1/package" ;; esac
  tar -czf "$work/$1.tgz" -C "$work/pkg/$1" package
  names[$1]=$(jq -r .name "$work/pkg/$1/package/package.json")
}
# The late burst: require-time code that opens the home's AWS credentials
# 300 times and returns; node exits, and the import phase, the job's last,
# ends with the alerts still in Falco's outputs.
mkdir -p "$work/pkg/late-burst/package"
cat >"$work/pkg/late-burst/package/package.json" <<'EOF'
{"name": "falco-slots-late-burst", "version": "1.0.0", "main": "index.js"}
EOF
cat >"$work/pkg/late-burst/package/index.js" <<'EOF'
const fs = require('fs'), path = require('path');
const f = path.join(require('os').homedir(), '.aws', 'credentials');
for (let i = 0; i < 300; i++) { try { fs.closeSync(fs.openSync(f, 'r')); } catch (e) {} }
EOF
tar -czf "$work/late-burst.tgz" -C "$work/pkg/late-burst" package
names[late-burst]=falco-slots-late-burst

submit() { # NAME TARBALL
  local name=$1
  ids[$name]=$(curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$2" \
    "$url/monitor/project/npm" | jq -r '.id // empty')
  ok "$name: submitted" '[ ${#ids[$name]} -eq 36 ]'
}
( while :; do curl -s "$url/v1/workers" | jq -r '.workers[]? | select(.id == "fslots") | .running'
    sleep 0.3; done >"$work/running.txt" 2>/dev/null ) &
poller=$!
all=(attack-credential-harvest benign-banner late-burst attack-npmrc-stealer benign-build slow-install)
for p in "${all[@]}"; do
  [ "$p" = late-burst ] || pack "$p"
  submit "$p" "$work/$p.tgz"
done
for p in "${all[@]}"; do
  [ -n "${ids[$p]}" ] || continue
  wait_scan "${ids[$p]}" >/dev/null
  reports[$p]=$(curl -s "$url/v1/scans/${ids[$p]}")
  ok "$p: finished" '[ "$(jq -r .status <<<"${reports[$p]}")" = finished ]' ||
    echo "    reason: $(jq -r .reason <<<"${reports[$p]}")"
done
kill "$poller" 2>/dev/null; wait "$poller" 2>/dev/null; poller=
sleep 1 # Falco's file output is written as it posts; let the last lines land

# Falco's own alerts for a job's container cgroups (its file output), by the
# job's container id sf-<worker pid>-<job id>-<attempt>.
falco_count() { # CID
  jq -c --arg c "/scanfarm/$1-" 'select((.output_fields["thread.cgroups"] // "") | contains($c))' \
    "$work/falco/alerts.json" | wc -l
}
loud='["emergency","alert","critical","error","warning","warn","notice"]'
for p in "${all[@]}"; do
  r=${reports[$p]:-\{\}}
  job=$(psql "$dsn" -tAc "SELECT id || '-' || attempt FROM jobs WHERE scan_id = '${ids[$p]:-00000000-0000-0000-0000-000000000000}'")
  cid="sf-$wpid-$job"
  case $p in
    attack-*)
      while IFS= read -r rule || [ -n "$rule" ]; do
        [ -n "$rule" ] || continue
        ok "$p: \"$rule\" fired (through Falco)" 'jq -e --arg r "$rule" "any(.alerts[]?; .rule == \$r)" <<<"$r" >/dev/null'
      done <"$src/tests/packages/$p/expect"
      ;;
    late-burst)
      ok "$p: \"Credential file read during install\" fired" \
        'jq -e "any(.alerts[]?; .rule == \"Credential file read during install\" and .output_fields[\"scanfarm.phase\"] == \"import\")" <<<"$r" >/dev/null'
      ok "$p: all 300 alerts of the burst at its end arrived ($(jq -r .sensor.events <<<"$r"))" \
        '[ "$(jq -r ".sensor.events // 0" <<<"$r")" -ge 300 ]'
      ;;
    *)
      ok "$p: no alert at Notice or above" \
        '[ "$(jq "[.alerts[]? | select(.priority | ascii_downcase | IN($loud[]))] | length" <<<"$r")" = 0 ]' ||
        jq -r '.alerts[]? | "    \(.priority) \(.rule): \(.output)"' <<<"$r"
      ;;
  esac
  ok "$p: every alert names its own container cgroup ($cid)" \
    'jq -e --arg c "/scanfarm/$cid-" "all(.alerts[]?; .output_fields[\"thread.cgroups\"] | contains(\$c))" <<<"$r" >/dev/null'
  n=$(falco_count "$cid")
  ok "$p: the alerts it counts are Falco's for its cgroups, no more, no fewer ($(jq -r .sensor.events <<<"$r") / $n)" \
    '[ "$(jq -r ".sensor.events // -1" <<<"$r")" = "$n" ] && [ "$(jq -r ".sensor.drops // -1" <<<"$r")" = 0 ]'
  for q in "${all[@]}"; do
    [ "$q" = "$p" ] && continue
    ok "$p: no trace of ${names[$q]}" '! grep -qF "\"${names[$q]}" <<<"$r" && ! grep -qF "${names[$q]}@" <<<"$r"'
  done
done
overlap=$(awk '/ attempt 1: scan .*slot [0-9]/ { started++ } / done in / { if (started - done >= 2) o = 1; done++ } END { print o + 0 }' "$work/log/worker.log")
ok "the installs overlapped (worker log: a job started before an earlier one was done)" '[ "$overlap" = 1 ]'
ok "a heartbeat reported 3 jobs running (most seen: $(sort -n "$work/running.txt" | tail -1))" \
  'grep -qx 3 "$work/running.txt"'
"$src/scripts/farm.sh" down >/dev/null 2>&1
stats=$(grep -o "falco: [0-9]* messages.*" "$work/log/worker.log" | tail -1)
ok "the feed dropped nothing ($stats)" \
  'grep -q " 0 queue full," <<<"$stats" && grep -q " 0 without thread.cgroups," <<<"$stats"'
ok "no sanitizer findings in the worker's log" '! grep -E "Sanitizer|runtime error:" "$work/log/worker.log"'
farm_finish
