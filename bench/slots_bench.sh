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
# CPU time is printed too, per scan, since other work on a shared machine
# moves the wall-clock figure far more than it moves CPU time: the worker
# runs in a cgroup of its own (scanfarm/bench-worker-PID on the cgroup v2
# hierarchy), so its cpu.stat counts the worker process (its threads: the
# sensor's records, the rules, unpacking, hashing) and every helper it
# starts (mkfs, mount, the runtime's create/start/delete, tinyproxy), but
# not the containers, whose processes the runtime moves into their own
# cgroups; the phases' CPU is the sum of what the worker log says each
# container used. From the total a scans/hour *projection* follows:
# cores × 3600 / CPU-s per scan, what the cores would give if they did
# nothing else (the coordinator, PostgreSQL and this script's polling are
# not counted in it).
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
# the worker's own cgroup (v2: the unified hierarchy of a hybrid host, or the root)
cg2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
wcg=${cg2:+$cg2/scanfarm/bench-worker-$$}
cleanup() {
  set +e
  [ -n "$wpid" ] && kill "$wpid" 2>/dev/null && wait "$wpid" 2>/dev/null
  SCANFARM_VAR=$work/farm "$top/scripts/farm.sh" down >/dev/null 2>&1
  awk -v w="$work/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
  # the worker's last helpers may take a moment to leave its cgroup
  for _ in 1 2 3 4 5 6 7 8 9 10; do [ -z "$wcg" ] || [ ! -d "$wcg" ] || rmdir "$wcg" 2>/dev/null && break; sleep 0.2; done
  [ -n "${SCANFARM_BENCH_KEEP_LOG:-}" ] && cp "$work/worker.log" "$SCANFARM_BENCH_KEEP_LOG"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

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
  [ -n "$wcg" ] && mkdir -p "$wcg"
  # the worker joins its cgroup before it execs
  sh -c 'if [ -n "$1" ]; then echo $$ >"$1/cgroup.procs" || exit 1; fi; shift; exec "$@"' sh "$wcg" \
  "$build/worker/scanfarm-worker" --worker-id "bench-$1" --capacity "$1" --work-dir "$work/w" \
    --rootfs "$SCANFARM_ROOTFS" --rules "$SCANFARM_RULES" \
    --jobs-url "tcp://127.0.0.1:$((port + 1))" --results-url "tcp://127.0.0.1:$((port + 2))" \
    >"$work/worker.log" 2>&1 &
  wpid=$!
  for _ in $(seq 1 100); do grep -q " ready: " "$work/worker.log" && return; sleep 0.1; done
  echo "the worker did not start:" >&2; tail -n 20 "$work/worker.log" >&2; exit 1
}
stop_worker() { kill -TERM "$wpid"; wait "$wpid" 2>/dev/null || true; wpid=; }

# CPU-seconds so far: the worker cgroup's (everything but the containers)
# and the worker process's own (user + system, all its threads).
cg_cpu() { [ -n "$wcg" ] && awk '$1 == "usage_usec" {printf "%.3f\n", $2 / 1e6}' "$wcg/cpu.stat" || echo 0; }
self_cpu() { awk -v t="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); printf "%.3f\n", ($12 + $13) / t}' "/proc/$wpid/stat"; }
# the containers' CPU-seconds, from the worker log's "… ms CPU" per phase
phase_cpu() { grep -o ' [0-9]* ms CPU' "$work/worker.log" | awk '{s += $1} END {printf "%.3f\n", s / 1000}'; }

now() { date +%s.%N; }
round() { # CAPACITY → "seconds worker-cgroup-cpu worker-self-cpu phase-cpu" for SCANS scans
  start_worker "$1"
  local ids=() t0 id st i c0 s0
  c0=$(cg_cpu) s0=$(self_cpu)
  t0=$(now)
  # submissions and polling kept cheap (no jq, one request per poll for
  # all the round's scans): they share the cores with the worker
  for i in $(seq 0 $((scans - 1))); do
    st=$(curl -fsS -H 'Content-Type: application/octet-stream' \
      --data-binary @"${tarballs[$((i % ${#tarballs[@]}))]}" "$url/v1/scans?rescan=1")
    [[ $st =~ \"id\":\"([^\"]+)\" ]] || { echo "submission refused: $st" >&2; stop_worker; exit 1; }
    ids+=("${BASH_REMATCH[1]}")
  done
  # a scan goes queued → running → finished|failed: none queued, then none
  # running, means all have ended
  for _ in $(seq 1 3000); do
    case $(curl -fsS "$url/v1/scans?status=queued&limit=1") in *'"scans":[]'*)
      case $(curl -fsS "$url/v1/scans?status=running&limit=1") in *'"scans":[]'*) break ;; esac ;;
    esac
    sleep 0.2
  done
  local t1 c1 s1
  t1=$(now) c1=$(cg_cpu) s1=$(self_cpu)
  for id in "${ids[@]}"; do
    st=$(curl -fsS "$url/v1/scans/$id" | jq -r .status)
    [ "$st" = finished ] || { echo "scan $id $st: $(curl -fsS "$url/v1/scans/$id" | jq -r .reason)" >&2; stop_worker; exit 1; }
  done
  stop_worker
  awk -v a="$t1" -v b="$t0" -v c0="$c0" -v c1="$c1" -v s0="$s0" -v s1="$s1" -v p="$(phase_cpu)" \
    'BEGIN {printf "%.3f %.3f %.3f %.3f\n", a - b, c1 - c0, s1 - s0, p}'
}

(round 1 >/dev/null) # warm-up: page cache, first containers, the rootfs image
declare -A secs wcpu scpu pcpu
order=($caps $(printf '%s\n' $caps | tac))
for c in "${order[@]}"; do
  read -r s w o p < <(round "$c") || true
  [ -n "${p:-}" ] || { echo "round with capacity $c did not complete" >&2; exit 1; }
  secs[$c]=$(awk -v a="${secs[$c]:-0}" -v b="$s" 'BEGIN {print a + b}')
  wcpu[$c]=$(awk -v a="${wcpu[$c]:-0}" -v b="$w" 'BEGIN {print a + b}')
  scpu[$c]=$(awk -v a="${scpu[$c]:-0}" -v b="$o" 'BEGIN {print a + b}')
  pcpu[$c]=$(awk -v a="${pcpu[$c]:-0}" -v b="$p" 'BEGIN {print a + b}')
  awk -v c="$c" -v n="$scans" -v s="$s" -v w="$w" -v o="$o" -v p="$p" 'BEGIN {
    printf "  round: capacity %d, %d scans in %s s; CPU-s per scan %.3f (worker %.3f, its helpers %.3f, containers %.3f)\n",
      c, n, s, (w + p) / n, o / n, (w - o) / n, p / n }' >&2
done
names=$(for t in "${tarballs[@]}"; do basename "$t" .tgz; done | paste -sd, -)
echo "small scans ($names), $scans per round, rounds ${order[*]}; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
base=$(awk -v s="${secs[1]}" -v n="$scans" 'BEGIN {print 2 * n * 3600 / s}')
for c in $caps; do
  awk -v c="$c" -v s="${secs[$c]}" -v n="$scans" -v b="$base" 'BEGIN {
    r = 2 * n * 3600 / s
    printf "  capacity %d: %7.0f scans/h   ratio to capacity 1 %.2f\n", c, r, r / b }'
done
echo "CPU per scan (worker cgroup + containers; cores $(nproc)):"
for c in $caps; do
  awk -v c="$c" -v n="$((2 * scans))" -v w="${wcpu[$c]}" -v o="${scpu[$c]}" -v p="${pcpu[$c]}" -v k="$(nproc)" 'BEGIN {
    t = (w + p) / n
    printf "  capacity %d: %.3f CPU-s per scan (worker process %.3f, its helpers %.3f, containers %.3f); projection %.0f scans/h\n",
      c, t, o / n, (w - o) / n, p / n, k * 3600 / t }'
done
