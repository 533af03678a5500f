#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang-15, ASan and UBSan into
# build-fuzz/, then runs each for FUZZ_SECONDS (default 20) on its seed
# corpus fuzz/corpus/<target>/. Every seed (and every crash input committed
# there) runs first, so a fixed crash that comes back fails at once. New
# inputs go to build-fuzz/corpus/<target>/, crashes to
# build-fuzz/artifacts/; the repo corpus is read-only here.
#
#   scripts/fuzz.sh                          # what scripts/test.sh runs
#   FUZZ_SECONDS=3600 scripts/fuzz.sh target_url_fuzzer   # a longer run
#   FUZZ_JOBS=2 ...                          # parallel jobs per target
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
FUZZ_JOBS=${FUZZ_JOBS:-1}
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  CC=clang-15 CXX=clang++-15 cmake -S . -B "$BUILD_DIR" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEBHOOKD_FUZZ=ON \
    -DWEBHOOKD_SANITIZE=address,undefined >/dev/null
fi
BUILD_DIR="$BUILD_DIR" scripts/build.sh --target fuzzers

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=($(sed -n '/^set(WEBHOOKS_FUZZERS/,/)/p' fuzz/CMakeLists.txt |
             grep -oE '[a-z_]+_fuzzer'))
fi

# Symbolized stacks (llvm-symbolizer is not on PATH by default).
export ASAN_SYMBOLIZER_PATH="${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer-15 || command -v llvm-symbolizer || true)}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}"
mkdir -p "$BUILD_DIR/artifacts"
parallel=()  # -jobs writes fuzz-<n>.log files into the current directory
if [ "$FUZZ_JOBS" -gt 1 ]; then
  parallel=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS")
fi
failed=()
for target in "${targets[@]}"; do
  seeds="fuzz/corpus/$target"
  work="$BUILD_DIR/corpus/$target"
  mkdir -p "$work"
  log="$BUILD_DIR/artifacts/$target.log"
  echo "fuzz: $target for ${FUZZ_SECONDS}s ($(ls "$seeds" | wc -l) seeds)"
  # -rss_limit_mb/-malloc_limit_mb: an input that makes us allocate more
  # than 2 GiB is a finding too; -timeout: so is one that takes 10 s.
  if ! "$BUILD_DIR/fuzz/$target" -max_total_time="$FUZZ_SECONDS" \
       -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
       "${parallel[@]}" \
       -artifact_prefix="$BUILD_DIR/artifacts/$target-" \
       -print_final_stats=1 "$work" "$seeds" >"$log" 2>&1; then
    failed+=("$target")
    tail -n 60 "$log" >&2
  else
    grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$log" | tail -n 2 |
      sed 's/^/  /' || true
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in $BUILD_DIR/artifacts/)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${FUZZ_SECONDS}s each without a finding"
