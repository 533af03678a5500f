#!/usr/bin/env bash
# Builds the web console into OUT_DIR (default dist/): npm ci when
# node_modules is missing or older than the lock file, TypeScript code from
# the protos (protoc + protoc-gen-es) into src/gen, a type check (tsc), and
# the bundle (esbuild, build.mjs). Serialized by a lock: several builds may
# share this source tree.
set -euo pipefail
cd "$(dirname "$0")"
out="$(mkdir -p "$(dirname "${1:-dist}")" && cd "$(dirname "${1:-dist}")" && pwd)/$(basename "${1:-dist}")"
command -v node >/dev/null || { echo "console/build.sh: node not found" >&2; exit 1; }
exec 9>.build.lock
flock 9
lock_sum="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
stamp=node_modules/.webhookd-lock.sha256
if [ ! -d node_modules ] || [ "$(cat "$stamp" 2>/dev/null || true)" != "$lock_sum" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > "$stamp"
fi
rm -rf src/gen && mkdir -p src/gen
protoc -I ../protos --plugin=protoc-gen-es=node_modules/.bin/protoc-gen-es \
  --es_out=src/gen --es_opt=target=ts \
  ../protos/webhooks/v1/*.proto
node_modules/.bin/tsc -p tsconfig.json
node build.mjs "$out"
