#!/usr/bin/env bash
# The unit and end-to-end tests (ctest) built with AddressSanitizer and
# UndefinedBehaviorSanitizer into build-asan/ (through ccache), run with
# every finding fatal. scripts/test.sh calls it.
#
#   scripts/sanitize-test.sh                  # the unit tests (CI)
#   WEBHOOKD_SANITIZE_ALL=1 scripts/sanitize-test.sh   # every ctest test
#   scripts/sanitize-test.sh -R storage_test  # extra ctest arguments
#
# By default only the unit tests (ctest label `unit`, target
# webhooks_unit_tests) are built and run: on a 2-core CI machine an ASan
# build of everything (every e2e binary links gRPC) does not fit the budget
# next to the rest of scripts/test.sh. The README ("Sanitizers and
# fuzzing") has the timings.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-asan}
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DWEBHOOKD_SANITIZE=address,undefined >/dev/null
fi
if [ "${WEBHOOKD_SANITIZE_ALL:-0}" = 1 ]; then
  BUILD_DIR="$BUILD_DIR" scripts/build.sh
  selection=()
else
  BUILD_DIR="$BUILD_DIR" scripts/build.sh --target webhooks_unit_tests
  selection=(-L unit)
fi

# Findings are fatal (halt_on_error; the build has -fno-sanitize-recover).
# detect_leaks=1: LeakSanitizer sees every allocation, instrumented or not,
# so leaks in Debian's gRPC or protobuf would show too; the few that are
# theirs, by design, are suppressed by name in lsan.supp (with why).
# UBSan's suppressions name the uninstrumented code it misreads (ubsan.supp).
supp="$PWD/scripts/sanitizers"
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:detect_invalid_pointer_pairs=0:print_suppressions=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$supp/ubsan.supp${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

# Debian's libsimdjson (not instrumented) frees with free() what was
# allocated with operator new inside its parser: ASan reports an
# alloc-dealloc mismatch in every test that parses a payload filter. Those
# tests (core_event_test, the only unit test that links simdjson) run with
# that one check off and every other check on; the rest run with all.
# WEBHOOKD_SANITIZE_KNOWN=1 runs them with the check on too.
simdjson_tests='^core_event_test\.'
cd "$BUILD_DIR"
if [ "${WEBHOOKD_SANITIZE_KNOWN:-0}" = 1 ]; then
  ctest --output-on-failure -j "$(nproc)" --timeout 900 "${selection[@]}" "$@"
else
  ctest --output-on-failure -j "$(nproc)" --timeout 900 "${selection[@]}" \
    -E "$simdjson_tests" "$@"
  ASAN_OPTIONS="$ASAN_OPTIONS:alloc_dealloc_mismatch=0" \
    ctest --output-on-failure -j "$(nproc)" --timeout 900 "${selection[@]}" \
    -R "$simdjson_tests" "$@"
fi
