#!/usr/bin/env bash
# The seed page's example: the translation chain (prompt | Azure OpenAI model
# | string parser), streamed token by token, then the token usage and cost.
#
# With AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY set it calls your Azure
# OpenAI deployment (AZURE_OPENAI_DEPLOYMENT, default gpt-35-turbo); otherwise
# it starts the local Azure OpenAI emulator and stops it afterwards. Each
# stage prints a line; the build prints its progress.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${CHAINPP_BUILD_DIR:-$root/build}"
log="$build.demo.log"

echo "== 1/4 build dependencies (tools/setup-deps.sh --demo)"
"$root/tools/setup-deps.sh" --demo

echo "== 2/4 configuring $build"
if ! cmake -S "$root" -B "$build" >"$log" 2>&1; then
  echo "demo: the configuration failed; see $log" >&2
  exit 1
fi

echo "== 3/4 building chainpp, its plugins and the emulator (minutes the first time)"
# the build's [ NN%] lines as progress; everything in the log
if ! cmake --build "$build" -j2 --target chainpp azure_openai openai fake azure-openai-emulator 2>&1 |
       tee -a "$log" | grep --line-buffered -E '^\[ *[0-9]+%\] (Building|Linking)' | sed -u 's/^/   /'; then
  echo "demo: the build failed; see $log" >&2
  exit 1
fi
rm -f "$log"

emulator_pid=""
cleanup() { [ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null || true; }
trap cleanup EXIT

echo "== 4/4 running the translation chain"
if [ -n "${AZURE_OPENAI_ENDPOINT:-}" ] && [ -n "${AZURE_OPENAI_API_KEY:-}" ]; then
  echo "== Azure OpenAI at $AZURE_OPENAI_ENDPOINT"
else
  fifo="$(mktemp -u)"
  mkfifo "$fifo"
  "$build/tools/emulator/azure-openai-emulator" --port 0 --quiet >"$fifo" &
  emulator_pid=$!
  read -r line <"$fifo" || true
  rm -f "$fifo"
  port="${line##*:}"
  if ! [[ "$port" =~ ^[0-9]+$ ]]; then
    echo "demo: the emulator did not start (it printed: '$line')" >&2
    exit 1
  fi
  export AZURE_OPENAI_ENDPOINT="http://127.0.0.1:$port"
  export AZURE_OPENAI_API_KEY="test-key"
  echo "== AZURE_OPENAI_ENDPOINT/AZURE_OPENAI_API_KEY not set: using the local emulator at $AZURE_OPENAI_ENDPOINT"
fi

echo "== chainpp run configs/azure.yaml --stream --usage (English -> German)"
"$build/tools/chainpp/chainpp" run "$root/configs/azure.yaml" --pipeline translate --stream --usage \
  --input input_language=English --input output_language=German --input "input=I love programming."

echo "== done. The CLI is $build/tools/chainpp/chainpp; to put it on PATH (~/.local/bin):"
echo "   cmake --install $build --prefix ~/.local"
