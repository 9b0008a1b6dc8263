#!/bin/sh
# Conformance of the per-message overhead against openai-chat-tokens (npm).
# usage: check_overhead.sh COUNT_LOOKUP_BINARY
set -u
root=${TKN_SOURCE_ROOT:?}
lookup=$1
command -v node >/dev/null 2>&1 || { echo "SKIP: node is not installed"; exit 77; }
dir=$(sh "$root/tests/tools/npm-peer.sh" chat-tokens openai-chat-tokens@0.2.8 js-tiktoken@1.0.21) ||
  { echo "SKIP: cannot install openai-chat-tokens from npm"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node "$root/tests/unit/conv/overhead_peer.js" "$dir" "$lookup" "$root" "$work"
