#!/bin/sh
# Install npm packages (pinned versions) into a folder of the build tree, once,
# and print that folder.  Tests and benchmarks that compare with a peer written
# in JavaScript call this; nothing is installed into the source tree.
# usage: npm-peer.sh NAME PKG@VERSION...
#   folder: $TKN_NPM_DIR/NAME, or $TKN_BUILD_ROOT/npm/NAME, or a temporary one.
set -eu
name=$1; shift
base=${TKN_NPM_DIR:-${TKN_BUILD_ROOT:+$TKN_BUILD_ROOT/npm}}
[ -n "$base" ] || base=$(mktemp -d)
dir=$base/$name
mkdir -p "$dir"
stamp="$dir/.installed-$(echo "$*" | tr ' /@' '_+=')"
(
  flock 9
  if [ ! -f "$stamp" ]; then
    [ -f "$dir/package.json" ] || echo '{"private":true}' >"$dir/package.json"
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "$@" >&2
    touch "$stamp"
  fi
) 9>"$dir/.lock"
echo "$dir"
