#!/bin/sh
# Line and branch coverage of src/: a gcc build with -Db_coverage=true, the
# suites that exercise it (unit: the library and the Redis adapter on a real
# server; cli: the command-line program src/cli/; redis: the adapter's fleet
# and fault runs), then gcovr.  Fails if lines fall under 90% or branches
# under 80% over the whole of src/.  Prints one row per part (src/<part>/),
# and writes the per-file tables to BUILD_DIR/coverage.txt (branches) and
# BUILD_DIR/coverage-lines.txt (lines).
# usage: tests/coverage.sh [BUILD_DIR] (build-cov)
set -u
cd "$(dirname "$0")/.."
dir=${1:-build-cov}
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" -Db_coverage=true -Dbuildtype=debug -Dwerror=true >"$dir.setup.log" 2>&1 ||
    { cat "$dir.setup.log"; exit 1; }
  rm -f "$dir.setup.log"
else
  meson configure "$dir" -Dwerror=true
fi
meson compile -C "$dir" || exit 1
find "$dir" -name '*.gcda' -delete
# a debug build with every branch counted runs the cli suite several times
# slower than the release build (test_cli.py: 19 s there, 270 s here on a busy
# 2-core machine), so the timeouts are tripled: this step measures coverage,
# not speed
meson test -C "$dir" --suite unit --suite cli --suite redis \
  --num-processes "$(nproc 2>/dev/null || echo 2)" --timeout-multiplier 3 --print-errorlogs ||
  exit 1
gcovr -r . --object-directory "$dir" --filter 'src/' -b --txt "$dir/coverage.txt" \
  --json-summary "$dir/coverage.json" || exit 1
python3 tests/tools/coverage_parts.py "$dir/coverage.json" || exit 1
gcovr -r . --object-directory "$dir" --filter 'src/' --print-summary \
  --fail-under-line 90 --fail-under-branch 80 -o "$dir/coverage-lines.txt"
rc=$?
echo "coverage: per-file tables in $dir/coverage.txt (branches) and $dir/coverage-lines.txt (lines)"
exit $rc
