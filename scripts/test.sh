#!/usr/bin/env bash
# scripts/test.sh — the whole test suite, as CI runs it: install what is
# needed, build with AddressSanitizer + UndefinedBehaviorSanitizer, run ctest.
#   SCANFARM_TEST_BUILD [build-asan]  build directory
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SCANFARM_TEST_BUILD:-$top/build-asan}
"$top/scripts/setup.sh" all
# The optimised build (what scripts/farm.sh runs) must compile warning-free
# too: GCC finds some warnings only with optimisation on.
cmake -S "$top" -B "${SCANFARM_RELEASE_BUILD:-$top/build}" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "${SCANFARM_RELEASE_BUILD:-$top/build}" -j"$(nproc)"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DSCANFARM_SANITIZE=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure --timeout 600
