#!/usr/bin/env bash
# Tests the Go SDK: the committed generated code must be what generate.sh
# produces now (fails if stale), then gofmt, go vet and go test against a real
# webhookd process. The server binary comes from $WEBHOOKD_BINARY (default
# ../../build/server/webhookd, the CMake build). Extra arguments go to go test.
set -euo pipefail
if [ -n "${WEBHOOKD_BINARY:-}" ]; then
  WEBHOOKD_BINARY="$(cd "$(dirname "$WEBHOOKD_BINARY")" && pwd)/$(basename "$WEBHOOKD_BINARY")"
  export WEBHOOKD_BINARY
fi
cd "$(dirname "$0")"

./generate.sh --check
unformatted="$(gofmt -l .)"
if [ -n "$unformatted" ]; then
  echo "test.sh: not gofmt-formatted: $unformatted" >&2
  exit 1
fi
go vet ./...
go test -count=1 "$@" ./...
