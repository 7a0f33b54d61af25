#!/usr/bin/env bash
# network_bench — what the sinkhole network costs a small scan. The same small
# package (tests/packages/benign-banner: one postinstall, no network use) is
# scanned RUNS times in the sinkhole network and RUNS times offline,
# alternating, on one farm (its own PostgreSQL, coordinator, a worker with the
# eBPF sensor and rules/) in the same run. Printed: the medians of the scan's
# wall time (submit → finished report), of the worker's job time and of the
# install phase, and sinkhole / offline ratios. The baseline is offline. The
# order alternates (offline first, then sinkhole first) so that neither
# network always follows the other.
#   bench/network_bench.sh BUILD_DIR [RUNS]     (default 10)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$1 runs=${2:-10}
work=$(mktemp -d /var/tmp/sf-network-bench-XXXXXX)
chmod 755 "$work"
cleanup() {
  SCANFARM_VAR=$work/farm "$top/scripts/farm.sh" down >/dev/null 2>&1 || true
  awk -v w="$work/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/pkg"
cp -R "$top/tests/packages/benign-banner" "$work/pkg/package"
rm -f "$work/pkg/package/expect"
tar -czf "$work/small.tgz" -C "$work/pkg" package

port=$((35000 + $$ % 4000))
export SCANFARM_VAR=$work/farm SCANFARM_BUILD=$build SCANFARM_SKIP_SETUP=1
export SCANFARM_HTTP_PORT=$port SCANFARM_JOBS_PORT=$((port + 1)) SCANFARM_RESULTS_PORT=$((port + 2))
export SCANFARM_ROOTFS=${SCANFARM_ROOTFS:-$top/var/rootfs} SCANFARM_RULES=$top/rules
"$top/scripts/farm.sh" up >/dev/null 2>&1 || { echo "the farm did not start"; exit 1; }
url=http://127.0.0.1:$port

now() { date +%s.%N; }
scan() { # NETWORK → "wall job_ms install_ms"
  local t0 id st; t0=$(now)
  id=$(curl -fsS -H 'Content-Type: application/octet-stream' --data-binary @"$work/small.tgz" \
    "$url/v1/scans?network=$1&rescan=1" | jq -r .id)
  for _ in $(seq 1 3000); do
    st=$(curl -fsS "$url/v1/scans/$id" | jq -r .status)
    case $st in finished|failed) break ;; esac
    sleep 0.05
  done
  local wall; wall=$(awk -v a="$(now)" -v b="$t0" 'BEGIN {printf "%.3f", a - b}')
  curl -fsS "$url/v1/scans/$id" >"$work/report.json"
  if [ "$st" != finished ] || [ "$(jq -r .network "$work/report.json")" != "$1" ]; then
    echo "scan $st in $(jq -r .network "$work/report.json"): $(jq -r .reason "$work/report.json")" >&2
    exit 1
  fi
  echo "$wall $(jq -r '"\(.install.duration_ms) \(.phases[] | select(.name == "install") | .duration_ms)"' "$work/report.json")"
}
scan offline >/dev/null; scan sinkhole >/dev/null # warm-up: page cache, first containers
: >"$work/offline"; : >"$work/sinkhole"
for i in $(seq 1 "$runs"); do
  # ABBA: neither network always goes first
  if [ $((i % 2)) = 1 ]; then order="offline sinkhole"; else order="sinkhole offline"; fi
  for n in $order; do scan "$n" >>"$work/$n"; done
done
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
col() { awk -v c="$2" '{print $c}' "$work/$1" | median; }
echo "small scan (benign-banner: one postinstall, no network use), $runs runs each, alternating, medians; load $(cut -d' ' -f1-3 /proc/loadavg)"
for c in 1 2 3; do
  name=$(case $c in 1) echo "wall (submit → report)" ;; 2) echo "worker's job time" ;; 3) echo "install phase" ;; esac)
  unit=$([ $c = 1 ] && echo s || echo ms)
  awk -v n="$name" -v u="$unit" -v o="$(col offline $c)" -v s="$(col sinkhole $c)" 'BEGIN {
    printf "  %-24s offline %8.3f %s   sinkhole %8.3f %s   ratio %.3f\n", n, o, u, s, u, s / o }'
done
