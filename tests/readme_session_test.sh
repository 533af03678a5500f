#!/usr/bin/env bash
# Runs the grpcurl session between <!-- session --> and <!-- /session --> in
# README.md, command by command, against a fresh webhookd on a free loopback
# port. Fails when any command fails, so the README stays true.
#   readme_session_test.sh WEBHOOKD_BINARY README_PATH
set -euo pipefail
server=$1
readme=$2
GRPCURL=$(command -v grpcurl || echo "$(go env GOPATH 2>/dev/null)/bin/grpcurl")
if [ ! -x "$GRPCURL" ]; then
  echo "grpcurl not installed (scripts/install-deps.sh installs it)" >&2
  exit 1
fi

work=$(mktemp -d)
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

"$server" --listen=127.0.0.1:0 --data_dir="$work/data" \
  --port_file="$work/port" 2>"$work/server.log" &
pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
if [ ! -s "$work/port" ]; then cat "$work/server.log" >&2; exit 1; fi
address="127.0.0.1:$(cat "$work/port")"

# The session block as one command per line: continuation lines ("\" at
# the end, or an open single quote) are joined.
sed -n '/<!-- session -->/,/<!-- \/session -->/p' "$readme" \
  | sed '/^```/d; /^<!--/d' \
  | awk '{
      line = (pending == "" ? "" : pending " ") $0
      quotes = gsub(/\047/, "\047", line)
      if (line ~ /\\$/) { sub(/\\$/, "", line); pending = line; next }
      if (quotes % 2 == 1) { pending = line; next }
      print line; pending = ""
    }' >"$work/commands"

count=0
while IFS= read -r command; do
  [ -z "$command" ] && continue
  command=${command//127.0.0.1:7443/$address}
  command=${command/#grpcurl/$GRPCURL}
  echo "\$ $command"
  if ! bash -c "$command" >"$work/out" 2>&1; then
    cat "$work/out"
    echo "README command failed" >&2
    exit 1
  fi
  head -c 2000 "$work/out"
  count=$((count + 1))
done <"$work/commands"
[ "$count" -ge 5 ] || { echo "expected the README session, found $count commands" >&2; exit 1; }
echo "README session: $count commands passed"
