#!/usr/bin/env bash
# Installs, with apt, whatever the build, the tests or the benchmarks need and this machine lacks.
# Usage: scripts/install-deps.sh [build|test|bench]   (each includes the ones before it)
#        scripts/install-deps.sh package               (build, and zip and advzip for the Lambda artifact)
#        scripts/install-deps.sh fuzz                  (build, and clang with libFuzzer)
set -euo pipefail
what=${1:-build}
packages=(cmake ninja-build g++ pkg-config libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
          libsqlite3-dev libssl-dev libcurl4-openssl-dev)
# Tools are looked for as commands: a machine may have them from elsewhere (Node.js and npm
# often are), and asking apt for a second copy can conflict with the first.
# The build embeds Redoc and the OpenAPI document (tools/web), so it needs Node.js and npm too.
tools=(node:nodejs npm:npm)
case "$what" in
  package|test|bench) tools+=(zip:zip advzip:advancecomp) ;;&
  test|bench) packages+=(libgtest-dev libgmock-dev libbenchmark-dev)
              # promtool (Debian's prometheus) checks GET /metrics in the tests.
              tools+=(curl:curl python3:python3 unzip:unzip chromium:chromium promtool:prometheus) ;;&
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
  # The template test lints the packaged CloudFormation template: cfn-lint is pip's too.
  command -v cfn-lint >/dev/null 2>&1 \
    || { echo "the deployment test needs cfn-lint: pip install cfn-lint" >&2; exit 1; }
fi
# npm packages, pinned by a package-lock.json; installed again only when the lock changed since.
npm_ci() {
  local dir="$(dirname "$0")/../$1"
  if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.installed" 2>/dev/null; then
    echo "installing: $1 (npm ci)"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
    cp "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.installed"
  fi
}
# What the build embeds: Redoc's bundle and js-yaml (tools/web).
npm_ci tools/web
# What the tests run: dynalite, the OpenAPI linter and validator, playwright-core (tests/tools).
if [ "$what" = test ] || [ "$what" = bench ]; then
  npm_ci tests/tools
  # The Serverless Framework that packages serverless.yml for the template test (and deploys),
  # pinned by the root package-lock.json.
  npm_ci .
fi
