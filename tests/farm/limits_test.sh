#!/usr/bin/env bash
# limits_test — the sandbox's limits hold in real scans and a scan that
# reached one fails with it as the reason, in words, never a plain finish,
# keeping the alerts collected until then. A whole farm (PostgreSQL,
# coordinator, worker with the eBPF sensor) with small limits scans
# tests/packages/limit-* and noisy-output:
#   disk     3,000 MiB written into the package's directory (and /tmp) stop
#            at job-disk-mb (1024): "disk limit 1024 MiB reached"
#   memory   "memory limit 384 MiB reached", the CLI exits non-zero
#   pids     a fork bomb: "process limit 96 reached"
#   CPU      a minute of spinning: "CPU time limit 6 s reached"
#   wall     a script that never ends: "timeout after 25 s"
#   output   300 MiB on stdout: "output limit 32 MiB reached"
# and a detached process left by an install acts in the grace period, is
# reported (alert and fact) and killed. A benign package still finishes
# clean under the same limits.
#   limits_test.sh SOURCE_DIR BUILD_DIR DSN_FILE
set -uo pipefail
. "$(dirname "$0")/farmlib.sh"
farm_init limits "$1" "$2" "$3"
trap 'farm_cleanup' EXIT
export SCANFARM_RULES=$src/rules
export SCANFARM_JOB_TIME_LIMIT=25 SCANFARM_JOB_MEMORY_MB=384 SCANFARM_JOB_PIDS=96
export SCANFARM_JOB_DISK_MB=1024 SCANFARM_CPU_LIMIT=6 SCANFARM_OUTPUT_LIMIT_MB=32
export SCANFARM_GRACE=3
"$src/scripts/farm.sh" up || { echo "FAIL - farm did not start"; exit 1; }

pkgs=(limit-disk-fill limit-memory limit-pids limit-cpu limit-timeout noisy-output
      attack-detached benign-banner)
declare -A ids
for p in "${pkgs[@]}"; do
  mkdir -p "$work/pkg/$p"
  cp -R "$src/tests/packages/$p" "$work/pkg/$p/package"
  rm -f "$work/pkg/$p/package/expect"
  tar -czf "$work/$p.tgz" -C "$work/pkg/$p" package
  ids[$p]=$(curl -s -H 'Content-Type: application/octet-stream' --data-binary @"$work/$p.tgz" \
    "$url/monitor/project/npm" | jq -r '.id // empty')
done
for p in "${pkgs[@]}"; do
  wait_scan "${ids[$p]}" >/dev/null
done
report() { curl -s "$url/v1/scans/${ids[$1]}"; }
reason() { jq -r '.reason // ""' <<<"$1"; }
has_alert() { jq -e --arg r "$2" '[.alerts[].rule] | index($r) != null' <<<"$1" >/dev/null; }
# the scan failed with exactly this reason (the install phase's limit)
failed_with() { [ "$(jq -r .status <<<"$1")" = failed ] && [ "$(reason "$1")" = "$2" ]; }
# the limit named among the reasons (a slow disk may meet the wall-time limit too)
failed_naming() { [ "$(jq -r .status <<<"$1")" = failed ] && grep -qF "$2" <<<"$(reason "$1")"; }

r=$(report limit-disk-fill)
ok "disk: failed, the limit is the reason ($(reason "$r"))" \
  'failed_naming "$r" "disk limit 1024 MiB reached in the install phase"'
out=$(jq -r .install.stdout_tail <<<"$r")
written=$(sed -n 's/^limit-disk-fill: wrote \([0-9]*\) MiB to the package, \([0-9]*\) MiB to \/tmp$/\1 \2/p' <<<"$out")
ok "disk: the write stopped at the limit with ENOSPC ($written MiB in the package, then /tmp)" \
  'grep -q "fill.bin: ENOSPC after" <<<"$out" && grep -q "/tmp/fill.bin: ENOSPC after" <<<"$out" &&
   [ "${written%% *}" -le 1024 ] && [ "${written%% *}" -ge 900 ] && [ "$(( ${written%% *} + ${written##* } ))" -le 1024 ]'
ok "disk: the alert collected before the limit is kept" 'has_alert "$r" "Outbound connection attempt"'
ok "disk: Package Hunter's view says error with the reason" \
  'ph=$(curl -s "$url/?id=${ids[limit-disk-fill]}"); [ "$(jq -r .status <<<"$ph")" = error ] &&
   jq -r .reason <<<"$ph" | grep -qF "disk limit 1024 MiB reached in the install phase"'

r=$(report limit-memory)
ok "memory: failed, the limit is the reason ($(reason "$r"))" \
  'failed_with "$r" "memory limit 384 MiB reached in the install phase"'
ok "memory: the alert collected before the limit is kept" 'has_alert "$r" "Outbound connection attempt"'
"$build/cli/scanfarm" --server "$url" status "${ids[limit-memory]}" >/dev/null 2>&1
"$build/cli/scanfarm" --server "$url" scan "$work/limit-memory.tgz" >"$work/cli.json" 2>"$work/cli.err"
cli_rc=$?
ok "memory: the CLI exits non-zero ($cli_rc) and says why ($(tail -n1 "$work/cli.err"))" \
  '[ "$cli_rc" -ne 0 ] && grep -q "memory limit 384 MiB reached" "$work/cli.err"'

r=$(report limit-pids)
ok "pids: failed, the limit is the reason ($(reason "$r"))" \
  'failed_with "$r" "process limit 96 reached in the install phase"'

r=$(report limit-cpu)
ok "CPU: failed, the limit is the reason ($(reason "$r"))" \
  'failed_with "$r" "CPU time limit 6 s reached in the install phase"'

r=$(report limit-timeout)
ok "wall time: failed, the limit is the reason ($(reason "$r"))" \
  'failed_with "$r" "timeout after 25 s in the install phase"'
ok "wall time: the install phase says it timed out" '[ "$(jq -r ".phases[1].timed_out" <<<"$r")" = true ]'

r=$(report noisy-output)
ok "output: failed, the limit is the reason ($(reason "$r"))" \
  'failed_with "$r" "output limit 32 MiB reached in the install phase"'

r=$(report attack-detached)
ok "detached process: the scan finished (a leftover is no limit: $(jq -r '.status + " " + (.reason // "")' <<<"$r"))" \
  '[ "$(jq -r .status <<<"$r")" = finished ]'
ok "detached process: reported as left running after install" \
  'jq -e "[.alerts[] | select(.rule == \"Process left running after install\" and .output_fields[\"scanfarm.phase\"] == \"install\" and (.output | contains(\"stage2.js\")))] | length == 1" <<<"$r" >/dev/null'
ok "detached process: it acted in the grace, watched (its connection attempt)" \
  'jq -e "[.alerts[] | select(.rule == \"Outbound connection attempt\" and (.output | contains(\"198.51.100.9\")) and (.output | contains(\"stage2.js\")))] | length == 1" <<<"$r" >/dev/null &&
   jq -e ".facts.file_written[] | select(.value == \"/tmp/.stage2-was-here\")" <<<"$r" >/dev/null'
ok "detached process: a left_running fact, killed when the grace was over" \
  'jq -e ".facts.left_running[] | select((.value | endswith(\"stage2.js\")) and (.detail | endswith(\"killed by signal 9\")) and .phase == \"install\")" <<<"$r" >/dev/null'

r=$(report benign-banner)
ok "benign package under the same limits: finished ($(jq -r '.status + " " + (.reason // "")' <<<"$r"))" \
  '[ "$(jq -r .status <<<"$r")" = finished ] && [ "$(jq -r .install.exit_status <<<"$r")" = 0 ]'
ok "no job left a mount or a disk behind" \
  'eventually "! grep -q \"$work/worker/jobs\" /proc/mounts && [ -z \"\$(ls \"$work/worker/jobs\" 2>/dev/null)\" ]"'
grep ' phase (' "$work/log/worker.log" | sed 's/^/    /'

farm_finish
