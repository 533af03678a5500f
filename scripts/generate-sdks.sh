#!/usr/bin/env bash
# Regenerates every SDK's code from protos/webhooks/v1: runs
# clients/<sdk>/generate.sh for each SDK directory that has one, in name
# order, goes on when one fails, and fails at the end if any did.
#
#   scripts/generate-sdks.sh [SDK...]           regenerate (all SDKs, or those named)
#   scripts/generate-sdks.sh --check [SDK...]   check committed generated code
#
# --check is passed only to a generate.sh that supports it (one that mentions
# --check; today only Go, the one SDK that commits its generated code). It
# must write nothing and fail when the committed code is stale. The others
# (Python, TypeScript and Java today) generate their code at build time and
# commit none, so there is nothing to check: they are listed as not checked,
# and not run.
#
# Each generate.sh has its own prerequisites (see its header): Go's pinned
# protoc plugins, grpcio-tools for Python (the virtualenv clients/python/test.sh
# makes is used when PYTHON is not set), `npm ci` for TypeScript, a JDK and
# Maven for Java.
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
wanted=()
for arg in "$@"; do
  case "$arg" in
    --check) check=1 ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    -*) echo "generate-sdks: unknown option $arg" >&2; exit 2 ;;
    *) wanted+=("${arg%/}") ;;
  esac
done

sdks=()
for script in clients/*/generate.sh; do
  [ -f "$script" ] || continue
  sdks+=("$(basename "$(dirname "$script")")")
done
for sdk in "${wanted[@]}"; do
  if [ ! -f "clients/$sdk/generate.sh" ]; then
    echo "generate-sdks: no clients/$sdk/generate.sh (SDKs: ${sdks[*]:-none})" >&2
    exit 2
  fi
done
[ ${#wanted[@]} -eq 0 ] || sdks=("${wanted[@]}")
if [ ${#sdks[@]} -eq 0 ]; then
  echo "generate-sdks: no clients/*/generate.sh" >&2
  exit 1
fi

if [ -z "${PYTHON:-}" ] && [ -x clients/python/.venv/bin/python ]; then
  export PYTHON="$PWD/clients/python/.venv/bin/python"
fi

ok=() failed=() skipped=()
for sdk in "${sdks[@]}"; do
  script="clients/$sdk/generate.sh"
  args=()
  if [ "$check" -eq 1 ]; then
    if ! grep -q -e '--check' "$script"; then
      skipped+=("$sdk")
      continue
    fi
    args=(--check)
  fi
  echo "== $sdk: $script${args[*]:+ ${args[*]}}"
  start=$(date +%s)
  if bash "$script" "${args[@]}"; then
    ok+=("$sdk $(($(date +%s) - start)) s")
  else
    echo "generate-sdks: $script${args[*]:+ ${args[*]}} failed (prerequisites: see its header)" >&2
    failed+=("$sdk")
  fi
done

join() { local IFS=,; echo "$*" | sed 's/,/, /g'; }
echo "generate-sdks: $([ "$check" -eq 1 ] && echo checked || echo generated):" \
     "$(join "${ok[@]}")"
if [ ${#skipped[@]} -gt 0 ]; then
  echo "generate-sdks: not checked (their generate.sh has no --check):" \
       "$(join "${skipped[@]}")"
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "generate-sdks: failed: $(join "${failed[@]}")" >&2
  exit 1
fi
