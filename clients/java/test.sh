#!/usr/bin/env bash
# Tests the Java SDK: generates the stubs from protos/webhooks/v1, compiles,
# and runs the JUnit tests (surefire) against a real webhookd process and a
# local HTTP receiver.
#
#   WEBHOOKD_BINARY="$PWD/build/server/webhookd" clients/java/test.sh [mvn args]
#
# WEBHOOKD_BINARY defaults to build/server/webhookd in the repository; a
# relative path is taken from the directory this is run in. Maven downloads
# the plugins and dependencies into ~/.m2 on the first run; later runs need no
# network.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

binary="${WEBHOOKD_BINARY:-$repo/build/server/webhookd}"
case "$binary" in /*) ;; *) binary="$PWD/$binary" ;; esac
export WEBHOOKD_BINARY="$binary"

cd "$here"
exec mvn -B -ntp -Dstyle.color=never verify "$@"
