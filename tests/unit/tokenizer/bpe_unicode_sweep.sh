#!/bin/sh
# The Unicode sweep: every code point in every context that reveals its class,
# encoded by us and by tiktoken's native core (PyPI, pinned, in a virtualenv
# of the build tree), and a subset of them (every general-category boundary of
# the pinned Unicode data, a uniform sample: see bpe_unicode_sweep.py) by its
# WASM build (npm, pinned); any difference fails.
# Also checks that the committed class table is what gen-unicode.py makes of
# the Unicode data ucd.lock pins (fetched by fetch-ucd.sh, sha256 checked).
# usage: bpe_unicode_sweep.sh BPE_DUMP
set -eu
dump=$1
root=${TKN_SOURCE_ROOT:?TKN_SOURCE_ROOT is not set (run through meson test)}
work=${TKN_BUILD_ROOT:-$(mktemp -d)}/unicode-sweep
mkdir -p "$work"
ucd=$(sh "$root/src/tokenizer/fetch-ucd.sh")
python3 "$root/src/tokenizer/gen-unicode.py" "$root/src/tokenizer/ucd.lock" "$ucd" "$work/unicode_classes.c"
if ! cmp -s "$work/unicode_classes.c" "$root/src/tokenizer/unicode_classes.c"; then
  echo "src/tokenizer/unicode_classes.c is not generated from ucd.lock's data:" \
       "run sh src/tokenizer/fetch-ucd.sh --regen"
  exit 1
fi
echo "class table: Unicode $(grep -v '^#' "$root/src/tokenizer/ucd.lock" | head -n 1 | cut -d' ' -f1), regenerated identical"
py=$(sh "$root/tests/tools/py-peer.sh" tiktoken tiktoken==0.14.0)
"$py" "$root/tests/unit/tokenizer/bpe_unicode_sweep.py" "$dump" "$root/.cache/ranks" "$work" \
  "$root/src/tokenizer/ucd.lock" "$ucd"
npm_dir=$(sh "$root/tests/tools/npm-peer.sh" tiktoken tiktoken@1.0.22)
node "$root/tests/unit/tokenizer/bpe_unicode_sweep.mjs" "$npm_dir" "$work"
# the probes and ids take about 1.5 GB: kept only when a side differs
rm -f "$work"/sweep.bin "$work"/sweep-*.bin "$work"/wasm-subset.bin
