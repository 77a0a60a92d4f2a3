#!/usr/bin/env bash
# The test command: installs missing dependencies, configures, builds and
# runs the whole test suite.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${CHAINPP_BUILD_DIR:-$root/build}"

"$root/tools/setup-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug
cmake --build "$build" -j2
cd "$build"
ctest --output-on-failure -j2 --timeout 300
