#!/usr/bin/env bash
# Installs dependencies, builds, and runs webhookd in the foreground with its
# RocksDB data in ./data, gRPC on 127.0.0.1:7443 and the JSON API and the
# web console (built with webhookd) on http://127.0.0.1:8080/. Extra
# arguments go to webhookd, e.g.
#   scripts/run.sh --config=webhookd.textproto --allow_http_targets
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh --target webhookd
exec build/server/webhookd --data_dir=./data --http_listen=127.0.0.1:8080 "$@"
