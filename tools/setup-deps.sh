#!/usr/bin/env bash
# Installs the Debian packages chainpp builds with, if any are missing.
# Idempotent: does nothing when everything is present. As root it runs
# apt-get; otherwise it prints the exact command and exits non-zero.
#
#   tools/setup-deps.sh          what tools/run-tests.sh needs (the fuzzers and leak checks too)
#   tools/setup-deps.sh --demo   what tools/demo.sh needs: the build of chainpp alone
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libboost-dev libboost-filesystem-dev
  libpoco-dev rapidjson-dev libyaml-cpp-dev catch2
  libedit-dev   # the interactive chat's line editing (BSD-licensed, unlike GNU readline)
)
case "${1:-}" in
  --demo) ;;
  "") packages+=(clang-14 libclang-rt-14-dev valgrind) ;;  # fuzzing (libFuzzer) and the leak checks
  *) echo "usage: tools/setup-deps.sh [--demo]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# node and npm run the conformance suite (tests/conformance). Checked as
# commands: a node from another source (e.g. NodeSource, whose nodejs carries
# npm) does as well as Debian's nodejs and npm packages.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-deps: all build dependencies are installed"
  exit 0
fi

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-deps: missing packages: ${missing[*]}" >&2
  echo "setup-deps: run as root: apt-get update && $cmd" >&2
  exit 1
fi

echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
$cmd
