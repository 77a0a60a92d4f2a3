#!/usr/bin/env bash
# The conformance ctest: installs the pinned openai SDK (npm ci, once per lock
# file), starts azure-openai-emulator on 127.0.0.1 port 0 with this folder's
# emulator.yaml, and runs every *.test.cjs here with node --test against it.
# Fails when any step or test fails.
#
#   run.sh <emulator executable> <this folder> <work folder in the build tree>
set -euo pipefail
emulator="$1"
src="$2"
work="$3"
mkdir -p "$work"

# npm ci once per lock file: the stamp holds the lock file's hash.
node_dir="$work/node"
stamp="$node_dir/.lock.sha256"
want="$(sha256sum "$src/package-lock.json" | cut -d' ' -f1)"
if [ ! -d "$node_dir/node_modules" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  rm -rf "$node_dir"
  mkdir -p "$node_dir"
  cp "$src/package.json" "$src/package-lock.json" "$node_dir/"
  (cd "$node_dir" && timeout 600 npm ci --no-audit --no-fund --cache "$work/npm-cache" --loglevel=error)
  echo "$want" > "$stamp"
fi

# The emulator, on a free loopback port; stopped whatever happens.
out="$work/emulator.out"
: > "$out"
"$emulator" --host 127.0.0.1 --port 0 --config "$src/emulator.yaml" > "$out" 2> "$work/emulator.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 200); do
  [ "$(wc -l < "$out")" -ge 1 ] && break  # a whole line (wc -l counts newlines), not a partly written one
  kill -0 "$pid" 2>/dev/null || { echo "conformance: the emulator exited" >&2; cat "$work/emulator.log" >&2; exit 1; }
  sleep 0.1
done
line="$(grep -m1 '^listening on ' "$out")" || { echo "conformance: the emulator did not start" >&2; exit 1; }
port="${line##*:}"

export CHAINPP_EMULATOR_URL="http://127.0.0.1:$port"
export NODE_PATH="$node_dir/node_modules"
export NO_PROXY='*' no_proxy='*'
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy ALL_PROXY all_proxy
cd "$src"
timeout 600 node --test --test-reporter=spec ./*.test.cjs
