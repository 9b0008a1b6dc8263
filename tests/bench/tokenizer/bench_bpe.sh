#!/bin/sh
# Benchmark driver: install the JavaScript peers (pinned) into the build tree,
# then run bench_bpe.mjs (ours and the peers on the same bytes, side by side).
# usage: bench_bpe.sh BENCH_BPE BENCH_MJS
set -eu
root=${TKN_SOURCE_ROOT:?TKN_SOURCE_ROOT is not set (run through meson test --benchmark)}
npm_dir=$(sh "$root/tests/tools/npm-peer.sh" bpe-peers tiktoken@1.0.22 gpt-tokenizer@4.0.0 \
  js-tiktoken@1.0.21)
exec node "$2" "$npm_dir" "$1" "${TKN_BUILD_ROOT:-$(mktemp -d)}/bpe-bench"
