#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan+UBSan) into
# build-fuzz and runs each for N seconds (default 30), starting from the seed
# corpus in tests/fuzz/corpus/<target>. Fails on any crash, leak, timeout or
# sanitizer report; the input that caused it is left in build-fuzz/artifacts/.
#
#   tools/run-fuzz.sh            # CI: 30 s per target
#   tools/run-fuzz.sh 600        # the longer run: 10 min per target
#   tools/run-fuzz.sh 60 json_fuzz sse_fuzz   # only these targets
#
# Environment: CHAINPP_FUZZ_BUILD_DIR (default build-fuzz), CXX_FUZZ (default
# clang++-14), JOBS (build parallelism, default 1), FUZZ_ARGS (extra libFuzzer flags).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${CHAINPP_FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${1:-30}"
shift || true
all_targets=(sse_fuzz completion_fuzz stream_chunk_fuzz error_body_fuzz prompt_template_fuzz
             json_output_fuzz yaml_config_fuzz tool_args_fuzz json_fuzz)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER="${CXX_FUZZ:-clang++-14}" \
  -DCHAINPP_FUZZ=ON -DCHAINPP_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"${JOBS:-1}" --target "${targets[@]}"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
mkdir -p "$build/artifacts" "$build/logs"
failed=()
total=0
printf '%-22s %10s %10s %8s\n' target executions exec/s result > "$build/logs/summary.txt"
for t in "${targets[@]}"; do
  work="$build/corpus/$t"  # grows as the fuzzer finds new inputs; the seeds stay untouched
  mkdir -p "$work"
  log="$build/logs/$t.log"
  echo "== $t: ${seconds}s"
  status=0
  # shellcheck disable=SC2086
  "$build/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$t-" ${FUZZ_ARGS:-} "$work" "$root/tests/fuzz/corpus/$t" >"$log" 2>&1 || status=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  time_s="$(sed -n 's/^stat::.*//;s/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\2/p' "$log" | tail -1)"
  execs="${execs:-0}"
  rate=$(( execs / (seconds > 0 ? seconds : 1) ))
  [ -n "$time_s" ] && [ "$time_s" -gt 0 ] && rate=$(( execs / time_s ))
  total=$(( total + execs ))
  if [ "$status" -ne 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|fuzz property violated' "$log"; then
    result=FAIL
    failed+=("$t")
    tail -n 60 "$log"
  else
    result=ok
  fi
  printf '%-22s %10s %10s %8s\n' "$t" "$execs" "$rate" "$result" | tee -a "$build/logs/summary.txt"
done
echo "total executions: $total" | tee -a "$build/logs/summary.txt"
cat "$build/logs/summary.txt"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing FAILED: ${failed[*]} (inputs in $build/artifacts/, logs in $build/logs/)" >&2
  exit 1
fi
echo "fuzzing: no findings"
