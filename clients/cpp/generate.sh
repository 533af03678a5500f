#!/usr/bin/env bash
# Regenerates the C++ code of protos/webhooks/v1 (messages and gRPC stubs)
# that the C++ SDK builds on: the CMake target webhooks_api_proto (protoc and
# grpc_cpp_plugin), written to <build dir>/gen/api/webhooks/v1/. Nothing
# generated is committed, so there is nothing to compare with.
#
#   clients/cpp/generate.sh [build dir]    (default: build/ at the repository root)
#
# Configures the build directory first when it has not been (Ninja,
# RelWithDebInfo, ccache when installed: as scripts/build.sh does). JOBS sets
# the parallel jobs (default: nproc).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build_dir=${1:-$root/build}
case "$build_dir" in /*) ;; *) build_dir="$PWD/$build_dir" ;; esac

cd "$root"
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$build_dir" --target webhooks_api_proto -j "${JOBS:-$(nproc)}"
echo "generate.sh: $build_dir/gen/api/webhooks/v1 is up to date with protos/"
