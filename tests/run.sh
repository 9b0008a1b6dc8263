#!/bin/sh
# The whole test suite, as `make test` runs it:
#   1. a gcc build, every suite (unit, abi, conformance), then the unit suite
#      again under valgrind memcheck (zero errors, no definite leaks);
#   2. a clang build with address + undefined sanitizers: the unit suite, and a
#      short run of each libFuzzer harness (suite fuzz, FUZZ_SMOKE_SECONDS each);
#   3. a clang build with the thread sanitizer: the unit suite (the concurrency
#      test and every part's thread tests);
#   4. static analysis (tests/lint/run.sh: cppcheck, clang-tidy);
#   5. coverage of src/ by the unit, cli and redis suites (gcc, gcovr),
#      failing under 90% of lines or 80% of branches;
# then one closing line: "tests: N passed, N failed, N skipped" (steps 4 and 5
# count as one test each).
# Set TKN_SKIP_VALGRIND=1, TKN_SKIP_TSAN=1, TKN_SKIP_LINT=1 or
# TKN_SKIP_COVERAGE=1 to leave a step out on a quick local run.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ASAN_BUILD=${ASAN_BUILD:-build-asan}
TSAN_BUILD=${TSAN_BUILD:-build-tsan}
COV_BUILD=${COV_BUILD:-build-cov}
FUZZ_SMOKE_SECONDS=${FUZZ_SMOKE_SECONDS:-4}
jobs=$(nproc 2>/dev/null || echo 2)
status=0
builds="$BUILD"

# Warnings are errors here (CI), not in a default build: the next compiler's
# new warning must not break a packager's build, but it must break ours.
configure() { # DIR [meson options...]
  dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" -Dwerror=true "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
    rm -f "$dir.setup.log"
  else
    meson configure "$dir" -Dwerror=true
  fi
}

run_build() { # DIR SUITE-ARGS...
  dir=$1; shift
  meson compile -C "$dir" || return 1
  meson test -C "$dir" --print-errorlogs --num-processes "$jobs" "$@"
}

configure "$BUILD" && run_build "$BUILD" || status=1

if [ "${TKN_SKIP_VALGRIND:-0}" != 1 ]; then
  echo "== valgrind memcheck: unit suite ($BUILD)"
  meson test -C "$BUILD" --setup valgrind --suite unit --print-errorlogs \
    --num-processes "$jobs" || status=1
fi

echo "== address + undefined sanitizers: unit suite and fuzz smoke ($ASAN_BUILD)"
CC=clang configure "$ASAN_BUILD" -Db_sanitize=address,undefined -Db_lundef=false \
  -Dc_args=-fno-sanitize-recover=all -Dfuzz=true &&
  meson configure "$ASAN_BUILD" -Dfuzz_seconds="$FUZZ_SMOKE_SECONDS" &&
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_build "$ASAN_BUILD" --suite unit --suite fuzz || status=1
builds="$builds $ASAN_BUILD"

if [ "${TKN_SKIP_TSAN:-0}" != 1 ]; then
  echo "== thread sanitizer: unit suite ($TSAN_BUILD)"
  CC=clang configure "$TSAN_BUILD" -Db_sanitize=thread -Db_lundef=false &&
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    run_build "$TSAN_BUILD" --suite unit || status=1
  builds="$builds $TSAN_BUILD"
fi

# the steps that are not meson tests count as one test each in the closing line
steps=""
if [ "${TKN_SKIP_LINT:-0}" != 1 ]; then
  echo "== static analysis"
  if sh tests/lint/run.sh "$BUILD"; then steps="$steps --step lint=pass"
  else steps="$steps --step lint=fail"; status=1; fi
else
  steps="$steps --step lint=skip"
fi

if [ "${TKN_SKIP_COVERAGE:-0}" != 1 ]; then
  echo "== coverage ($COV_BUILD)"
  if sh tests/coverage.sh "$COV_BUILD"; then steps="$steps --step coverage=pass"
  else steps="$steps --step coverage=fail"; status=1; fi
  builds="$builds $COV_BUILD"
else
  steps="$steps --step coverage=skip"
fi

python3 tests/tools/summary.py $steps $builds || status=1
exit $status
