#!/usr/bin/env bash
# Installs, with apt, whatever the build, the tests or the benchmarks need and this machine lacks.
# Usage: scripts/install-deps.sh [build|test|bench]   (each includes the ones before it)
#        scripts/install-deps.sh package               (build, and zip for the Lambda artifact)
#        scripts/install-deps.sh fuzz                  (build, and clang with libFuzzer)
set -euo pipefail
what=${1:-build}
packages=(cmake ninja-build g++ pkg-config libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
          libsqlite3-dev libssl-dev libcurl4-openssl-dev)
# Tools are looked for as commands: a machine may have them from elsewhere (Node.js and npm
# often are), and asking apt for a second copy can conflict with the first.
tools=()
case "$what" in
  package|test|bench) tools+=(zip:zip) ;;&
  test|bench) packages+=(libgtest-dev libgmock-dev libbenchmark-dev)
              tools+=(curl:curl python3:python3 unzip:unzip node:nodejs npm:npm) ;;&
  bench) tools+=(wrk:wrk nginx:nginx-light) ;;
  # The fuzz build configures tests/fuzz only, which needs neither GoogleTest nor the emulators.
  fuzz) packages+=(clang libclang-rt-14-dev) ;;
esac
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
for t in "${tools[@]}"; do
  command -v "${t%%:*}" >/dev/null 2>&1 || missing+=("${t#*:}")
done
# The deployment test reads serverless.yml with PyYAML.
case "$what" in
  test|bench) python3 -c 'import yaml' 2>/dev/null || missing+=(python3-yaml) ;;
esac
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# moto_server (DynamoDB, SNS, SQS) is Python's, from pip: neither apt nor npm has it.
if [ "$what" = test ]; then
  command -v moto_server >/dev/null 2>&1 \
    || { echo "the AWS tests need moto_server: pip install 'moto[server]'" >&2; exit 1; }
fi
# The emulators the tests start that npm has (dynalite), pinned by tests/tools/package-lock.json;
# installed again only when the lock changed since.
if [ "$what" = test ] || [ "$what" = bench ]; then
  tools_dir="$(dirname "$0")/../tests/tools"
  if ! cmp -s "$tools_dir/package-lock.json" "$tools_dir/node_modules/.package-lock.json.installed" 2>/dev/null; then
    echo "installing: tests/tools (npm ci)"
    npm ci --prefix "$tools_dir" --no-audit --no-fund --loglevel=error
    cp "$tools_dir/package-lock.json" "$tools_dir/node_modules/.package-lock.json.installed"
  fi
fi
