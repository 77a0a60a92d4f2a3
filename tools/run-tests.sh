#!/usr/bin/env bash
# The test command: installs missing dependencies, configures, builds and
# runs the whole test suite (Debug), then the checks of issue #7: the suite
# again under ASan+UBSan and the concurrency tests under TSan
# (tools/run-sanitizers.sh), and every libFuzzer target for 30 s
# (tools/run-fuzz.sh). Any failure, sanitizer report or fuzz finding fails it.
#
#   tools/run-tests.sh            # everything (what CI runs)
#   tools/run-tests.sh --quick    # the Debug suite only
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${CHAINPP_BUILD_DIR:-$root/build}"
quick=0
case "${1:-}" in
  --quick) quick=1 ;;
  "") ;;
  *) echo "usage: tools/run-tests.sh [--quick]" >&2; exit 2 ;;
esac

start=$SECONDS
stage() { echo "== run-tests: $1 (at $(( SECONDS - start )) s)"; }

"$root/tools/setup-deps.sh"
stage "Debug build and test suite"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug
cmake --build "$build" -j2
(cd "$build" && ctest --output-on-failure -j2 --timeout 900)
if [ -f "$build/soak_tally.txt" ]; then cat "$build/soak_tally.txt"; fi

if [ "$quick" = 1 ]; then
  stage "done (--quick: sanitizers and fuzzing skipped)"
  exit 0
fi
stage "sanitizers"
"$root/tools/run-sanitizers.sh"
stage "fuzzing"
"$root/tools/run-fuzz.sh" 30
stage "done"
