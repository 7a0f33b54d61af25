#!/usr/bin/env bash
# load_bench — the coordinator under a bounded load, with and without faults
# (the attack-resistance issue). A farm on a PostgreSQL cluster of its own,
# with one worker in no-op mode (it answers every job at once, so the bench
# measures the coordinator, not installs). Two runs of CLIENTS concurrent
# clients submitting for SECONDS, each submission its own bytes
# (bench/load_clients.py):
#   baseline  nothing happens;
#   faults    2 s in, the worker is killed -9 and started again 1 s later;
#             4 s in, PostgreSQL stops for 3 s and comes back.
# Then every accepted submission must finish ("lost" counts those that did
# not within a minute). Prints p50/p99 latency of each run and the ratios.
#   load_bench.sh BUILD_DIR [CLIENTS] [SECONDS]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$1 clients=${2:-50} seconds=${3:-12}
work=$(mktemp -d /tmp/sf-load-XXXXXX)
chmod 755 "$work"
port=$((22000 + $$ % 5000))
export SCANFARM_VAR=$work SCANFARM_BUILD=$build SCANFARM_SKIP_SETUP=1
export SCANFARM_HTTP_PORT=$port SCANFARM_JOBS_PORT=$((port + 1)) SCANFARM_RESULTS_PORT=$((port + 2))
export SCANFARM_WORKER_OPTS="--noop 1 --capacity 16" SCANFARM_REAP_INTERVAL=1
pg=$work/pg
cleanup() {
  [ -n "${SCANFARM_BENCH_KEEP:-}" ] && { echo "kept $work (farm still up)" >&2; return; }
  "$top/scripts/farm.sh" down >/dev/null 2>&1 || true
  "$top/scripts/pg.sh" stop "$pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
SCANFARM_DB_DSN=$("$top/scripts/pg.sh" start "$pg")
export SCANFARM_DB_DSN
"$top/scripts/farm.sh" up >/dev/null

finished() { # finished IDS_FILE: how many of its scans are finished now
  # (thousands of ids: on standard input, not in one argument of 128 KiB at most)
  { echo "SELECT count(*) FROM scans WHERE status = 'finished' AND id IN ("
    sed "s/.*/'&'/" "$1" | paste -sd,; echo ");"; } | psql "$SCANFARM_DB_DSN" -qAt -f -
}
run() { # run NAME: the load, then wait for every accepted scan
  local out ids=$work/$1.ids n want lost
  out=$(python3 "$top/bench/load_clients.py" 127.0.0.1 "$port" "$clients" "$seconds" "$ids")
  want=$(grep -c . "$ids" || true)
  for _ in $(seq 1 240); do
    n=$(finished "$ids" 2>/dev/null || echo 0)
    [ "$n" = "$want" ] && break
    sleep 0.5
  done
  lost=$((want - n))
  echo "$out" | jq -c --argjson lost "$lost" '. + {lost: $lost}'
}
echo "== load_bench: $clients clients submitting for $seconds s, no-op worker, own PostgreSQL"
base=$(run baseline)
echo "baseline  $base"
(
  sleep 2
  kill -9 "$(cat "$work/run/worker.pid")" 2>/dev/null || true
  sleep 1
  "$top/scripts/farm.sh" up >/dev/null 2>&1 &
  sleep 1
  "$top/scripts/pg.sh" stop "$pg" >/dev/null 2>&1 || true
  sleep 3
  "$top/scripts/pg.sh" start "$pg" >/dev/null 2>&1 || true
) &
faults_pid=$!
fault=$(run faults)
wait "$faults_pid" || true
echo "faults    $fault"
jq -rn --argjson b "$base" --argjson f "$fault" \
  '"ratio (faults / baseline): p50 \(($f.p50_s / $b.p50_s * 100 | round) / 100)x, p99 \(($f.p99_s / $b.p99_s * 100 | round) / 100)x, wall \(($f.wall_s / $b.wall_s * 100 | round) / 100)x; accepted \($f.accepted)/\($b.accepted), lost \($f.lost), retried \($f.retries)"'
