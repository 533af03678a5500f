#!/usr/bin/env bash
# Installs the SDK (component webhooks_client) from a built CMake build
# directory into a temporary prefix, then configures, builds and runs
# example/ against it through find_package(webhooks_client CONFIG).
#
#   clients/cpp/example/consumer_test.sh <build dir> [generator] [compiler launcher] [sanitizers]
#
# [sanitizers]: the build's WEBHOOKD_SANITIZE (e.g. address,undefined); the
# installed library then needs the example built and linked with them too.
set -euo pipefail
build_dir=$1
generator=${2:-Ninja}
launcher=${3:-}
sanitize=${4:-}
example_dir=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build_dir" --component webhooks_client --prefix "$tmp/prefix" >"$tmp/install.log"
args=(-S "$example_dir" -B "$tmp/build" -G "$generator"
      -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$tmp/prefix")
[ -n "$launcher" ] && args+=(-DCMAKE_CXX_COMPILER_LAUNCHER="$launcher")
[ -n "$sanitize" ] && args+=(-DCMAKE_CXX_FLAGS="-fsanitize=$sanitize"
                             -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=$sanitize")
if ! cmake "${args[@]}" >"$tmp/configure.log" 2>&1; then
  cat "$tmp/configure.log" >&2
  exit 1
fi
cmake --build "$tmp/build"
"$tmp/build/webhooks_client_example"
