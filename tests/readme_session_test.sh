#!/usr/bin/env bash
# Runs the grpcurl session between <!-- session --> and <!-- /session --> in
# README.md (or the one between <!-- MARKER --> and <!-- /MARKER -->, e.g.
# the curl session) against a fresh webhookd on free loopback ports, and
# checks what it prints, so the README stays true.
#
# Every ```sh block of the session is joined, in order, into ONE bash script
# (set -euo pipefail), so shell variables flow from one command to the next.
# The commands run exactly as printed; the only changes are 127.0.0.1:7443
# becoming the test server's address (127.0.0.1:8080 its JSON API's) and
# `grpcurl` being found on PATH (a
# link to the installed binary comes first). A fenced block that directly
# follows an ```sh block (only blank lines between) is that block's expected
# standard output: the test compares the two after replacing ids
# (`sub_01m8...`) and RFC 3339 timestamps, which differ on every run.
#   readme_session_test.sh WEBHOOKD_BINARY README_PATH [MARKER]
set -euo pipefail
server=$1
readme=$2
marker=${3:-session}
GRPCURL=$(command -v grpcurl || echo "$(go env GOPATH 2>/dev/null)/bin/grpcurl")
if [ ! -x "$GRPCURL" ]; then
  echo "grpcurl not installed (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
if ! command -v jq >/dev/null; then
  echo "jq not installed (scripts/install-deps.sh installs it)" >&2
  exit 1
fi

work=$(mktemp -d)
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# The session's blocks: blocks/cmd.N (the Nth ```sh block) and
# blocks/expect.N (the fenced block right after it, if any).
mkdir "$work/blocks" "$work/bin"
sed -n "/^<!-- $marker -->\$/,/^<!-- \\/$marker -->\$/p" "$readme" | awk -v dir="$work/blocks" '
  /^```/ && fence == "" {
    lang = substr($0, 4)
    if (lang == "sh") { n++; fence = "cmd." n }
    else if (after_sh && n > 0) fence = "expect." n
    else fence = "-"
    if (fence != "-") printf "" > (dir "/" fence)
    after_sh = 0; next
  }
  /^```$/ { after_sh = (fence ~ /^cmd\./); fence = ""; next }
  fence != "" { if (fence != "-") print > (dir "/" fence); next }
  /[^[:space:]]/ { after_sh = 0 }
'
blocks=$(find "$work/blocks" -name 'cmd.*' | wc -l)
expected=$(find "$work/blocks" -name 'expect.*' | wc -l)
if [ "$blocks" -lt 2 ] || [ "$expected" -lt 1 ]; then
  echo "expected the README session with commands and outputs;" \
       "found $blocks command blocks, $expected outputs" >&2
  exit 1
fi

"$server" --listen=127.0.0.1:0 --data_dir="$work/data" \
  --http_listen=127.0.0.1:0 --http_port_file="$work/http_port" \
  --port_file="$work/port" 2>"$work/server.log" &
pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
if [ ! -s "$work/port" ]; then cat "$work/server.log" >&2; exit 1; fi
address="127.0.0.1:$(cat "$work/port")"
http_address="127.0.0.1:$(cat "$work/http_port")"

# One script: each block preceded by a marker line on standard output.
{
  echo 'set -euo pipefail'
  for i in $(seq "$blocks"); do
    echo "echo '@@readme-block $i'"
    cat "$work/blocks/cmd.$i"
  done
} >"$work/session.sh"
sed -i -e "s/127\.0\.0\.1:7443/$address/g" \
  -e "s/127\.0\.0\.1:8080/$http_address/g" "$work/session.sh"
ln -s "$GRPCURL" "$work/bin/grpcurl"

start=$(date +%s%N)
status=0
(cd "$work" && PATH="$work/bin:$PATH" timeout 45 bash session.sh) \
  >"$work/stdout" 2>"$work/stderr" || status=$?
elapsed_ms=$((($(date +%s%N) - start) / 1000000))

# The output of block N goes to out.N.
awk -v dir="$work/blocks" '
  /^@@readme-block [0-9]+$/ { file = dir "/out." $2; printf "" > file; next }
  file != "" { print > file }
' "$work/stdout"

for i in $(seq "$blocks"); do
  echo "--- block $i"
  sed 's/^/$ /' "$work/blocks/cmd.$i"
  [ -f "$work/blocks/out.$i" ] && head -c 3000 "$work/blocks/out.$i"
done
if [ "$status" -ne 0 ]; then
  echo "--- stderr"
  cat "$work/stderr"
  [ "$status" -eq 124 ] && echo "README session timed out after 45 s" >&2
  echo "README session failed (exit status $status)" >&2
  exit 1
fi

normalize() {
  sed -E \
    -e 's/\<([a-z]+)_[0-9a-z]{26}\>/\1_<id>/g' \
    -e 's/"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z"/"<time>"/g' \
    -e 's/[[:space:]]+$//' "$1"
}
failed=0
for i in $(seq "$blocks"); do
  [ -f "$work/blocks/expect.$i" ] || continue
  if ! diff -u --label "README (block $i)" --label "actual" \
      <(normalize "$work/blocks/expect.$i") \
      <(normalize "$work/blocks/out.$i"); then
    failed=1
  fi
done
if [ "$failed" -ne 0 ]; then
  echo "README session output differs from what README.md prints" \
       "(ids and timestamps are ignored)" >&2
  exit 1
fi
echo "README session: $blocks blocks ran as one script in ${elapsed_ms} ms," \
     "$expected printed outputs match"
