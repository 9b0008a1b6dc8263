#!/bin/sh
# Install PyPI packages (pinned versions) into a virtualenv of the build tree,
# once, and print that virtualenv's python.  Tests and benchmarks that compare
# with a peer written for Python call this; nothing is installed into the
# source tree or the system.
# usage: py-peer.sh NAME PKG==VERSION...
#   folder: $TKN_PY_DIR/NAME, or $TKN_BUILD_ROOT/py/NAME, or a temporary one.
set -eu
name=$1; shift
base=${TKN_PY_DIR:-${TKN_BUILD_ROOT:+$TKN_BUILD_ROOT/py}}
[ -n "$base" ] || base=$(mktemp -d)
dir=$base/$name
mkdir -p "$dir"
stamp="$dir/.installed-$(echo "$*" | tr ' /=' '_+-')"
(
  flock 9
  if [ ! -f "$stamp" ]; then
    [ -x "$dir/venv/bin/python" ] || python3 -m venv "$dir/venv" >&2
    "$dir/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >&2
    touch "$stamp"
  fi
) 9>"$dir/.lock"
echo "$dir/venv/bin/python"
