#!/bin/sh
# Conformance of trim mode with @langchain/core's trimMessages (pinned below):
# generate the cases with our pruner, run the real trimMessages on them with
# node, compare message for message.  Skips (77) when node or npm is missing.
# usage: trim_conformance.sh TRIM_CASES_PROGRAM [conversations]
set -eu
LANGCHAIN=@langchain/core@1.4.0
gen=$1
nconv=${2:-500}
here=$(dirname "$0")
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "SKIP: node and npm are needed to run $LANGCHAIN"; exit 77
fi
dir=$(sh "$here/../../tools/npm-peer.sh" langchain-core "$LANGCHAIN") || {
  echo "SKIP: could not install $LANGCHAIN from npm"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$gen" "$nconv" >"$tmp/cases.jsonl"
node "$here/trim_conformance.cjs" "$tmp/cases.jsonl" "$dir"
