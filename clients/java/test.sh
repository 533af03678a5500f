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
# network. Maven runs with -q (failures and their summary are still printed);
# on success the totals of the surefire reports are printed at the end.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

binary="${WEBHOOKD_BINARY:-$repo/build/server/webhookd}"
case "$binary" in /*) ;; *) binary="$PWD/$binary" ;; esac
export WEBHOOKD_BINARY="$binary"

cd "$here"
rm -rf target/surefire-reports # totals below are of this run only
# (Maven 3.8 prints stray colour resets even in batch mode; they are dropped.)
mvn -B -q -ntp -Dstyle.color=never verify "$@" 2>&1 | sed -u 's/\x1b\[0m//g'

# Totals over target/surefire-reports/TEST-*.xml, in surefire's words.
shopt -s nullglob
reports=(target/surefire-reports/TEST-*.xml)
if [ ${#reports[@]} -gt 0 ]; then
  sed -n 's/.*<testsuite \([^>]*\)>.*/\1/p' "${reports[@]}" | awk '
    { for (i = 1; i <= NF; i++) { split($i, kv, "="); gsub(/"/, "", kv[2]); n[kv[1]] += kv[2] } }
    END { printf "clients/java: %d test classes\nTests run: %d, Failures: %d, Errors: %d, Skipped: %d\n",
                 NR, n["tests"], n["failures"], n["errors"], n["skipped"] }'
fi
