#!/bin/sh
# Schema validation: tokenomy against ajv 8 (npm, installed here at run time)
# on the same schemas and documents: the JSON Schema Test Suite (draft
# 2020-12) and generated structured-output replies.  Validation is timed on
# parsed documents; parsing is shown apart.
# Rerun: meson test -C build --benchmark --suite bench -v schema
#    or: TKN_BUILD_ROOT=build TKN_CONFORMANCE_DIR=../shared/conformance \
#        tests/bench/schema/bench_schema.sh build/tests/bench/schema/bench_schema
set -eu
exe=$1
here=$(cd "$(dirname "$0")" && pwd)
suite=${TKN_CONFORMANCE_DIR:-}/json-schema-test-suite/draft2020-12
if [ ! -d "$suite" ]; then
  echo "SKIP: JSON Schema Test Suite not found at $suite"; exit 77
fi
command -v node >/dev/null || { echo "SKIP: node not found"; exit 77; }
peer=$(sh "$here/../../tools/npm-peer.sh" ajv ajv@8.17.1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "rerun: meson test -C <builddir> --benchmark --suite bench -v schema"
echo "inputs: $suite (every group ajv compiles) + 1800 generated replies for 3 schemas (seed 12345)"
NODE_PATH="$peer/node_modules" node "$here/ajv_bench.js" emit "$suite" "$work/cases.json"
"$exe" "$work/cases.json" "$work/c.json"
NODE_PATH="$peer/node_modules" node "$here/ajv_bench.js" time "$work/cases.json" "$work/c.json"
echo "node $(node --version), ajv $(NODE_PATH="$peer/node_modules" node -p 'require("ajv/package.json").version')"
