#!/usr/bin/env bash
# Installs what building and testing webhookd needs: Debian packages (jq for
# the README's grpcurl session among them; clang-15 and libFuzzer for
# scripts/fuzz.sh; chromium and chromium-driver for the web console's
# browser test), Node.js 20 or newer for the TypeScript SDK and the console
# (the official tarball from nodejs.org into /usr/local, since Debian 12's
# nodejs is 18), and grpcurl and the Go SDK's protoc plugins from
# the Go module proxy. Skips what is already there, and says nothing then.
#
# NODE_DIST (default https://nodejs.org/dist) and NODE_PREFIX (default
# /usr/local) say where Node.js comes from and goes.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libabsl-dev libcurl4-openssl-dev libssl-dev libsimdjson-dev
  libgtest-dev libgmock-dev openssl
  python3 python3-venv jq maven openjdk-17-jdk-headless
  curl ca-certificates xz-utils
  clang-15 libfuzzer-15-dev
  postgresql-15 libpq-dev libmicrohttpd-dev libgoogle-perftools-dev
  chromium chromium-driver
)
GRPCURL_VERSION=v1.9.1
NODE_MAJOR=20
NODE_DIST=${NODE_DIST:-https://nodejs.org/dist}
NODE_PREFIX=${NODE_PREFIX:-/usr/local}

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

# Node.js: the newest release of line $NODE_MAJOR, checked against the
# release's SHASUMS256.txt, unpacked into $NODE_PREFIX (bin, include, lib,
# share). Kept when `node` is already $NODE_MAJOR or newer.
node_major() {  # [node binary]
  { "${1:-node}" --version 2>/dev/null || true; } | sed -n 's/^v\([0-9][0-9]*\)\..*/\1/p'
}
install_node() (  # a subshell: its own EXIT trap, and `exit` ends only it
  fail() { echo "install-deps: Node.js $NODE_MAJOR: $*" >&2; exit 1; }
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64) arch=arm64 ;;
    *) fail "no tarball for $(uname -m); install it by hand" ;;
  esac
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  release="$NODE_DIST/latest-v$NODE_MAJOR.x"
  curl -fsSL "$release/SHASUMS256.txt" -o "$tmp/SHASUMS256.txt" ||
    fail "cannot fetch $release/SHASUMS256.txt"
  name="$(awk -v suffix="-linux-$arch.tar.xz" \
            '$2 ~ /^node-v[0-9.]+-/ && substr($2, length($2) - length(suffix) + 1) == suffix {print $2}' \
            "$tmp/SHASUMS256.txt")"
  [ -n "$name" ] || fail "no linux-$arch tarball in $release"
  dir="${name%.tar.xz}"
  version="${dir#node-}"
  echo "install-deps: installing Node.js ${version%-linux-*} into $NODE_PREFIX"
  curl -fsSL "$release/$name" -o "$tmp/$name" || fail "cannot fetch $release/$name"
  (cd "$tmp" && grep "  $name\$" SHASUMS256.txt | sha256sum -c --quiet -) ||
    fail "$name does not match its SHA-256 in SHASUMS256.txt"
  sudo_if_needed mkdir -p "$NODE_PREFIX" &&
    sudo_if_needed tar -xJf "$tmp/$name" -C "$NODE_PREFIX" --strip-components=1 \
      "$dir/bin" "$dir/include" "$dir/lib" "$dir/share" ||
    fail "cannot unpack $name into $NODE_PREFIX"
  installed="$(node_major "$NODE_PREFIX/bin/node")"
  [ -n "$installed" ] && [ "$installed" -ge "$NODE_MAJOR" ] ||
    fail "$NODE_PREFIX/bin/node does not run"
  hash -r
  if [ "$(command -v node)" != "$NODE_PREFIX/bin/node" ]; then
    echo "install-deps: node on PATH is $(command -v node || echo missing)," \
         "not $NODE_PREFIX/bin/node: put $NODE_PREFIX/bin first in PATH" >&2
  fi
)
have_node="$(node_major)"
if [ -z "$have_node" ] || [ "$have_node" -lt "$NODE_MAJOR" ]; then
  install_node
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
