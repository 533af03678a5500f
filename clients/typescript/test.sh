#!/usr/bin/env bash
# Tests the TypeScript SDK: npm ci (when node_modules is missing or the lock
# file changed), then `npm test`: generate src/gen with ts-proto, build with
# tsc (type check), build the tests, and run them with node's test runner
# against a real webhookd process. The server binary comes from
# $WEBHOOKD_BINARY (default ../../build/server/webhookd, the CMake build).
set -euo pipefail
if [ -n "${WEBHOOKD_BINARY:-}" ]; then
  WEBHOOKD_BINARY="$(cd "$(dirname "$WEBHOOKD_BINARY")" && pwd)/$(basename "$WEBHOOKD_BINARY")"
  export WEBHOOKD_BINARY
fi
cd "$(dirname "$0")"

command -v node >/dev/null || { echo "test.sh: node not found (apt-get install nodejs npm)" >&2; exit 1; }
lock_sum="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
stamp=node_modules/.webhookd-lock.sha256
if [ ! -d node_modules ] || [ "$(cat "$stamp" 2>/dev/null || true)" != "$lock_sum" ]; then
  npm ci --no-audit --no-fund
  echo "$lock_sum" > "$stamp"
fi
npm test
