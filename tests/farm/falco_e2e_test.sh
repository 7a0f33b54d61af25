#!/usr/bin/env bash
# falco_e2e_test — `--sensor falco-grpc` or `--sensor falco-json` end to end
# with a real Falco (modern eBPF, the shipped rules and Falco configuration;
# grpc: gRPC outputs on a unix socket, the worker subscribed to
# falco.outputs.service/sub; json: http_output posting to the worker): a
# whole farm scans a harmless attack simulation and a benign package; the
# attack's alerts arrive in the scan's report through Falco, matched to the
# job by its container cgroup and attributed to the package and phase. Then
# Falco is restarted while a scan runs: that scan fails saying alerts may be
# missing (it must not read clean), the worker carries on by itself
# (resubscribing, for gRPC) and the next scan gets its alerts. Last, a
# second worker shares the machine's Falco: the first reads it and relays
# the second's alerts; killed, the second takes over.
#   falco_e2e_test.sh grpc|json SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
. "$(dirname "$0")/falcolib.sh"
kind=$1
shift
src=$1
falco_locate
farm_init "falco_$kind" "$1" "$2" "$3"
w2=
trap '[ -n "$w2" ] && kill "$w2" 2>/dev/null; falco_stop; farm_cleanup' EXIT
falco_configure "$kind"
falco_start
falco_wait_ready || exit 1
[ "$kind" = grpc ] && ok "Falco serves gRPC on its unix socket" '[ -S "$falco_socket" ]'
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }

# pack NAME: tests/packages/NAME as `npm pack` lays it out → $work/NAME.tgz,
# an attack simulation armed (it acts only then)
pack() {
  mkdir -p "$work/pkg/$1" && cp -R "$src/tests/packages/$1" "$work/pkg/$1/package"
  rm -f "$work/pkg/$1/package/expect"
  case $1 in attack-*) arm "$work/pkg/$1/package" ;; esac
  tar -czf "$work/$1.tgz" -C "$work/pkg/$1" package
}
submit() { # FILE [QUERY] → scan id
  curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$1" \
    "$url/monitor/project/npm${2:-}" | jq -r '.id // empty'
}
# ok, and tell whether it passed (farmlib's ok always returns 0).
check() { local before=$failed; ok "$@"; [ "$failed" = "$before" ]; }
fired_all() { # REPORT PACKAGE: every rule in the package's expect file is among the alerts
  local r
  while IFS= read -r r; do
    [ -z "$r" ] || jq -e --arg r "$r" 'any(.alerts[]; .rule == $r)' <<<"$1" >/dev/null ||
      { echo "    did not fire: $r"; return 1; }
  done <"$src/tests/packages/$2/expect"
}
pack attack-credential-harvest
pack benign-banner
pack slow-install

id=$(submit "$work/attack-credential-harvest.tgz")
ph=$(wait_scan "$id")
report=$(curl -s "$url/v1/scans/$id")
check "attack scan finished" '[ "$(jq -r .status <<<"$report")" = finished ]' ||
  jq -r .reason <<<"$report"
ok "the worker says its sensor is falco-$kind" \
  'curl -s "$url/v1/workers" | grep -q "\"sensor\": *\"falco-$kind\""'
cred='any(.alerts[]; .rule == "Credential file read during install")'
ok "Falco's alert arrived in the report" 'jq -e "$cred" <<<"$report" >/dev/null'
ok "every expected rule fired (through Falco)" 'fired_all "$report" attack-credential-harvest'
a=$(jq -c '[.alerts[] | select(.rule == "Credential file read during install")][0]' <<<"$report")
ok "matched by the job's container cgroup" \
  'jq -e ".output_fields[\"thread.cgroups\"] | test(\"=/scanfarm/sf-[0-9]+-[0-9]+-1-install\")" <<<"$a" >/dev/null'
ok "attributed to the package" \
  '[ "$(jq -r ".output_fields[\"scanfarm.package\"]" <<<"$a")" = scanfarm-test-attack-credential-harvest@1.0.0 ]'
ok "and to the install phase" '[ "$(jq -r ".output_fields[\"scanfarm.phase\"]" <<<"$a")" = install ]'
ok "Falco's output text is kept" 'jq -e ".output | test(\"^Credential file opened by install\")" <<<"$a" >/dev/null'
ok "the Package Hunter view has it too" 'jq -e "any(.result[]; .rule == \"Credential file read during install\")" <<<"$ph" >/dev/null'
ok "pulses came back through Falco" 'grep -q "scanfarm falco pulse" "$work/falco/alerts.json"'

id=$(submit "$work/benign-banner.tgz")
wait_scan "$id" >/dev/null
report=$(curl -s "$url/v1/scans/$id")
ok "benign scan finished" '[ "$(jq -r .status <<<"$report")" = finished ]'
loud='["Emergency","Alert","Critical","Error","Warning","Notice"]'
check "benign package: nothing at Notice or above" \
  '[ "$(jq --argjson l "$loud" "[.alerts[] | select(.priority as \$p | \$l | index(\$p))] | length" <<<"$report")" = 0 ]' ||
  jq -r '.alerts[] | "    \(.priority) \(.rule): \(.output)"' <<<"$report"

# --- Falco restarts while a scan runs
id=$(submit "$work/slow-install.tgz")
for _ in $(seq 1 150); do
  [ "$(curl -s "$url/v1/scans/$id" | jq -r .status)" = running ] && grep -q "installing in" "$work/log/worker.log" && break
  sleep 0.2
done
sleep 1
falco_stop
sleep 2
falco_start
falco_wait_ready || exit 1
wait_scan "$id" >/dev/null
report=$(curl -s "$url/v1/scans/$id")
ok "the scan Falco restarted under does not read clean" '[ "$(jq -r .status <<<"$report")" = failed ]'
check "its reason says alerts may be missing" 'jq -r .reason <<<"$report" | grep -q "alerts of the install may be missing"' ||
  jq -r .reason <<<"$report"
ok "the worker is still up" 'kill -0 "$(cat "$work/run/worker.pid")"'
id=$(submit "$work/attack-credential-harvest.tgz" "?rescan=1")
wait_scan "$id" >/dev/null
report=$(curl -s "$url/v1/scans/$id")
check "after the restart the next scan finishes" '[ "$(jq -r .status <<<"$report")" = finished ]' ||
  jq -r .reason <<<"$report"
ok "and its alerts arrive" 'jq -e "$cred" <<<"$report" >/dev/null'
if [ "$kind" = grpc ]; then
  ok "the worker logged the broken subscription" 'grep -q "falco-grpc: .*subscription ended" "$work/log/worker.log"'
else
  ok "Falco posted to the worker" 'grep -q "falco-json: receiving" "$work/log/worker.log"'
fi
ok "the worker noticed the lost pulses" 'grep -q "falco: pulses missing\|falco: Falco restarted" "$work/log/worker.log"'

# --- two workers, one Falco
"$build/worker/scanfarm-worker" --worker-id second-worker --work-dir "$work/w2" \
  --rootfs "$src/var/rootfs" --jobs-url "tcp://127.0.0.1:$((port + 1))" \
  --results-url "tcp://127.0.0.1:$((port + 2))" >"$work/w2.log" 2>&1 &
w2=$!
for _ in $(seq 1 100); do grep -q ' ready: ' "$work/w2.log" && break; sleep 0.1; done
ok "a second worker shares the machine's Falco (the first reads it)" \
  'grep -q "another worker on this machine reads Falco" "$work/w2.log"'
pack attack-npmrc-stealer
ida=$(submit "$work/attack-npmrc-stealer.tgz")
idb=$(submit "$work/attack-credential-harvest.tgz" "?rescan=1")
wait_scan "$ida" >/dev/null
wait_scan "$idb" >/dev/null
ra=$(curl -s "$url/v1/scans/$ida") rb=$(curl -s "$url/v1/scans/$idb")
ok "both scans finished" '[ "$(jq -r .status <<<"$ra")" = finished ] && [ "$(jq -r .status <<<"$rb")" = finished ]'
ok "one ran on each worker" '[ "$(jq -r "[.job.worker_id] | .[0]" <<<"$ra")" != "$(jq -r "[.job.worker_id] | .[0]" <<<"$rb")" ]' ||
  echo "    workers: $(jq -r .job.worker_id <<<"$ra") $(jq -r .job.worker_id <<<"$rb")"
ok "each got its alerts through Falco" 'fired_all "$ra" attack-npmrc-stealer && fired_all "$rb" attack-credential-harvest'
kill -9 "$(cat "$work/run/worker.pid")"
for _ in $(seq 1 50); do grep -q "now reads Falco for the machine" "$work/w2.log" && break; sleep 0.2; done
ok "the reader killed, the second worker takes over" 'grep -q "now reads Falco for the machine" "$work/w2.log"'
id=$(submit "$work/attack-credential-harvest.tgz" "?rescan=1")
wait_scan "$id" >/dev/null
report=$(curl -s "$url/v1/scans/$id")
check "its next scan finishes" '[ "$(jq -r .status <<<"$report")" = finished ]' || jq -r .reason <<<"$report"
ok "with its alerts" 'fired_all "$report" attack-credential-harvest'
kill "$w2" && wait "$w2"
w2=
"$src/scripts/farm.sh" down >/dev/null 2>&1
ok "no sanitizer findings in the workers' logs" '! grep -E "Sanitizer|runtime error:" "$work/log/"*.log "$work/w2.log"'
farm_finish
