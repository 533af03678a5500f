#!/usr/bin/env bash
# Regenerates webhooksv1/ (the Go code for protos/webhooks/v1) with pinned
# protoc-gen-go and protoc-gen-go-grpc.
#
#   clients/go/generate.sh            regenerate in place
#   clients/go/generate.sh --check    regenerate into a temporary directory and
#                                     fail (exit 1) if the committed code differs
set -euo pipefail

PROTOC_GEN_GO_VERSION=v1.36.11
PROTOC_GEN_GO_GRPC_VERSION=v1.6.1

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
module="github.com/webhookd/webhookd/clients/go"

# The plugins, at the pinned versions: from PATH or GOPATH/bin when they
# report the right version, otherwise installed into a per-version cache.
plugin() {  # name package version
  local name=$1 pkg=$2 version=$3 candidate
  for candidate in "$(command -v "$name" 2>/dev/null || true)" \
                   "$(go env GOPATH)/bin/$name"; do
    if [ -x "$candidate" ] &&
       [ "$("$candidate" --version 2>/dev/null | awk '{print $NF}' | sed 's/^v//')" = "${version#v}" ]; then
      echo "$candidate"; return
    fi
  done
  local bin="${XDG_CACHE_HOME:-$HOME/.cache}/webhookd/go-plugins/$name-$version"
  if [ ! -x "$bin/$name" ]; then
    echo "generate.sh: installing $pkg@$version" >&2
    GOBIN="$bin" GOFLAGS=-mod=mod go install "$pkg@$version" >&2
  fi
  echo "$bin/$name"
}
gen_go="$(plugin protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go "$PROTOC_GEN_GO_VERSION")"
gen_go_grpc="$(plugin protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION")"

generate() {  # output directory (receives webhooksv1/)
  local out=$1
  (cd "$root/protos" && protoc \
    --plugin=protoc-gen-go="$gen_go" \
    --plugin=protoc-gen-go-grpc="$gen_go_grpc" \
    --go_out="$out" --go_opt=module="$module" \
    --go-grpc_out="$out" --go-grpc_opt=module="$module" \
    webhooks/v1/*.proto)
}

if [ "${1:-}" = "--check" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  generate "$tmp"
  # The protoc version line differs between machines; everything else,
  # plugin versions included, must match byte for byte.
  strip() { sed -E '/^\/\/ +(- )?protoc +v[0-9]/d' "$1"; }
  stale=0
  for f in "$tmp"/webhooksv1/*.go; do
    name="$(basename "$f")"
    if [ ! -f "$here/webhooksv1/$name" ]; then
      echo "generate.sh: webhooksv1/$name is missing" >&2; stale=1
    elif ! diff -u <(strip "$here/webhooksv1/$name") <(strip "$f") >&2; then
      echo "generate.sh: webhooksv1/$name is stale" >&2; stale=1
    fi
  done
  for f in "$here"/webhooksv1/*.pb.go; do
    [ -e "$f" ] || continue
    if [ ! -f "$tmp/webhooksv1/$(basename "$f")" ]; then
      echo "generate.sh: webhooksv1/$(basename "$f") has no proto any more" >&2; stale=1
    fi
  done
  if [ "$stale" -ne 0 ]; then
    echo "generate.sh: generated code is stale; run clients/go/generate.sh and commit" >&2
    exit 1
  fi
  echo "generate.sh: webhooksv1/ is up to date"
  exit 0
fi

rm -f "$here"/webhooksv1/*.pb.go
generate "$here"
echo "generate.sh: regenerated $here/webhooksv1"
