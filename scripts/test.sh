#!/usr/bin/env bash
# Installs dependencies, builds everything, and runs every test: the C++
# unit and end-to-end tests (ctest, real server processes on loopback port 0,
# real RocksDB in temporary directories) and the README's grpcurl session;
# then the same with Bazel (scripts/bazel-test.sh; WEBHOOKS_BAZEL=0 skips it).
# First of all, the CMake and Bazel builds must list the same sources.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/check-build-drift.sh
scripts/install-deps.sh
scripts/build.sh
export PATH="$PATH:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"
(cd build && ctest --output-on-failure -j "$(nproc)" --timeout 600)
# The Python SDK: pinned venv, generated code, pytest against this build.
WEBHOOKD_BINARY=build/server/webhookd clients/python/test.sh
# The Go SDK: generated code fresh, gofmt, go vet, go test against this build.
WEBHOOKD_BINARY="$PWD/build/server/webhookd" clients/go/test.sh
# The TypeScript SDK: npm ci if needed, ts-proto code, tsc, node --test against this build.
WEBHOOKD_BINARY="$PWD/build/server/webhookd" clients/typescript/test.sh
if [ "${WEBHOOKS_BAZEL:-1}" != 0 ]; then
  scripts/bazel-test.sh
fi
