#!/bin/sh
# Static analysis of src/: cppcheck and clang-tidy, each with its
# configuration from this folder (suppressions and disabled checks are listed
# there with their reasons).  Needs a configured build dir for the compile
# commands.  usage: tests/lint/run.sh [BUILD_DIR]   (default: build)
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
status=0
[ -f "$build/compile_commands.json" ] || { echo "lint: no $build/compile_commands.json"; exit 1; }
files=$(ls src/*/*.c)

echo "lint: cppcheck"
cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,performance,portability \
  --inline-suppr --suppressions-list=tests/lint/cppcheck.supp \
  -D_POSIX_C_SOURCE=200809L -DTKN_BUILDING_LIBRARY -I include -I src -j 2 $files || status=1

echo "lint: clang-tidy"
# Two files at a time; a finding in the gate (see clang-tidy.yaml) fails.
printf '%s\n' $files | xargs -P 2 -n 4 clang-tidy --quiet --config-file=tests/lint/clang-tidy.yaml \
  -p "$build" >"$build/clang-tidy.log" 2>&1 || status=1
grep -E '(warning|error): ' "$build/clang-tidy.log" | sed 's|^.*/src/|src/|' | sort -u
errors=$(grep -c 'error: ' "$build/clang-tidy.log")
warnings=$(grep -c 'warning: ' "$build/clang-tidy.log")
echo "lint: clang-tidy: $errors errors, $warnings warnings (clang-analyzer-core.*, not gating)"
[ "$status" -eq 0 ] && echo "lint: clean" || echo "lint: FAILED"
exit $status
