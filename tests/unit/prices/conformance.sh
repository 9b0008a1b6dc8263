#!/bin/sh
# Conformance of usage normalisation and costs with @pydantic/genai-prices
# (pinned), installed with tests/tools/npm-peer.sh.  Skips (77) when node or
# the npm registry is not available.
# usage: conformance.sh HELPER_EXE SCRIPT [ARG...] (ARGs go to the script)
set -u
helper=$1 script=$2
shift 2
command -v node >/dev/null 2>&1 || { echo "SKIP: node is not installed"; exit 77; }
root=${TKN_SOURCE_ROOT:-$(dirname "$0")/../../..}
peer=$(sh "$root/tests/tools/npm-peer.sh" genai-prices @pydantic/genai-prices@0.1.8) || {
  echo "SKIP: cannot install @pydantic/genai-prices from npm"; exit 77; }
exec node "$script" "$peer" "$helper" "$@"
