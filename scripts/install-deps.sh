#!/usr/bin/env bash
# Installs, with apt, whatever the build, the tests or the benchmarks need and this machine lacks.
# Usage: scripts/install-deps.sh [build|test|bench]   (each includes the ones before it)
#        scripts/install-deps.sh package               (build, and zip and advzip for the Lambda artifact)
set -euo pipefail
what=${1:-build}
packages=(cmake ninja-build g++ pkg-config libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
          libsqlite3-dev libssl-dev libcurl4-openssl-dev)
# Tools are looked for as commands: a machine may have them from elsewhere (Node.js and npm
# often are), and asking apt for a second copy can conflict with the first.
tools=()
case "$what" in
  package|test|bench) tools+=(zip:zip advzip:advancecomp) ;;&
  test|bench) packages+=(libgtest-dev libgmock-dev libbenchmark-dev)
              tools+=(curl:curl python3:python3 unzip:unzip node:nodejs npm:npm) ;;&
  bench) tools+=(wrk:wrk nginx:nginx-light) ;;
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
# The emulators the tests start that npm has (dynalite), pinned by tests/tools/package-lock.json;
# installed again only when the lock changed since.
if [ "$what" = test ] || [ "$what" = bench ]; then
  tools_dir="$(dirname "$0")/../tests/tools"
  if ! cmp -s "$tools_dir/package-lock.json" "$tools_dir/node_modules/.package-lock.json.installed" 2>/dev/null; then
    echo "installing: tests/tools (npm ci)"
    npm ci --prefix "$tools_dir" --no-audit --no-fund --loglevel=error
    cp "$tools_dir/package-lock.json" "$tools_dir/node_modules/.package-lock.json.installed"
  fi
  # The Serverless Framework that packages serverless.yml for the template test (and deploys),
  # pinned by the root package-lock.json; again only when the lock changed.
  root_dir="$(dirname "$0")/.."
  if ! cmp -s "$root_dir/package-lock.json" "$root_dir/node_modules/.package-lock.json.installed" 2>/dev/null; then
    echo "installing: serverless (npm ci)"
    npm ci --prefix "$root_dir" --no-audit --no-fund --loglevel=error
    cp "$root_dir/package-lock.json" "$root_dir/node_modules/.package-lock.json.installed"
  fi
fi
