#!/usr/bin/env bash
# The seed page's example: the translation chain (prompt | Azure OpenAI model
# | string parser), streamed token by token, then the token usage and cost.
#
# With AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY set it calls your Azure
# OpenAI deployment (AZURE_OPENAI_DEPLOYMENT, default gpt-35-turbo); otherwise
# it starts the local Azure OpenAI emulator and stops it afterwards.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${CHAINPP_BUILD_DIR:-$root/build}"

"$root/tools/setup-deps.sh" >/dev/null
if ! cmake -S "$root" -B "$build" >"$build.demo.log" 2>&1 ||
   ! cmake --build "$build" -j2 --target chainpp azure_openai azure-openai-emulator >>"$build.demo.log" 2>&1; then
  echo "demo: the build failed; see $build.demo.log" >&2
  exit 1
fi
rm -f "$build.demo.log"

emulator_pid=""
cleanup() { [ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null || true; }
trap cleanup EXIT

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
