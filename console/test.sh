#!/usr/bin/env bash
# Tests the web console in a real browser: builds it (build.sh) into dist/,
# then runs test/*.test.mjs with node's test runner, driving Debian's
# chromium with playwright-core against a real webhookd ($WEBHOOKD_BINARY,
# default ../build/server/webhookd) and a real receiver. Screenshots of the
# main pages land in screenshots/ (shown in the README).
set -euo pipefail
if [ -n "${WEBHOOKD_BINARY:-}" ]; then
  WEBHOOKD_BINARY="$(cd "$(dirname "$WEBHOOKD_BINARY")" && pwd)/$(basename "$WEBHOOKD_BINARY")"
  export WEBHOOKD_BINARY
fi
cd "$(dirname "$0")"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] ||
  { echo "console/test.sh: no chromium (scripts/install-deps.sh installs it)" >&2; exit 1; }
./build.sh dist
node --test --test-concurrency=1 --test-timeout=120000 test/*.test.mjs
