#!/bin/sh
# Compare the built library's ABI with the committed baseline.
# usage: check_abi.sh LIBRARY PUBLIC_HEADERS_DIR BASELINE
# Additions pass (printed); an incompatible change fails until the baseline is
# regenerated on purpose with `make abi-baseline` (see README, "Stability").
set -u
lib=$1 headers=$2 base=$3
tmp=$(mktemp) || exit 1
trap 'rm -f "$tmp"' EXIT
abidw --no-corpus-path --no-show-locs --no-comp-dir-path --short-locs --headers-dir "$headers" --out-file "$tmp" "$lib" || exit 1
abidiff --no-show-locs --headers-dir2 "$headers" "$base" "$tmp"
rc=$?
if [ $((rc & 3)) -ne 0 ]; then
  echo "abidiff failed to run (status $rc)"; exit 1
fi
if [ $((rc & 8)) -ne 0 ]; then
  echo "INCOMPATIBLE ABI change against $base: if this is intended, run 'make abi-baseline' and commit it"
  exit 1
fi
echo "ABI compatible with the baseline (status $rc)"
exit 0
