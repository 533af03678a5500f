#!/usr/bin/env bash
# Installs what building and testing webhookd needs: Debian packages (jq for
# the README's grpcurl session among them), and grpcurl and the Go SDK's
# protoc plugins from the Go module proxy. Skips what is already there.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libabsl-dev libcurl4-openssl-dev libssl-dev
  libgtest-dev libgmock-dev openssl
  python3 python3-venv jq
)
GRPCURL_VERSION=v1.9.1

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v grpcurl >/dev/null 2>&1 && [ ! -x "$(go env GOPATH 2>/dev/null)/bin/grpcurl" ]; then
  if command -v go >/dev/null 2>&1; then
    echo "install-deps: installing grpcurl ${GRPCURL_VERSION}"
    go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@${GRPCURL_VERSION}"
  else
    echo "install-deps: go not found; grpcurl tests will be skipped" >&2
  fi
fi

# protoc plugins for the Go SDK, at the versions clients/go/generate.sh pins.
go_plugin() {  # binary package version
  local have
  have="$("$(go env GOPATH)/bin/$1" --version 2>/dev/null | awk '{print $NF}' || true)"
  if [ "${have#v}" != "${3#v}" ]; then
    echo "install-deps: installing $1 $3"
    go install "$2@$3"
  fi
}
if command -v go >/dev/null 2>&1; then
  go_generate="$(dirname "$0")/../clients/go/generate.sh"
  go_plugin protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go \
    "$(sed -n 's/^PROTOC_GEN_GO_VERSION=//p' "$go_generate")"
  go_plugin protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc \
    "$(sed -n 's/^PROTOC_GEN_GO_GRPC_VERSION=//p' "$go_generate")"
else
  echo "install-deps: go not found; the Go SDK cannot be tested" >&2
fi
