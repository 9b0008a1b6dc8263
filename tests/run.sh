#!/bin/sh
# The whole test suite, as `make test` runs it:
#   1. a gcc build, every suite (unit, abi, conformance);
#   2. a clang build with address + undefined sanitizers: the unit suite, and a
#      short run of each libFuzzer harness (suite fuzz);
# then one closing line: "tests: N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ASAN_BUILD=${ASAN_BUILD:-build-asan}
jobs=$(nproc 2>/dev/null || echo 2)
status=0

configure() { # DIR [meson options...]
  dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
    rm -f "$dir.setup.log"
  fi
}

run_build() { # DIR SUITE-ARGS...
  dir=$1; shift
  meson compile -C "$dir" || return 1
  meson test -C "$dir" --print-errorlogs --num-processes "$jobs" "$@"
}

configure "$BUILD" && run_build "$BUILD" || status=1

CC=clang configure "$ASAN_BUILD" -Db_sanitize=address,undefined -Db_lundef=false \
  -Dc_args=-fno-sanitize-recover=all -Dfuzz=true &&
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_build "$ASAN_BUILD" --suite unit --suite fuzz || status=1

python3 tests/tools/summary.py "$BUILD" "$ASAN_BUILD"
exit $status
