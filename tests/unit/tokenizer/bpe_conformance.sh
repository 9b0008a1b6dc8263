#!/bin/sh
# Conformance driver: install tiktoken from npm (pinned) into the build tree,
# then compare every id of a few-MB corpus (bpe_conformance.mjs).
# usage: bpe_conformance.sh BPE_DUMP CONFORMANCE_MJS
set -eu
dump=$1
mjs=$2
root=${TKN_SOURCE_ROOT:?TKN_SOURCE_ROOT is not set (run through meson test)}
npm_dir=$(sh "$root/tests/tools/npm-peer.sh" tiktoken tiktoken@1.0.22) || {
  echo "SKIP: cannot install tiktoken from npm"; exit 77; }
work=${TKN_BUILD_ROOT:-$(mktemp -d)}/bpe-conformance
exec node "$mjs" "$npm_dir" "$dump" "$work"
