#!/usr/bin/env bash
# Installs what building and testing webhookd needs: Debian packages, and
# grpcurl from the Go module proxy. Skips what is already there.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libabsl-dev libcurl4-openssl-dev libssl-dev
  libgtest-dev libgmock-dev openssl
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
