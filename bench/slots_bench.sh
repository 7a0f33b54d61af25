#!/usr/bin/env bash
# slots_bench — scans per hour of small npm packages on one worker process with
# N slots (--capacity N) against one slot, in the same run. One farm (its own
# PostgreSQL, a coordinator); for each round a worker with the eBPF sensor,
# rules/ and the sinkhole network is started with --capacity N, SCANS scans of
# small packages are submitted at once (rescan=1: the verdict cache answers
# none of them), and the time from the first submission to the last finished
# report gives scans/hour. Rounds go 1, 2, 3, 3, 2, 1 (ABBA) so that neither
# end of the run favours a capacity; each capacity's figure is the sum of its
# two rounds. Printed: scans/hour per capacity and the ratio to capacity 1.
#
# The packages: tests/packages/benign-banner (one postinstall) and, when the
# npm registry is reachable, the tarballs `npm pack` fetches for a few small
# real packages (no dependencies), taken in turn.
#   bench/slots_bench.sh BUILD_DIR [SCANS] [CAPACITIES]    (default 30, "1 2 3")
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$1 scans=${2:-30} caps=${3:-1 2 3}
work=$(mktemp -d /var/tmp/sf-slots-bench-XXXXXX)
chmod 755 "$work"
wpid=
cleanup() {
  [ -n "$wpid" ] && kill "$wpid" 2>/dev/null && wait "$wpid" 2>/dev/null
  SCANFARM_VAR=$work/farm "$top/scripts/farm.sh" down >/dev/null 2>&1 || true
  awk -v w="$work/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/pkg" "$work/tgz"
cp -R "$top/tests/packages/benign-banner" "$work/pkg/package"
rm -f "$work/pkg/package/expect"
tar -czf "$work/tgz/benign-banner.tgz" -C "$work/pkg" package
for p in is-number@7.0.0 ms@2.1.3 escape-string-regexp@4.0.0 inherits@2.0.4; do
  (cd "$work/tgz" && timeout 30 npm pack --silent "$p" >/dev/null 2>&1) || true
done
tarballs=("$work"/tgz/*.tgz)

port=$((39000 + $$ % 4000))
export SCANFARM_VAR=$work/farm SCANFARM_BUILD=$build SCANFARM_SKIP_SETUP=1
export SCANFARM_HTTP_PORT=$port SCANFARM_JOBS_PORT=$((port + 1)) SCANFARM_RESULTS_PORT=$((port + 2))
export SCANFARM_ROOTFS=${SCANFARM_ROOTFS:-$top/var/rootfs.img} SCANFARM_RULES=$top/rules
"$top/scripts/farm.sh" up >/dev/null 2>&1 || { echo "the farm did not start"; exit 1; }
url=http://127.0.0.1:$port
# the rounds bring their own workers
farm_worker=$(cat "$work/farm/run/worker.pid")
kill -TERM "$farm_worker"
for _ in $(seq 1 100); do kill -0 "$farm_worker" 2>/dev/null || break; sleep 0.1; done

start_worker() { # CAPACITY
  : >"$work/worker.log"
  "$build/worker/scanfarm-worker" --worker-id "bench-$1" --capacity "$1" --work-dir "$work/w" \
    --rootfs "$SCANFARM_ROOTFS" --rules "$SCANFARM_RULES" \
    --jobs-url "tcp://127.0.0.1:$((port + 1))" --results-url "tcp://127.0.0.1:$((port + 2))" \
    >"$work/worker.log" 2>&1 &
  wpid=$!
  for _ in $(seq 1 100); do grep -q " ready: " "$work/worker.log" && return; sleep 0.1; done
  echo "the worker did not start:" >&2; tail -n 20 "$work/worker.log" >&2; exit 1
}
stop_worker() { kill -TERM "$wpid"; wait "$wpid" 2>/dev/null || true; wpid=; }

now() { date +%s.%N; }
round() { # CAPACITY → seconds for SCANS scans
  start_worker "$1"
  local ids=() t0 id st i
  t0=$(now)
  for i in $(seq 0 $((scans - 1))); do
    ids+=("$(curl -fsS -H 'Content-Type: application/octet-stream' \
      --data-binary @"${tarballs[$((i % ${#tarballs[@]}))]}" "$url/v1/scans?rescan=1" | jq -r .id)")
  done
  for id in "${ids[@]}"; do
    for _ in $(seq 1 6000); do
      st=$(curl -fsS "$url/v1/scans/$id" | jq -r .status)
      case $st in finished|failed) break ;; esac
      sleep 0.05
    done
    if [ "$st" != finished ]; then
      echo "scan $id $st: $(curl -fsS "$url/v1/scans/$id" | jq -r .reason)" >&2; exit 1
    fi
  done
  awk -v a="$(now)" -v b="$t0" 'BEGIN {printf "%.3f\n", a - b}'
  stop_worker
}

round 1 >/dev/null # warm-up: page cache, first containers, the rootfs image
declare -A secs
order=($caps $(printf '%s\n' $caps | tac))
for c in "${order[@]}"; do
  s=$(round "$c")
  secs[$c]=$(awk -v a="${secs[$c]:-0}" -v b="$s" 'BEGIN {print a + b}')
  echo "  round: capacity $c, $scans scans in $s s" >&2
done
names=$(for t in "${tarballs[@]}"; do basename "$t" .tgz; done | paste -sd, -)
echo "small scans ($names), $scans per round, rounds ${order[*]}; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
base=$(awk -v s="${secs[1]}" -v n="$scans" 'BEGIN {print 2 * n * 3600 / s}')
for c in $caps; do
  awk -v c="$c" -v s="${secs[$c]}" -v n="$scans" -v b="$base" 'BEGIN {
    r = 2 * n * 3600 / s
    printf "  capacity %d: %7.0f scans/h   ratio to capacity 1 %.2f\n", c, r, r / b }'
done
