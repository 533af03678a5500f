#!/usr/bin/env bash
# Tests the Python SDK against a real webhookd: makes (or reuses) a virtualenv
# in clients/python/.venv with the pinned dependencies, regenerates the
# protobuf modules, installs the package, and runs pytest.
#
#   WEBHOOKD_BINARY=build/server/webhookd clients/python/test.sh [pytest args]
#
# WEBHOOKD_BINARY defaults to build/server/webhookd in the repository; a
# relative path is taken from the directory this is run in.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

binary="${WEBHOOKD_BINARY:-$repo/build/server/webhookd}"
case "$binary" in /*) ;; *) binary="$PWD/$binary" ;; esac
export WEBHOOKD_BINARY="$binary"

python="${PYTHON:-python3}"
venv="$here/.venv"
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
# Reinstall only when the pins changed.
if ! cmp -s "$here/requirements-dev.txt" "$stamp"; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$here/requirements-dev.txt"
  cp "$here/requirements-dev.txt" "$stamp"
fi

PYTHON="$venv/bin/python" "$here/generate.sh"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  --no-build-isolation --no-deps -e "$here"

cd "$here"
exec "$venv/bin/python" -m pytest "$@"
