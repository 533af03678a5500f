#!/usr/bin/env bash
# The Bazel build beside CMake (bazel/README.md): checks that the two builds
# list the same sources, then builds every Bazel target and runs every test
# (unit and end-to-end) with Bazel. Installs Debian's Bazel when missing.
#
#   scripts/bazel-test.sh                         # what scripts/test.sh runs
#   scripts/bazel-test.sh --test_tag_filters=-e2e # extra flags for `bazel test`
#
# Cheap on a machine that has run it before: objects are shared through the
# disk cache in ~/.cache/bazel-disk (any checkout path), so only what changed
# is compiled. Two jobs (.bazelrc).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/check-build-drift.sh

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}
packages=(bazel-bootstrap bazel-platforms bazel-rules-java)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bazel-test: installing ${missing[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Bazel 4 never trims its disk cache; start it over when it grows too big.
cache="$HOME/.cache/bazel-disk"
limit_mb=${WEBHOOKS_BAZEL_CACHE_MB:-6000}
if [ -d "$cache" ] && [ "$(du -sm "$cache" | cut -f1)" -gt "$limit_mb" ]; then
  echo "bazel-test: disk cache over ${limit_mb} MB; clearing $cache"
  rm -rf "$cache"
fi

# `bazel build //...` by hand needs every CMake build directory in the checkout
# listed in .bazelignore (bazel/README.md); say so when one is not.
for d in */CMakeCache.txt; do
  [ -e "$d" ] || continue
  d=${d%/CMakeCache.txt}
  grep -qxF "$d" .bazelignore 2>/dev/null \
    || echo "bazel-test: note: add $d to .bazelignore, or 'bazel build //...' descends into it" >&2
done

# The top-level packages, as patterns, rather than //...: a CMake build
# directory inside the checkout links back into the source tree, and //...
# would follow it unless .bazelignore names it.
patterns=()
while IFS= read -r top; do
  patterns+=("//$top/...")
done < <(find . \( -name .git -o -name 'build' -o -name 'build-*' -o -name 'bazel-*' \
                   -o -name bazel -o -name node_modules \) -prune \
              -o \( -name BUILD.bazel -o -name BUILD \) -print \
         | sed 's|^\./||' | grep / | cut -d/ -f1 | sort -u)
patterns+=("//:all")

# Go's bin directory holds grpcurl, for //tests:readme_session_test (the test
# environment gets PATH and HOME; see .bazelrc).
export PATH="$PATH:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"

start=$SECONDS
# Tests and what they need (webhookd is in the e2e tests' data) ...
bazel test --build_tests_only "$@" -- "${patterns[@]}"
# ... then the rest: the benchmark binaries, the libraries' other outputs.
bazel build -- "${patterns[@]}"
echo "bazel-test: built and tested in $((SECONDS - start)) s"
