#!/usr/bin/env bash
# The test suite under sanitizers: every test with ASan+UBSan (build-asan),
# then the concurrency tests (runnables, batch/async, chat models, callbacks,
# plugin registry, HTTP client and pool, token credentials) with TSan
# (build-tsan). Any sanitizer
# report fails the test that produced it, hence this script.
#
#   tools/run-sanitizers.sh            # both
#   tools/run-sanitizers.sh address    # ASan+UBSan only
#   tools/run-sanitizers.sh thread     # TSan only
#
# Environment: JOBS (build and ctest parallelism, default 2),
# CHAINPP_ASAN_BUILD_DIR / CHAINPP_TSAN_BUILD_DIR (default build-asan / build-tsan).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jobs="${JOBS:-2}"
which="${1:-all}"
# ctest -R regex for the concurrency tests run under TSan (test names are
# "<test file>: <test case>").
tsan_tests='runnable|chat_model|callbacks|registry|http|transport|pool|batch|ainvoke|concurren|entra|credentials'

# No suppressions: a report is a bug. halt_on_error makes the first report fail
# its test; leaks are checked at exit (LeakSanitizer, part of ASan).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=1:strict_init_order=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"

run() {  # run <sanitizer> <build dir> [ctest args...]
  local sanitizer="$1" build="$2"
  shift 2
  echo "== $sanitizer: configure and build in $build"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCHAINPP_SANITIZE="$sanitizer" >/dev/null
  cmake --build "$build" -j"$jobs"
  echo "== $sanitizer: ctest $*"
  # valgrind cannot run sanitized binaries: the valgrind-labelled tests are left out
  (cd "$build" && ctest --output-on-failure -j"$jobs" --timeout 900 -LE valgrind "$@")
  if [ -f "$build/soak_tally.txt" ]; then cat "$build/soak_tally.txt"; fi
}

if [ "$which" = all ] || [ "$which" = address ]; then
  run address "${CHAINPP_ASAN_BUILD_DIR:-$root/build-asan}"
fi
if [ "$which" = all ] || [ "$which" = thread ]; then
  run thread "${CHAINPP_TSAN_BUILD_DIR:-$root/build-tsan}" -R "$tsan_tests"
fi
echo "sanitizers: no findings"
