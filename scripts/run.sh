#!/usr/bin/env bash
# Installs dependencies, builds, and runs webhookd in the foreground with its
# RocksDB data in ./data. Extra arguments go to webhookd, e.g.
#   scripts/run.sh --config=webhookd.textproto --allow_http_targets
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh --target webhookd
exec build/server/webhookd --data_dir=./data "$@"
