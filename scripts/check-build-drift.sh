#!/usr/bin/env bash
# Fails when the CMake and Bazel builds list different sources.
#
#   - every .cc under the source tree is named in a CMakeLists.txt and in a
#     BUILD.bazel (in its own directory or a parent's);
#   - every .h is named in a BUILD.bazel (Bazel needs every header declared;
#     CMake finds headers through include paths and names only a few);
#   - every protos/**/*.proto is named in cmake/protos.cmake and protos/BUILD.bazel;
#   - every .cc/.h/.proto that either build names exists.
#
# One exclusion: fuzz/ is CMake-only (libFuzzer targets need clang and
# -fsanitize=fuzzer; the Bazel toolchain is GCC), so its sources must be in
# fuzz/CMakeLists.txt but in no BUILD.bazel.
#
# Names are matched as written: CMake sources relative to their
# CMakeLists.txt, Bazel sources relative to their package ("//pkg:file" and
# ":file" labels are understood). A CMakeLists.txt that builds "${x}.cc" in a
# loop counts the bare names it lists. Bazel globs are not understood: list
# files explicitly.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Files of the source tree, without build outputs and vendored trees.
list_files() {
  find . \( -name .git -o -name 'build' -o -name 'build-*' -o -name 'bazel-*' \
            -o -name node_modules -o -name .venv -o -name vendor -o -name target \) -prune \
         -o -type f \( "$@" \) -print | sed 's|^\./||' | LC_ALL=C sort -u
}

list_files -name '*.cc' -o -name '*.h' -o -name '*.proto' >"$tmp/all"
grep -E '\.(cc|h)$' "$tmp/all" >"$tmp/sources" || true
grep -E '^protos/.*\.proto$' "$tmp/all" >"$tmp/protos" || true

# Named by CMake.
: >"$tmp/cmake"
while IFS= read -r f; do
  dir=$(dirname "$f")
  prefix=""; [ "$dir" != "." ] && prefix="$dir/"
  # Comments out, then every word ending in .cc/.h.
  sed 's/#.*//' "$f" | grep -oE '[A-Za-z0-9_./+-]+\.(cc|h)\b' | grep -vE '^[./]' | sed "s|^|$prefix|" >>"$tmp/cmake" || true
  # add_executable(${test} ${test}.cc) over a list of bare names.
  if grep -qE '\}\.cc' "$f"; then
    sed 's/#.*//' "$f" | grep -oE '[A-Za-z0-9_]+' | sort -u | while IFS= read -r w; do
      [ -f "$prefix$w.cc" ] && echo "$prefix$w.cc"
    done >>"$tmp/cmake" || true
  fi
  # Protos are named relative to protos/.
  sed 's/#.*//' "$f" | grep -oE '[A-Za-z0-9_./-]+\.proto\b' | sed 's|^|protos/|' >>"$tmp/cmake" || true
done < <(list_files -name CMakeLists.txt -o -name '*.cmake')

# Named by Bazel.
: >"$tmp/bazel"
while IFS= read -r f; do
  dir=$(dirname "$f")
  prefix=""; [ "$dir" != "." ] && prefix="$dir/"
  sed 's/#.*//' "$f" | grep -oE '"[^"]+\.(cc|h|proto)"' | tr -d '"' | while IFS= read -r s; do
    case "$s" in
      //*) s=${s#//}; echo "${s/://}" ;;
      :*) echo "$prefix${s#:}" ;;
      *) echo "$prefix$s" ;;
    esac
  done >>"$tmp/bazel" || true
done < <(list_files -name BUILD.bazel -o -name BUILD | grep -v '^bazel/')

LC_ALL=C sort -u -o "$tmp/cmake" "$tmp/cmake"
LC_ALL=C sort -u -o "$tmp/bazel" "$tmp/bazel"

problems=0
report() {  # title, file of paths
  if [ -s "$2" ]; then
    echo "build drift: $1:" >&2
    sed 's/^/  /' "$2" >&2
    problems=1
  fi
}

grep -E '\.cc$' "$tmp/sources" | LC_ALL=C comm -23 - "$tmp/cmake" >"$tmp/x" || true
report "in no CMakeLists.txt" "$tmp/x"
grep -v '^fuzz/' "$tmp/sources" | LC_ALL=C comm -23 - "$tmp/bazel" >"$tmp/x" || true
report "in no BUILD.bazel" "$tmp/x"
LC_ALL=C comm -23 "$tmp/protos" "$tmp/cmake" >"$tmp/x" || true
report "proto not in cmake/protos.cmake" "$tmp/x"
LC_ALL=C comm -23 "$tmp/protos" "$tmp/bazel" >"$tmp/x" || true
report "proto not in protos/BUILD.bazel" "$tmp/x"
LC_ALL=C comm -13 "$tmp/all" "$tmp/cmake" >"$tmp/x" || true
report "named in a CMakeLists.txt but missing" "$tmp/x"
LC_ALL=C comm -13 "$tmp/all" "$tmp/bazel" >"$tmp/x" || true
report "named in a BUILD.bazel but missing" "$tmp/x"

if [ "$problems" -ne 0 ]; then
  echo "build drift: CMake and Bazel list different sources; update the" \
       "BUILD.bazel next to the CMakeLists.txt (bazel/README.md)." >&2
  exit 1
fi
echo "check-build-drift: CMake and Bazel name the same $(wc -l <"$tmp/sources") sources and $(wc -l <"$tmp/protos") protos"
