#!/usr/bin/env bash
# detect_test — the detection content end to end: a whole farm (PostgreSQL,
# coordinator, worker with the eBPF sensor and the rule engine loading
# rules/) scans every test package under tests/packages/attack-* and
# benign-*, packed as `npm pack` packs them, and checks each report:
#   attack-*  every rule named in the package's `expect` file (one per line)
#             fired: each package simulates a real npm supply-chain attack,
#             harmlessly (see its scripts);
#   benign-*  no alert at Notice or above (their `expect` files are empty),
#             and samples/hello-npm (the README's sample) likewise;
#   all       the install exited 0, the sensor saw events and dropped none.
# Failures print what did fire, which is what tuning rules/ needs.
#   detect_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
[ -x "$2/worker/scanfarm-rules" ] || { echo "SKIP: rule engine not built ($2/worker/scanfarm-rules)"; exit 77; }
farm_init detect "$1" "$2" "$3"
sink=
trap '[ -n "$sink" ] && kill "$sink" 2>/dev/null; farm_cleanup' EXIT
export SCANFARM_RULES=$src/rules
# Alert fan-out: the coordinator posts every alert as Falco JSON to a local
# sink, which refuses the first two deliveries (the webhook retries).
sink_port=$((port + 3))
"$build/tests/webhook_sink" "$sink_port" "$work/webhook.jsonl" 2 &
sink=$!
export SCANFARM_WEBHOOK_URL=http://127.0.0.1:$sink_port/falco
# ok, and tell whether it passed (farmlib's ok always returns 0).
check() { local before=$failed; ok "$@"; [ "$failed" = "$before" ]; }

ok "rules/ passes scanfarm-rules check" '"$build/worker/scanfarm-rules" check "$src/rules" >"$work/check.out" 2>&1 || { cat "$work/check.out"; false; }'
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }

pkgs=()
for d in "$src"/tests/packages/attack-* "$src"/tests/packages/benign-*; do
  [ -f "$d/package.json" ] && [ -f "$d/expect" ] && pkgs+=("$(basename "$d")")
done
# The README's sample is benign too, and other farm tests (auth_test's CLI
# exit status) count on it raising nothing at Notice or above.
pkgs+=(sample-hello-npm)
pkgdir() { case $1 in sample-*) echo "$src/samples/${1#sample-}" ;; *) echo "$src/tests/packages/$1" ;; esac; }
ok "attack and benign packages found (${#pkgs[@]})" '[ ${#pkgs[@]} -ge 2 ]'

# Submit everything first: the worker installs them one after another while
# we wait, so the whole run costs about one install per package.
declare -A ids reports
for p in "${pkgs[@]}"; do
  mkdir -p "$work/pkg/$p"
  cp -R "$(pkgdir "$p")" "$work/pkg/$p/package"
  rm -f "$work/pkg/$p/package/expect"
  arm "$work/pkg/$p/package"
  tar -czf "$work/$p.tgz" -C "$work/pkg/$p" package
  reply=$(curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$work/$p.tgz" \
    "$url/monitor/project/npm")
  ids[$p]=$(jq -r '.id // empty' <<<"$reply")
  ok "$p: submitted" '[ ${#ids[$p]} -eq 36 ]'
done

# Priorities at which a benign package must raise nothing.
loud='["emergency","alert","critical","error","warning","warn","notice"]'
show_alerts() { # report [jq filter on .alerts[]]
  jq -r "[.alerts[]? | ${2:-.}] | .[] | \"    \\(.priority) \\(.rule): \\(.output)\"" <<<"$1"
}

for p in "${pkgs[@]}"; do
  id=${ids[$p]}
  [ -n "$id" ] || continue
  ph=$(wait_scan "$id")
  ok "$p: scan finished" '[ "$(jq -r .status <<<"$ph")" = finished ]'
  report=$(curl -s "$url/v1/scans/$id")
  check "$p: install exited 0" '[ "$(jq -r .install.exit_status <<<"$report")" = 0 ]' ||
    jq -r '"    stdout: \(.install.stdout_tail)\n    stderr: \(.install.stderr_tail)"' <<<"$report"
  ok "$p: sensor saw events" '[ "$(jq -r ".sensor.events // 0" <<<"$report")" -gt 0 ]'
  ok "$p: sensor dropped nothing" '[ "$(jq -r ".sensor.drops // -1" <<<"$report")" = 0 ]'
  reports[$p]=$report
  [ -n "${SF_DETECT_TEST_KEEP:-}" ] && echo "$report" >"$SF_DETECT_TEST_KEEP.$p.json"
  case $p in
    attack-*)
      missed=0
      while IFS= read -r rule || [ -n "$rule" ]; do
        [ -n "$rule" ] || continue
        check "$p: \"$rule\" fired" \
          'jq -e --arg r "$rule" "any(.alerts[]?; .rule == \$r)" <<<"$report" >/dev/null' || missed=1
      done <"$src/tests/packages/$p/expect"
      if [ "$missed" = 1 ]; then
        echo "    alerts $p raised:"
        show_alerts "$report"
        jq -r '"    stdout: \(.install.stdout_tail)"' <<<"$report"
      fi
      ;;
    benign-* | sample-*)
      filter="select(.priority | ascii_downcase | IN($loud[]))"
      n=$(jq "[.alerts[]? | $filter] | length" <<<"$report")
      check "$p: no alert at Notice or above" '[ "$n" = 0 ]' || show_alerts "$report" "$filter"
      ;;
  esac
done

# A broken rules file: the worker names file and line and refuses to start.
printf -- '- rule: broken\n  desc: x\n  condition: evt.type = open and (proc.name = x\n  output: x\n  priority: WARNING\n' >"$work/broken.yaml"
timeout 20 "$build/worker/scanfarm-worker" --rules "$work/broken.yaml" --work-dir "$work/wb" \
  --rootfs "$SCANFARM_ROOTFS" --jobs-url tcp://127.0.0.1:1 --results-url tcp://127.0.0.1:1 \
  >"$work/broken.out" 2>&1
brc=$?
ok "worker refuses to start on a broken rule file (exit $brc)" '[ "$brc" = 2 ]'
ok "the error names the file and line" 'grep -q "broken.yaml:3" "$work/broken.out" || { cat "$work/broken.out"; false; }'

# Facts: what the reports say the packages did, beyond the alerts.
fact() { # package jq-condition-on-.facts
  jq -e "$2" <<<"${reports[$1]:-{\}}" >/dev/null
}
true_sha=$(sha256sum "$src/var/rootfs/usr/bin/true" | cut -d' ' -f1)
ok "dropper: the dropped binary's SHA-256 is reported (a copy of /usr/bin/true)" \
  'fact attack-dropper ".facts.exec[] | select(.value == \"/tmp/jsextension\" and .detail == \"$true_sha\")"'
ok "dropper: files written outside the package are listed" \
  'fact attack-dropper ".facts.file_written[] | select(.value == \"/tmp/jsextension\")"'
# The install ran in the sinkhole network (the default): connections reach the
# sandbox's own sinkhole, which records what they carried (network_test.sh
# covers the offline network's failures).
ok "npmrc stealer: the connection is a fact, and the sinkhole got it with nothing sent" \
  'fact attack-npmrc-stealer ".facts.connect[] | select(.value == \"198.51.100.23:443/tcp\" and .detail == \"succeeded\")" &&
   fact attack-npmrc-stealer ".facts.tcp_data[] | select(.value == \"198.51.100.23:443/tcp\" and .detail == \"0 bytes\")"'
ok "reverse shell: the connection to 203.0.113.5:4444 is a fact" \
  'fact attack-reverse-shell ".facts.connect[] | select(.value == \"203.0.113.5:4444/tcp\")"'
ok "reverse shell: the sinkhole recorded what the shell sent it" \
  'fact attack-reverse-shell ".facts.tcp_data[] | select(.value == \"203.0.113.5:4444/tcp\" and (.detail | test(\"^[1-9][0-9]* bytes\")))"'
ok "dns beacon: the question is a fact" \
  'fact attack-dns-beacon ".facts.dns[] | select(.value | endswith(\"exfil-test.example\"))"'
ok "listener: the listening socket is a fact" \
  'fact attack-listener ".facts.listen | length > 0"'
ok "process tree: npm and the lifecycle script's shell, with command lines" \
  'fact benign-banner "[.facts.process[].detail] | (any(test(\"npm run-script --offline --ignore-scripts postinstall\")) and any(test(\"^ppid=1 sh -c\")))"'
ok "Package Hunter view carries the alerts in Falco's shape" \
  'curl -s "$url/?id=${ids[attack-dropper]}" | jq -e ".result | length > 0 and all(.[]; .rule and .output and .priority and .time.seconds and .source == \"SYSCALL\")" >/dev/null'

# Every stored alert reached the webhook once, as Falco JSON with the scan id.
stored=$(psql "$dsn" -tAc "SELECT count(*) FROM alerts")
for _ in $(seq 1 50); do
  [ "$(wc -l <"$work/webhook.jsonl")" -ge "$stored" ] && break; sleep 0.2
done
ok "webhook: every alert delivered once ($(wc -l <"$work/webhook.jsonl") of $stored)" \
  '[ "$(wc -l <"$work/webhook.jsonl")" = "$stored" ] && [ "$stored" -gt 0 ]'
ok "webhook: Falco's http_output shape" \
  'jq -e -s "all(.[]; (.time | test(\"^[0-9-]+T[0-9:.]+Z$\")) and .rule and .priority and .output and .source == \"syscall\" and (.tags | type) == \"array\" and (.output_fields | type) == \"object\")" "$work/webhook.jsonl" >/dev/null'
ok "webhook: alerts carry their scan id" \
  'jq -e -s --arg id "${ids[attack-npmrc-stealer]}" "any(.[]; .rule == \"Read npm credentials file\" and .output_fields[\"scanfarm.scan_id\"] == \$id)" "$work/webhook.jsonl" >/dev/null'
ok "webhook: deliveries counted, none lost" \
  'curl -s "$url/metrics" | grep "^scanfarm_webhook_alerts_total{outcome=\"sent\"} $stored$" >/dev/null && curl -s "$url/metrics" | grep "^scanfarm_webhook_alerts_total{outcome=\"failed\"} 0$" >/dev/null'

# The worker ran the sensor, observe and the rule engine on every event above:
# under the sanitizer build, its log must be clean.
"$src/scripts/farm.sh" down >/dev/null 2>&1
ok "no sanitizer findings in the daemons' logs" '! grep -E "Sanitizer|runtime error:" "$work/log/"*.log'

farm_finish
