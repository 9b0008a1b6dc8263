#!/bin/sh
# The Go side of the tokenizer benchmark: builds go-peer (ours through the Go
# binding beside tiktoken-go, fetched from the Go module proxy and pinned by
# go-peer/go.sum) in the build tree, builds the corpus of the native-peer
# benchmark (bench_native_corpus.mjs), and runs both in one process.
# Exit 77 (skipped) without a Go toolchain or node.
# usage: bench_go.sh   (run by meson test --benchmark --suite bench tokenizer_go)
set -eu
root=${TKN_SOURCE_ROOT:?TKN_SOURCE_ROOT is not set (run through meson test --benchmark)}
build=${TKN_BUILD_ROOT:?TKN_BUILD_ROOT is not set}
for tool in go node; do
  if ! command -v $tool >/dev/null 2>&1; then
    echo "SKIP: no $tool"
    exit 77
  fi
done
work=$build/bench-go
mkdir -p "$work"
export PKG_CONFIG_PATH="$build/meson-uninstalled${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$build${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export GOCACHE="$build/go/cache" GOPATH="$build/go/path" GO111MODULE=on CGO_ENABLED=1
export GOFLAGS=-mod=readonly
(cd "$root/tests/bench/tokenizer/go-peer" && go build -o "$work/go-peer" .)
traces=${TKN_SHARED_DIR:-$root/../shared}/traces/tau-airline-dev.json
node "$root/tests/bench/tokenizer/bench_native_corpus.mjs" "$work" "$traces"
peer=$(sed -n 's/^\tgithub.com\/pkoukk\/tiktoken-go \(v[^ ]*\)$/\1/p' \
  "$root/tests/bench/tokenizer/go-peer/go.mod")
echo "peer: tiktoken-go $peer (Go module proxy), rank files from .cache/ranks; $(go version)"
echo "rerun: meson test -C <builddir> --benchmark --suite bench -v tokenizer_go"
exec "$work/go-peer" "$work" "$root/.cache/ranks"
