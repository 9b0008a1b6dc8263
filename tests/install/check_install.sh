#!/bin/sh
# Install into a staging folder and build the README's C example against the
# installed headers and library through pkg-config, as a user would, then run
# it.  usage: check_install.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1 src=$2
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
meson install -C "$build" --no-rebuild --quiet --destdir "$stage" >/dev/null
pcdir=$(dirname "$(find "$stage" -name tokenomy.pc | head -n 1)")
[ -f "$pcdir/tokenomy.pc" ] || { echo "tokenomy.pc was not installed"; exit 1; }
export PKG_CONFIG_SYSROOT_DIR="$stage" PKG_CONFIG_PATH="$pcdir"
flags=$(pkg-config --cflags --libs tokenomy)
echo "pkg-config --cflags --libs tokenomy: $flags"
cc -std=c11 -Wall -Wextra -Werror "$src/examples/hello.c" $flags -o "$stage/hello"
libdir=$(dirname "$pcdir")
LD_LIBRARY_PATH="$libdir" "$stage/hello" | tee "$stage/out"
grep -q 'messages, about [0-9]* tokens' "$stage/out"
# the static library links too, with Libs.private and Requires.private
cc -std=c11 "$src/examples/hello.c" $(pkg-config --cflags tokenomy) \
  "$libdir/libtokenomy.a" $(pkg-config --libs --static tokenomy | sed 's/-ltokenomy//') \
  -o "$stage/hello-static"
"$stage/hello-static" >/dev/null
echo "installed library, headers and tokenomy.pc work (shared and static)"
