#!/usr/bin/env bash
# bench/run.sh — runs the benchmarks (root; builds first). Each prints its
# figures as ratios against a baseline measured in the same run.
#   bench/run.sh [detect]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SCANFARM_BUILD:-$top/build}
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target detect_bench >/dev/null
case "${1:-detect}" in
  detect)
    echo "== detect_bench: eBPF sensor + rule engine (rules/)"
    "$build/bench/detect_bench" "$top/rules" "${SCANFARM_BENCH_STEP_S:-1}"
    ;;
  *) echo "usage: $0 [detect]" >&2; exit 64 ;;
esac
