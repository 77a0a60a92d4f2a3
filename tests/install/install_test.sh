#!/usr/bin/env bash
# install_test.sh BUILD_DIR SOURCE_DIR CXX WORK_DIR [FLAGS]
#
# FLAGS: extra compiler and linker flags for the examples (a sanitizer
# build's -fsanitize=...).
#
# 1. cmake --install BUILD_DIR into WORK_DIR/prefix;
# 2. configures and builds examples/host_app and examples/provider_template
#    out of tree with CMAKE_PREFIX_PATH=prefix only (and host_app once more
#    with pkg-config's flags), checking that no include path points into
#    SOURCE_DIR;
# 3. runs the installed `chainpp plugins` (also from a moved copy of the
#    prefix: the install is relocatable);
# 4. runs host_app with the template plugin, and with the installed
#    azure_openai plugin against the installed emulator, and compares the
#    exact output.
set -euo pipefail

build=$1 src=$2 cxx=$3 work=$4 flags=${5:-}
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd -P)
prefix=$work/prefix
failures=0

step() { echo "--- $*"; }
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
# expect NAME EXPECTED ACTUAL
expect() {
  if [[ "$2" == "$3" ]]; then
    echo "ok: $1"
  else
    fail "$1"
    diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | sed 's/^/    /' || true
  fi
}

# Nothing from the environment may point the core at other plugins.
unset CHAINPP_PLUGIN_PATH

step "install into $prefix"
cmake --install "$build" --prefix "$prefix" > "$work/install.log"
for f in include/chainpp/app.hpp include/chainpp/plugin.hpp lib/libchainpp_core.so lib/libchainpp_core.so.0 \
         lib/libchainpp_tls.so \
         lib/chainpp/plugins/libchainpp_azure_openai.so lib/chainpp/plugins/libchainpp_fake.so \
         lib/chainpp/plugins/libchainpp_openai.so bin/chainpp bin/azure-openai-emulator \
         share/chainpp/pricing.yaml share/chainpp/model_profiles.yaml share/chainpp/configs/fake.yaml share/chainpp/configs/azure.yaml \
         share/chainpp/configs/pricing.yaml lib/cmake/chainpp/chainppConfig.cmake \
         lib/cmake/chainpp/chainppConfigVersion.cmake lib/cmake/chainpp/chainpp_plugin.cmake \
         lib/pkgconfig/chainpp.pc; do
  [[ -e "$prefix/$f" ]] || fail "not installed: $f"
done
for f in "$prefix"/lib/chainpp/plugins/libchainpp_test_*; do
  if [[ -e "$f" ]]; then fail "a test plugin was installed: $f"; fi
done

step "build the examples against the installed package only"
for example in host_app provider_template; do
  cmake -S "$src/examples/$example" -B "$work/$example" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
        -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_COMPILE_WARNING_AS_ERROR=ON \
        -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_MODULE_LINKER_FLAGS="$flags" \
        > "$work/$example.configure.log"
  expect "$example: chainpp_DIR" "$prefix/lib/cmake/chainpp" \
         "$(sed -n 's/^chainpp_DIR:PATH=//p' "$work/$example/CMakeCache.txt")"
  cmake --build "$work/$example" -j1 > "$work/$example.build.log" ||
    { cat "$work/$example.build.log"; fail "$example does not build"; exit 1; }
  # Include paths may point into the prefix (which may lie inside the source
  # tree, under a build directory), never elsewhere into the source tree.
  while read -r dir; do
    if [[ "$dir/" == "$src/"* && "$dir/" != "$work/"* ]]; then
      fail "$example: include path $dir points into the source tree"
    fi
  done < <(grep -oE -- '(-I|-isystem )[^ "]+' "$work/$example/compile_commands.json" | sed -E 's/^(-I|-isystem )//' | sort -u)
done
host_app=$work/host_app/host_app

step "pkg-config"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
expect "pkg-config --modversion" "0.1.0" "$(pkg-config --modversion chainpp)"
expect "pkg-config plugindir" "$prefix/lib/chainpp/plugins" \
       "$(realpath -m "$(pkg-config --variable=plugindir chainpp)")"
# shellcheck disable=SC2046,SC2086
"$cxx" -std=c++20 $flags -o "$work/host_app_pc" "$src/examples/host_app/main.cpp" $(pkg-config --cflags --libs chainpp) \
       -Wl,-rpath,"$prefix/lib" || fail "host_app does not build with pkg-config's flags"

step "installed chainpp plugins (default plugin directory relative to the library)"
plugins_out() {
  echo "search path: $1/lib/chainpp/plugins"
  for p in azure_openai fake openai; do
    echo "$p 0.1.0 $1/lib/chainpp/plugins/libchainpp_$p.so"
    echo "  providers: $p"
  done
}
expect "chainpp plugins" "$(plugins_out "$prefix")" "$("$prefix/bin/chainpp" plugins 2>&1)"
cp -a "$prefix" "$work/moved"
expect "chainpp plugins (moved install)" "$(plugins_out "$work/moved")" "$("$work/moved/bin/chainpp" plugins 2>&1)"

step "installed example configuration, priced with share/chainpp/pricing.yaml through configs/pricing.yaml"
expect "chainpp run share/chainpp/configs/fake.yaml" "J'adore la programmation.
Tokens Used: 39
	Prompt Tokens: 31
	Completion Tokens: 8
Successful Requests: 1
Total Cost (USD): \$0.000063" \
       "$("$prefix/bin/chainpp" run "$prefix/share/chainpp/configs/fake.yaml" --pipeline translate --usage \
          --input input_language=English --input output_language=French --input "input=I love programming." 2>&1)"

step "a configuration of one's own, outside the prefix, prices with the installed share/chainpp/pricing.yaml"
mkdir -p "$work/own"
cat > "$work/own/app.yaml" <<'EOF'
plugins: {load: [fake]}
models:
  translator: {provider: fake, model_name: gpt-35-turbo, usage: {input_tokens: 31, output_tokens: 8}, responses: [hi]}
pipelines:
  say: {steps: [{model: translator}, {parser: str}]}
EOF
own_summary() {
  printf 'hi\nTokens Used: 39\n\tPrompt Tokens: 31\n\tCompletion Tokens: 8\nSuccessful Requests: 1\nTotal Cost (USD): $%s' "$1"
}
expect "chainpp run own config --usage (installed table)" "$(own_summary 0.000063)" \
       "$(env -u CHAINPP_DATA_DIR "$prefix/bin/chainpp" run "$work/own/app.yaml" --pipeline say --usage 2>&1)"
# The moved copy reads its own share/chainpp, relative to its library.
printf 'models:\n  gpt-35-turbo: {input: 1, output: 1}\n' > "$work/moved/share/chainpp/pricing.yaml"
expect "chainpp run own config --usage (moved install's table)" "$(own_summary 0.039000)" \
       "$(env -u CHAINPP_DATA_DIR "$work/moved/bin/chainpp" run "$work/own/app.yaml" --pipeline say --usage 2>&1)"

step "find_package version check (SameMajorVersion)"
mkdir -p "$work/version_check"
# shellcheck disable=SC2016  # ${WANTED} is CMake's
printf '%s\n' 'cmake_minimum_required(VERSION 3.20)' 'project(version_check LANGUAGES CXX)' \
       'find_package(chainpp ${WANTED} CONFIG REQUIRED)' > "$work/version_check/CMakeLists.txt"
if cmake -S "$work/version_check" -B "$work/version_check/ok" -DWANTED=0.1 -DCMAKE_PREFIX_PATH="$prefix" \
      > "$work/version_check/ok.log" 2>&1; then
  echo "ok: find_package(chainpp 0.1)"
else
  cat "$work/version_check/ok.log"
  fail "find_package(chainpp 0.1) failed"
fi
if cmake -S "$work/version_check" -B "$work/version_check/major" -DWANTED=1.0 -DCMAKE_PREFIX_PATH="$prefix" \
      > "$work/version_check/major.log" 2>&1; then
  fail "find_package(chainpp 1.0) accepted version 0.1.0"
elif ! grep -q 'compatible with requested version "1.0"' "$work/version_check/major.log"; then
  cat "$work/version_check/major.log"
  fail "find_package(chainpp 1.0) failed for another reason than the version"
else
  echo "ok: find_package(chainpp 1.0) refuses 0.1.0"
fi

# The seed page's translation chain; MODEL is the `models:` entry.
write_config() {  # FILE PLUGINS MODEL
  cat > "$1" <<EOF
plugins:
$2
models:
$3
prompts:
  translate:
    messages:
      - [system, "You are a helpful assistant that translates {input_language} to {output_language}."]
      - [human, "{input}"]
pipelines:
  translate:
    steps: [{prompt: translate}, {model: translator}, {parser: str}]
callbacks:
  - {type: usage_cost, pricing: $prefix/share/chainpp/pricing.yaml}
EOF
}
inputs=(input_language=English output_language=French "input=I love programming.")

step "host_app with the out-of-tree template plugin"
write_config "$work/template.yaml" "  paths: [$work/provider_template]
  load: [template_echo]" "  translator:
    provider: template_echo
    prefix: 'Echo: '
    model_name: gpt-35-turbo"
# 13 words in, 4 out at gpt-35-turbo's prices: 13 * 0.0015/1k + 4 * 0.002/1k
expect "host_app (template_echo)" "Echo: I love programming.
Total Cost (USD): \$0.000028" "$("$host_app" "$work/template.yaml" "${inputs[@]}" 2>&1)"

step "host_app reports a located configuration error from the plugin"
write_config "$work/template_bad.yaml" "  paths: [$work/provider_template]
  load: [template_echo]" "  translator:
    provider: template_echo
    uppercse: true"
expect "host_app (bad key)" \
       "host_app: $work/template_bad.yaml:7:5: unknown key 'uppercse' in models.translator (did you mean 'uppercase'?)" \
       "$("$host_app" "$work/template_bad.yaml" "${inputs[@]}" 2>&1)"

step "host_app with the installed azure_openai plugin and emulator"
emulator_pids=()
trap 'kill "${emulator_pids[@]}" 2>/dev/null || true; wait "${emulator_pids[@]}" 2>/dev/null || true' EXIT
# start_emulator NAME [ARGS...]: starts the installed emulator on a free port,
# logging to $work/NAME.out, and sets `port` to its port.
start_emulator() {
  local name="$1"
  shift
  "$prefix/bin/azure-openai-emulator" --port 0 "$@" > "$work/$name.out" 2>&1 &
  emulator_pids+=($!)
  port=
  for _ in $(seq 200); do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$work/$name.out")
    [[ -n "$port" ]] && return 0
    sleep 0.1
  done
  cat "$work/$name.out"
  fail "$name did not start"
  exit 1
}
start_emulator emulator
write_config "$work/azure.yaml" "  load: [azure_openai]" "  translator:
    provider: azure_openai
    azure_endpoint: http://127.0.0.1:$port
    api_key: test-key
    api_version: 2024-10-21
    azure_deployment: gpt-35-turbo
    temperature: 0
    stream_usage: true"
expect "host_app (azure_openai)" "J'adore la programmation.
Total Cost (USD): \$0.000063" "$("$host_app" "$work/azure.yaml" "${inputs[@]}" 2>&1)"
expect "host_app built with pkg-config (azure_openai)" "J'adore la programmation.
Total Cost (USD): \$0.000063" "$("$work/host_app_pc" "$work/azure.yaml" translate "${inputs[@]}" 2>&1)"

step "the installed share/chainpp/model_profiles.yaml refuses temperature on o3-mini"
write_config "$work/o3.yaml" "  load: [azure_openai]" "  translator:
    provider: azure_openai
    azure_endpoint: http://127.0.0.1:$port
    api_key: test-key
    api_version: 2024-10-21
    azure_deployment: my-o3
    model: o3-mini
    temperature: 0"
o3_line=$(grep -n '^  - names: \[o3, o3-mini, o4-mini\]$' "$prefix/share/chainpp/model_profiles.yaml" | cut -d: -f1)
expect "host_app (o3-mini with temperature)" \
       "host_app: $work/o3.yaml:11:18: 'temperature' is not accepted by model 'o3-mini' (profile 'o3-mini' at $prefix/share/chainpp/model_profiles.yaml:$o3_line:5): remove it (the model uses its own sampling)" \
       "$(env -u CHAINPP_DATA_DIR "$host_app" "$work/o3.yaml" "${inputs[@]}" 2>&1)"

step "HTTPS from the installed tree (core loads lib/libchainpp_tls.so on the first https:// call)"
start_emulator tls_emulator --tls-cert "$src/tests/data/tls/cert.pem" --tls-key "$src/tests/data/tls/key.pem"
tls_port=$port
write_config "$work/azure_tls.yaml" "  load: [azure_openai]" "  translator:
    provider: azure_openai
    azure_endpoint: https://127.0.0.1:$tls_port
    ca_file: $src/tests/data/tls/cert.pem
    api_key: test-key
    api_version: 2024-10-21
    azure_deployment: gpt-35-turbo
    temperature: 0
    stream_usage: true"
expect "host_app over https (azure_openai)" "J'adore la programmation.
Total Cost (USD): \$0.000063" "$("$host_app" "$work/azure_tls.yaml" "${inputs[@]}" 2>&1)"

if ((failures > 0)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all install checks passed"
