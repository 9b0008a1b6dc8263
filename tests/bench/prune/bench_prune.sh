#!/bin/sh
# Runs the prune benchmark with @langchain/core installed (pinned) for the
# side-by-side; without node / npm it runs our side only.
# usage: bench_prune.sh BENCH_PRUNE_PROGRAM
set -u
LANGCHAIN=@langchain/core@1.4.0
here=$(dirname "$0")
if command -v node >/dev/null 2>&1 && dir=$(sh "$here/../../tools/npm-peer.sh" langchain-core "$LANGCHAIN"); then
  exec "$1" "$dir" "$here/bench_trim.cjs"
fi
echo "bench_prune: node / npm unavailable, running tokenomy alone"
exec "$1"
