#!/usr/bin/env bash
# The benchmarks (not part of ctest; CI does not run them): builds Release in
# build-release, starts the Azure OpenAI emulator and, when nginx is installed,
# the instant nginx stand-in of bench/nginx; runs chainpp-bench in four
# modes (invoke/stream x 1/32 in flight) against both, wrk against nginx for
# the server's ceiling (when wrk is installed), the plugin-load and `chainpp
# run` start-up timings, and the micro-benchmarks; writes bench/RESULTS.md.
#
#   tools/run-bench.sh                   # everything, about 3 minutes
#   BENCH_REPEATS=1 tools/run-bench.sh   # one round instead of three (medians)
#
# Environment: CHAINPP_BENCH_BUILD_DIR (default build-release), CHAINPP_BENCH_NGINX_DIR
# (the nginx stand-in's folder, default bench/nginx), BENCH_JOBS (build jobs, 1),
# BENCH_REPEATS (3), BENCH_WRK_SECONDS (5), BENCH_INVOKE_REQUESTS (20000 at 1 in
# flight, 4x that at 32), BENCH_STREAM_REQUESTS (1000 streams at 1, 2x at 32),
# BENCH_MICRO_MIN_TIME (0.5 s per micro-benchmark).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${CHAINPP_BENCH_BUILD_DIR:-$root/build-release}"
nginx_dir="${CHAINPP_BENCH_NGINX_DIR:-$root/bench/nginx}"
jobs="${BENCH_JOBS:-1}"
repeats="${BENCH_REPEATS:-3}"
wrk_seconds="${BENCH_WRK_SECONDS:-5}"
invoke_n="${BENCH_INVOKE_REQUESTS:-20000}"
stream_n="${BENCH_STREAM_REQUESTS:-1000}"
micro_time="${BENCH_MICRO_MIN_TIME:-0.5}"
out_dir="$root/bench"
work="$(mktemp -d /tmp/chainpp-bench.XXXXXX)"
results="$work/results.jsonl"   # one JSON object per measurement
nginx_prefix=/tmp/bench-nginx
nginx_port=18080
stream_chunks=200

log() { echo "run-bench: $*" >&2; }

emulator_pid=""
nginx_pid=""
cleanup() {
  [[ -n "$emulator_pid" ]] && kill -TERM "$emulator_pid" 2>/dev/null
  [[ -n "$nginx_pid" ]] && kill -QUIT "$nginx_pid" 2>/dev/null   # nginx's graceful stop
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# ---------------------------------------------------------------- build
log "building Release in $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCHAINPP_BUILD_TESTS=OFF >/dev/null
targets=(chainpp-bench azure-openai-emulator chainpp azure_openai fake)
have_micro=0
if grep -q '^CHAINPP_BUILD_BENCH:BOOL=ON' "$build/CMakeCache.txt"; then
  targets+=(chainpp-micro-bench)
  have_micro=1
else
  log "Google Benchmark not found (Debian package libbenchmark-dev): no micro-benchmarks"
fi
cmake --build "$build" -j"$jobs" --target "${targets[@]}" >/dev/null
bench="$build/tools/bench/chainpp-bench"
config="$root/tools/bench/bench.yaml"

# ---------------------------------------------------------------- servers
emulator_log="$work/emulator.out"
"$build/tools/emulator/azure-openai-emulator" --port 0 --quiet >"$emulator_log" 2>&1 &
emulator_pid=$!
for _ in $(seq 100); do
  grep -q '^listening on ' "$emulator_log" && break
  sleep 0.05
done
emulator_addr="$(sed -n 's/^listening on //p' "$emulator_log" | head -1)"
[[ -n "$emulator_addr" ]] || { log "the emulator did not start: $(cat "$emulator_log")"; exit 1; }
log "emulator on $emulator_addr"

nginx_bin="$(command -v nginx || true)"
[[ -z "$nginx_bin" && -x /usr/sbin/nginx ]] && nginx_bin=/usr/sbin/nginx
nginx_url="http://127.0.0.1:$nginx_port"
invoke_path="/openai/deployments/bench/chat/completions?api-version=2024-10-21"
stream_path="/openai/deployments/bench-stream/chat/completions?api-version=2024-10-21"
have_nginx=0
nginx_answers() { curl -fsS -o /dev/null -X POST "$nginx_url$invoke_path" 2>/dev/null; }
if [[ -n "$nginx_bin" && -f "$nginx_dir/nginx.conf" ]]; then
  mkdir -p "$nginx_prefix/html"
  python3 "$nginx_dir/make_stream.py" "$nginx_prefix/html/stream.sse" "$stream_chunks" 2>/dev/null
  if nginx_answers; then
    log "an nginx stand-in already answers on $nginx_url: using it"
  else
    "$nginx_bin" -c "$nginx_dir/nginx.conf" -p "$nginx_prefix/" >"$work/nginx.out" 2>&1 &
    nginx_pid=$!   # daemon off: the master
    for _ in $(seq 100); do nginx_answers && break; sleep 0.05; done
  fi
  if nginx_answers; then have_nginx=1; else log "nginx did not start: $(cat "$work/nginx.out" 2>/dev/null)"; fi
else
  log "nginx not installed (Debian package nginx) or $nginx_dir/nginx.conf missing: emulator only"
fi
have_wrk=0
if [[ $have_nginx == 1 ]] && command -v wrk >/dev/null; then have_wrk=1; fi
if [[ $have_nginx == 1 && $have_wrk == 0 ]]; then log "wrk not installed (Debian package wrk): no anchors"; fi

# ---------------------------------------------------------------- runs
# record TARGET MODE CONC ROUND JSON
record() {
  python3 - "$@" >>"$results" <<'EOF'
import json, sys
target, mode, conc, rnd, line = sys.argv[1:6]
d = json.loads(line)
d.update({"target": target, "bench_mode": mode, "bench_conc": int(conc), "round": int(rnd)})
print(json.dumps(d))
EOF
}

run_driver() {  # TARGET MODE CONC ROUND: chainpp-bench against TARGET's endpoint
  local target=$1 mode=$2 conc=$3 rnd=$4 endpoint invoke_dep stream_dep n expect=()
  if [[ $target == nginx ]]; then
    endpoint=$nginx_url invoke_dep=bench stream_dep=bench-stream
  else
    endpoint="http://$emulator_addr" invoke_dep=gpt-35-turbo stream_dep=gpt-35-turbo
  fi
  if [[ $mode == invoke ]]; then
    n=$((conc == 1 ? invoke_n : invoke_n * 4)); expect=(--expect "J'adore la programmation.")
  else
    n=$((conc == 1 ? stream_n : stream_n * 2))
    if [[ $target == nginx ]]; then expect=(--expect "$(python3 -c "print('tok ' * $stream_chunks, end='')")"); fi
  fi
  if [[ $target == emulator ]]; then n=$((n / 4)); fi   # the emulator does real work per request
  local line
  line="$(BENCH_ENDPOINT=$endpoint BENCH_INVOKE_DEPLOYMENT=$invoke_dep BENCH_STREAM_DEPLOYMENT=$stream_dep \
          BENCH_API_KEY=test-key "$bench" --config "$config" --model "$mode" --mode "$mode" --requests "$n" \
          --concurrency "$conc" "${expect[@]}" --json)"
  echo "  chainpp-bench $target $mode c$conc: $line" >&2
  record "chainpp-$target" "$mode" "$conc" "$rnd" "$line"
}

run_wrk() {  # MODE CONC ROUND
  local mode=$1 conc=$2 rnd=$3 path=$invoke_path chunks=0 threads=1 line
  if [[ $mode == stream ]]; then path=$stream_path chunks=$stream_chunks; fi
  if ((conc > 1)); then threads=2; fi
  line="$(cd "$nginx_dir" && BENCH_STREAM_CHUNKS=$chunks BENCH_CONC=$conc \
          wrk -t"$threads" -c"$conc" -d"${wrk_seconds}s" -s wrk_post.lua "$nginx_url$path" | sed -n 's/^WRK_JSON //p')"
  echo "  wrk $mode c$conc: $line" >&2
  record wrk "$mode" "$conc" "$rnd" "$line"
}

: >"$results"
for rnd in $(seq "$repeats"); do
  log "round $rnd of $repeats"
  for mode in invoke stream; do
    for conc in 1 32; do
      # wrk and the driver back to back, so that both see the same machine
      if [[ $have_wrk == 1 ]]; then run_wrk "$mode" "$conc" "$rnd"; fi
      if [[ $have_nginx == 1 ]]; then run_driver nginx "$mode" "$conc" "$rnd"; fi
      run_driver emulator "$mode" "$conc" "$rnd"
    done
  done
done

# ---------------------------------------------------------------- start-up
log "plugin load and chainpp run timings"
for rnd in $(seq 10); do
  record load load 0 "$rnd" "$("$bench" --config "$root/configs/fake.yaml" --mode load --json)"
done
python3 - "$build/tools/chainpp/chainpp" "$root/configs/fake.yaml" >>"$results" <<'EOF'
import json, subprocess, sys, time, resource
cli, cfg = sys.argv[1:3]
args = [cli, "run", cfg, "--pipeline", "translate", "--input", "input_language=English", "--input", "output_language=French",
        "--input", "input=I love programming."]
subprocess.run(args, check=True, capture_output=True)  # warm the page cache
for i in range(20):
    t = time.perf_counter()
    r = subprocess.run(args, check=True, capture_output=True, text=True)
    ms = (time.perf_counter() - t) * 1000
    print(json.dumps({"target": "cli", "bench_mode": "chainpp_run", "round": i, "wall_ms": ms,
                      "output": r.stdout.strip(),
                      "max_child_rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
EOF

# ---------------------------------------------------------------- micro
micro_json="$work/micro.json"
if [[ $have_micro == 1 ]]; then
  log "micro-benchmarks"
  "$build/tools/bench/chainpp-micro-bench" --benchmark_min_time="$micro_time" --benchmark_out="$micro_json" \
    --benchmark_out_format=json >&2
else
  echo '{"benchmarks": []}' >"$micro_json"
fi

# ---------------------------------------------------------------- report
mkdir -p "$out_dir"
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then commit="$commit (with uncommitted changes)"; fi
python3 - "$results" "$micro_json" "$out_dir/RESULTS.md" "$commit" "$repeats" "$stream_chunks" <<'EOF'
import json, os, platform, statistics, subprocess, sys, time
results_file, micro_file, out, commit, repeats, stream_chunks = sys.argv[1:7]
rows = [json.loads(l) for l in open(results_file) if l.strip()]

def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()

def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None

def pick(target, mode, conc):
    return [r for r in rows if r.get("target") == target and r.get("bench_mode") == mode and r.get("bench_conc") == conc]

def fig(r, mode):
    return r.get("chunks_per_s") if mode == "stream" else r.get("req_per_s")

def fmt(v, digits=0):
    if v is None:
        return "–"
    return f"{v:,.{digits}f}"

targets = {("invoke", 1): 0.7, ("invoke", 32): 0.5, ("stream", 1): 0.5, ("stream", 32): 0.5}
lines = []
w = lines.append
w("# chainpp benchmark results\n")
w(f"Written by `tools/run-bench.sh` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n")
w(f"- commit: {commit}")
w(f"- machine: {cpu_model()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}; "
  f"load average at the end {', '.join(f'{x:.2f}' for x in os.getloadavg())} (the cores are shared)")
w(f"- rounds: {repeats}; figures are medians over the rounds; each ratio is taken within a round "
  "(wrk and chainpp-bench back to back), then the median of those ratios")
w(f"- nginx stand-in: `bench/nginx/nginx.conf` (streams of {stream_chunks} content chunks); "
  "emulator: `azure-openai-emulator --port 0 --quiet`\n")

w("## End to end (chainpp-bench: App::load + the azure_openai plugin)\n")
w("Invoke rows are requests/s, stream rows content chunks/s (every chunk parsed into an AIMessageChunk and "
  "merged). Ratio = chainpp-bench / wrk against the same nginx in the same round.\n")
w("| mode | in flight | wrk (nginx) | chainpp (nginx) | ratio | target | p50 / p99 µs | peak RSS | errors | chainpp (emulator) |")
w("|---|---|---|---|---|---|---|---|---|---|")
for (mode, conc), target in targets.items():
    wr = pick("wrk", mode, conc)
    cn = pick("chainpp-nginx", mode, conc)
    ce = pick("chainpp-emulator", mode, conc)
    ratios = []
    for r in cn:
        same = [x for x in wr if x["round"] == r["round"]]
        if same and fig(same[0], mode):
            ratios.append(fig(r, mode) / fig(same[0], mode))
    ratio = med(ratios)
    verdict = "–" if ratio is None else ("met" if ratio >= target else "missed")
    lat = f"{fmt(med([r['p50_us'] for r in cn]))} / {fmt(med([r['p99_us'] for r in cn]))}" if cn else "–"
    rss = f"{fmt(max(r['peak_rss_kb'] for r in cn) / 1024, 1)} MB" if cn else "–"
    errs = sum(r["errors"] for r in cn + ce) if (cn or ce) else "–"
    w(f"| {mode} | {conc} | {fmt(med([fig(r, mode) for r in wr]))} | {fmt(med([fig(r, mode) for r in cn]))} | "
      f"{'–' if ratio is None else f'{ratio:.2f}'} | ≥ {target} ({verdict}) | {lat} | {rss} | {errs} | "
      f"{fmt(med([fig(r, mode) for r in ce]))} |")

loads = [r for r in rows if r.get("target") == "load"]
runs = [r for r in rows if r.get("target") == "cli"]
w("\n## Start-up\n")
w("| measure | median | target |")
w("|---|---|---|")
if loads:
    w(f"| plugin load (dlopen + register, fake plugin, fresh process; `chainpp-bench --mode load`) | "
      f"{med([r['plugin_load_ms'] for r in loads]):.2f} ms | < 5 ms |")
    w(f"| App::load of configs/fake.yaml after that | {med([r['app_load_ms'] for r in loads]):.2f} ms | – |")
if runs:
    w(f"| `chainpp run configs/fake.yaml` (one pipeline, fake provider), process start to exit | "
      f"{med([r['wall_ms'] for r in runs]):.1f} ms (max RSS {runs[-1]['max_child_rss_kb'] / 1024:.1f} MB) | < 30 ms |")

micro = json.load(open(micro_file)).get("benchmarks", [])
if micro:
    w("\n## Micro-benchmarks (Google Benchmark, one thread; CPU time)\n")
    w("| benchmark | CPU time / iteration | items/s | bytes/s |")
    w("|---|---|---|---|")
    for b in micro:
        if b.get("run_type", "iteration") != "iteration":
            continue
        unit = b.get("time_unit", "ns")
        items = b.get("items_per_second")
        nbytes = b.get("bytes_per_second")
        w(f"| {b['name']} | {b['cpu_time']:,.1f} {unit} | {fmt(items) if items else '–'} | "
          f"{fmt(nbytes / 1e6, 1) + ' MB/s' if nbytes else '–'} |")
    w("\nTarget: SSE + chunk parsing (BM_SseStream1000Chunks) at least 2,000,000 chunks/s on one core.")

w("\n## Raw measurements\n")
w("```")
for r in rows:
    r = {k: v for k, v in r.items() if k != "output"}
    w(json.dumps(r))
w("```")
open(out, "w").write("\n".join(lines) + "\n")
print(out)
EOF
log "wrote $out_dir/RESULTS.md"
