#!/usr/bin/env bash
# upload_bench — streaming a large tarball into the coordinator, against
# `sha256sum` of the same file measured in the same run (the floor: reading
# and hashing the bytes once), and the coordinator's peak memory.
#   bench/upload_bench.sh BUILD_DIR [SIZE_MB]    (default 2048)
# Starts its own PostgreSQL and coordinator under a temporary directory.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$1 size_mb=${2:-2048}
work=$(mktemp -d /var/tmp/sf-upload-bench-XXXXXX)
chmod 755 "$work" # the postgres user must reach its cluster under it
coord=
cleanup() {
  [ -n "$coord" ] && kill "$coord" 2>/dev/null && wait "$coord" 2>/dev/null
  "$top/scripts/pg.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

dsn=$("$top/scripts/pg.sh" start "$work/pg")
port=$((30000 + $$ % 5000))
"$build/coordinator/scanfarm-coordinator" --db-dsn "$dsn" --http-address "127.0.0.1:$port" \
  --store-dir "$work/artifacts" --jobs-url "tcp://127.0.0.1:$((port + 1))" \
  --results-url "tcp://127.0.0.1:$((port + 2))" --log-level warn >"$work/coord.log" 2>&1 &
coord=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
rss_start=$(awk '/VmRSS/ {print $2}' "/proc/$coord/status")

# Random bytes, so nothing along the way can shortcut them.
head -c "$((size_mb << 20))" /dev/urandom >"$work/big.tgz"
sync

t0=$(date +%s.%N)
want=$(sha256sum "$work/big.tgz" | cut -d' ' -f1)
t_sha=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN {print a - b}')

# -T streams the file (--data-binary @file would load it into curl's memory).
t0=$(date +%s.%N)
reply=$(curl -s -X POST -H 'Content-Type: application/octet-stream' -T "$work/big.tgz" \
  "http://127.0.0.1:$port/monitor/project/npm")
t_up=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN {print a - b}')
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$coord/status")
stored=$(find "$work/artifacts/objects" -type f -name "$want" | wc -l)

echo "upload of ${size_mb} MiB: reply $(jq -c . <<<"$reply" 2>/dev/null || echo "$reply")"
echo "  stored under its sha256: $([ "$stored" = 1 ] && echo yes || echo NO)"
awk -v s="$t_sha" -v u="$t_up" -v r0="$rss_start" -v h="$hwm" -v mb="$size_mb" 'BEGIN {
  printf "  sha256sum: %.2f s   upload (stream + hash + fsync + commit): %.2f s   ratio %.2f\n", s, u, u / s
  printf "  coordinator RSS: %d MiB at start, peak %d MiB (%.3f%% of the upload)\n", r0 / 1024, h / 1024, 100 * h / (mb * 1024)
}'
