#!/usr/bin/env bash
# Makes the Lambda artifact, build/lambda/ticket-booking.zip, that serverless.yml deploys:
#   bootstrap           what Lambda's provided.al2023 runtime runs: the binary's `lambda` command
#   bin/ticket-booking  the Release build's ticket-booking-lambda (ticket-booking without the
#                       pages serve answers besides the API), stripped (symbols are no use to
#                       Lambda; the build's own binary keeps them)
#   lib/*               every shared library ldd lists, the dynamic loader included
# Amazon Linux 2023's glibc is older than the one this is built against, so the binary cannot use
# the system's libraries there: bootstrap starts it through the bundled loader, on bundled libraries.
# The zip must stay within max_zip_bytes (10 MB): the script fails above it rather than ship one.
# Usage: scripts/package-lambda.sh [--binary PATH] [--out ZIP]
#   Without --binary it builds the Release ticket-booking-lambda in build/ first.
set -euo pipefail
max_zip_bytes=10000000
root=$(cd "$(dirname "$0")/.." && pwd)
binary=""
out="$root/build/lambda/ticket-booking.zip"
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) [ $# -ge 2 ] || { echo "--binary needs a path" >&2; exit 2; }; binary=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || { echo "--out needs a path" >&2; exit 2; }; out=$2; shift 2 ;;
    *) echo "usage: $0 [--binary PATH] [--out ZIP]" >&2; exit 2 ;;
  esac
done

if [ -z "$binary" ]; then
  "$root/scripts/install-deps.sh" package
  generator=()
  [ -f "$root/build/CMakeCache.txt" ] || generator=(-G Ninja)
  cmake -S "$root" -B "$root/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release
  cmake --build "$root/build" --target ticket-booking-lambda
  binary="$root/build/ticket-booking-lambda"
fi
[ -x "$binary" ] || { echo "no binary at $binary" >&2; exit 1; }
for tool in zip advzip; do
  command -v $tool >/dev/null || { echo "$tool is missing: scripts/install-deps.sh package installs it" >&2; exit 1; }
done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib"
command -v strip >/dev/null || { echo "strip is missing: binutils (scripts/install-deps.sh build) has it" >&2; exit 1; }
strip --strip-unneeded -o "$stage/bin/ticket-booking" "$binary"

# ldd's lines: "name => /path (addr)", "/path/to/loader (addr)", or "linux-vdso.so.1 (addr)" (no file).
loader=""
while read -r line; do
  case "$line" in
    *"not found"*) echo "ldd: $line" >&2; exit 1 ;;
    *"=> /"*) path=${line#*=> }; path=${path%% (*} ;;
    /*) path=${line%% (*}; loader=$(basename "$path") ;;
    *) continue ;;
  esac
  cp -L "$path" "$stage/lib/"
done < <(ldd "$binary")
[ -n "$loader" ] || { echo "ldd named no dynamic loader for $binary" >&2; exit 1; }

# /bin/sh and shell builtins only: the runtime image has little else, and the test runs it with an
# empty PATH. The store is DynamoDB when DYNAMODB_TABLE is set (serverless.yml sets it), else the
# local one under /tmp, Lambda's only writable place.
cat > "$stage/bootstrap" <<BOOTSTRAP
#!/bin/sh
# Lambda's entry: the binary on the loader and libraries it was built with, never the system's.
case "\$0" in */*) here=\${0%/*} ;; *) here=. ;; esac
# Amazon Linux keeps its CA certificates where Debian's libcurl does not look.
[ -z "\${AWS_CA_BUNDLE:-}" ] && [ -f /etc/pki/tls/certs/ca-bundle.crt ] && export AWS_CA_BUNDLE=/etc/pki/tls/certs/ca-bundle.crt
exec "\$here/lib/$loader" --inhibit-cache --library-path "\$here/lib" "\$here/bin/ticket-booking" \\
  lambda --data-dir "\${TMPDIR:-/tmp}/ticket-booking-data"
BOOTSTRAP
chmod 755 "$stage/bootstrap" "$stage/bin/ticket-booking" "$stage/lib/$loader"

mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
rm -f "$out"
(cd "$stage" && zip -q -9 -r -X "$out" bootstrap bin lib)
# advzip recompresses each entry with 7-Zip's deflate: still plain deflate that Lambda unzips,
# about 4% smaller than zip -9, for a few seconds of CPU.
advzip --recompress -2 --quiet "$out"
size=$(stat -c %s "$out")
echo "packaged $out ($size bytes): bin/ticket-booking and $(ls "$stage/lib" | wc -l) libraries"
if [ "$size" -gt "$max_zip_bytes" ]; then
  echo "the zip is $size bytes, over the $max_zip_bytes-byte limit: is ticket-booking linked with" \
       "TB_STATIC_CXX_RUNTIME=ON (CMakeLists.txt)?" >&2
  exit 1
fi
