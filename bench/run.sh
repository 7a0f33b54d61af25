#!/usr/bin/env bash
# bench/run.sh — runs the benchmarks (root; builds first). Each prints its
# figures as ratios against a baseline measured in the same run.
#   bench/run.sh [detect|sandbox|ingest|upload|dispatch|project|lockfile|nightly|load|network|slots|all]
#     load: SCANFARM_BENCH_CLIENTS (50), SCANFARM_BENCH_SECONDS (12)
#     lockfile: SCANFARM_BENCH_ENTRIES (100000); nightly: SCANFARM_BENCH_REFS (10000)
#     upload: SCANFARM_BENCH_UPLOAD_MB (2048); dispatch: SCANFARM_BENCH_JOBS (5000),
#     SCANFARM_BENCH_WORKERS (4); slots: SCANFARM_BENCH_SCANS (30),
#     SCANFARM_BENCH_CAPACITIES ("1 2 3", must include 1)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SCANFARM_BUILD:-$top/build}
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target detect_bench ingest_bench lockfile_bench >/dev/null

detect() {
  echo "== detect_bench: eBPF sensor + rule engine (rules/)"
  "$build/bench/detect_bench" "$top/rules" "${SCANFARM_BENCH_STEP_S:-1}"
}

lockfile() {
  echo "== lockfile_bench: package-lock.json entries read per second (scanfarm deps) vs jansson alone"
  "$build/bench/lockfile_bench" "${SCANFARM_BENCH_ENTRIES:-100000}" 5
}

ingest() {
  echo "== ingest_bench: alerts stored per second (throwaway PostgreSQL, fsync on)"
  local pgdir; pgdir=$(mktemp -d /tmp/sf-bench-pg-XXXXXX)
  chmod 755 "$pgdir" # the postgres user must reach it (else pg.sh falls back to /var/tmp)
  local dsn; dsn=$("$top/scripts/pg.sh" start "$pgdir")
  "$build/bench/ingest_bench" "$dsn" "${SCANFARM_BENCH_BATCHES:-100}" 1000 || true
  "$top/scripts/pg.sh" stop "$pgdir" >/dev/null
  rm -rf "$pgdir"
}

upnightly() {
  cmake --build "$build" -j"$(nproc)" --target scanfarm-coordinator scanfarm-worker scanfarm >/dev/null
  echo "== nightly_bench: scanfarm deps on N references, all cached, vs reading the lockfile + posting its stream"
  "$top/bench/nightly_bench.sh" "$build" "${SCANFARM_BENCH_REFS:-10000}" "${SCANFARM_BENCH_RUNS_NIGHTLY:-3}"
}

load() {
  cmake --build "$build" -j"$(nproc)" --target scanfarm-coordinator >/dev/null
  echo "== upload_bench: streaming upload vs sha256sum, coordinator memory"
  "$top/bench/upload_bench.sh" "$build" "${SCANFARM_BENCH_UPLOAD_MB:-2048}"
}

dispatch() {
  cmake --build "$build" -j"$(nproc)" --target scanfarm-coordinator scanfarm-worker >/dev/null
  echo "== dispatch_bench: jobs dispatched and acknowledged per second (no-op workers)"
  for capacity in ${SCANFARM_BENCH_CAPACITY:-1 16}; do
    "$top/bench/dispatch_bench.sh" "$build" "${SCANFARM_BENCH_JOBS:-5000}" \
      "${SCANFARM_BENCH_WORKERS:-4}" "$capacity"
  done
}

project() {
  cmake --build "$build" -j"$(nproc)" --target scanfarm-coordinator scanfarm-worker >/dev/null
  echo "== project_bench: scanning a real-world project vs a plain npm ci (cold and warm caches)"
  "$top/bench/project_bench.sh" "$build" "${SCANFARM_BENCH_RUNS:-3}"
}

sandbox() {
  cmake --build "$build" -j"$(nproc)" --target sandbox_bench scanfarm-init >/dev/null
  echo "== sandbox_bench: the job's disk and the hardened container vs the old shape"
  "$build/bench/sandbox_bench" "$top/var/rootfs" "$build/worker/scanfarm-init" \
    "${SCANFARM_BENCH_RUNS_SANDBOX:-15}"
}

nightly() {
  cmake --build "$build" -j"$(nproc)" --target scanfarm-coordinator scanfarm-worker scanfarm >/dev/null
  echo "== nightly_bench: scanfarm deps on N references, all cached, vs reading the lockfile + posting its stream"
  "$top/bench/nightly_bench.sh" "$build" "${SCANFARM_BENCH_REFS:-10000}" "${SCANFARM_BENCH_RUNS_NIGHTLY:-3}"
}

load() {
  cmake --build "$build" -j"$(nproc)" --target scanfarm-coordinator scanfarm-worker >/dev/null
  "$top/bench/load_bench.sh" "$build" "${SCANFARM_BENCH_CLIENTS:-50}" "${SCANFARM_BENCH_SECONDS:-12}"
}

network() {
  cmake --build "$build" -j"$(nproc)" --target scanfarm-coordinator scanfarm-worker >/dev/null
  echo "== network_bench: a small scan in the sinkhole network vs offline"
  "$top/bench/network_bench.sh" "$build" "${SCANFARM_BENCH_RUNS:-10}"
}

slots() {
  cmake --build "$build" -j"$(nproc)" --target scanfarm-coordinator scanfarm-worker >/dev/null
  echo "== slots_bench: scans/hour of small packages, one worker with N slots vs 1"
  "$top/bench/slots_bench.sh" "$build" "${SCANFARM_BENCH_SCANS:-30}" "${SCANFARM_BENCH_CAPACITIES:-1 2 3}"
}

case "${1:-all}" in
  detect) detect ;;
  sandbox) sandbox ;;
  ingest) ingest ;;
  upload) upload ;;
  dispatch) dispatch ;;
  project) project ;;
  lockfile) lockfile ;;
  nightly) nightly ;;
  load) load ;;
  network) network ;;
  slots) slots ;;
  all) detect; sandbox; ingest; upload; dispatch; project; lockfile; nightly; load; network; slots ;;
  *) echo "usage: $0 [detect|sandbox|ingest|upload|dispatch|project|lockfile|nightly|load|network|slots|all]" >&2; exit 64 ;;
esac
