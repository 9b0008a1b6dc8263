#!/bin/sh
# The Go misuse tests against the library built with AddressSanitizer (meson
# test 'go-asan', defined only in a -Db_sanitize=address build such as
# tests/run.sh's clang build, where it is also in suite 'unit'):
#   asan-tests.sh BUILD_ROOT
# go test -asan with clang links the sanitizer runtime into the test binary,
# so the instrumented libtokenomy finds it there, and Go's own heap accesses
# are checked too: a use after free the binding let through (a closed handle,
# a part freed under its borrower, Close during a call) fails the test even
# where it would not crash.  Leaks are the C suites' business (detect_leaks=0).
# TKN_GO_RUN narrows the tests run (a go test -run pattern).
set -eu
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
if ! command -v go >/dev/null 2>&1; then
  echo "SKIP: no Go toolchain (apt-get install golang-go; .ci/setup does)"
  exit 77
fi
if ! command -v clang >/dev/null 2>&1; then
  echo "SKIP: no clang for go test -asan"
  exit 77
fi
case "$(go env GOOS)/$(go env GOARCH)" in
  linux/amd64|linux/arm64) ;;
  *) echo "SKIP: go test -asan is for linux/amd64 and linux/arm64"; exit 77 ;;
esac
export PKG_CONFIG_PATH="$build/meson-uninstalled${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$build:$build/src/redis${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export GOCACHE="$build/go/cache" GOPATH="$build/go/path"
export GOFLAGS="-mod=mod" GO111MODULE=on GOPROXY=off CGO_ENABLED=1 CC=clang
# ours last: they override what the caller set (tests/run.sh turns leaks on)
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0:abort_on_error=1"
unset TOKENOMY_LIBRARY TKN_REDIS_PORT LD_PRELOAD
pkgs="./..."
pkg-config --exists tokenomy-redis || pkgs=$(go list ./... | grep -v '/redis$')
go test -count=1 -asan -run "${TKN_GO_RUN:-Misuse|Closed|CloseDuring|Options|Borrow}" -v $pkgs
