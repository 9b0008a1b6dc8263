#!/bin/sh
# The Go binding's test driver (meson test 'go', suite 'bindings'):
#   run-tests.sh BUILD_ROOT
# builds against the library in BUILD_ROOT through its uninstalled pkg-config
# file, with Go's caches inside BUILD_ROOT (nothing written to $HOME or to
# the source tree), then runs `go vet` and `go test`.
set -eu
build=$(cd "$1" && pwd)
cd "$(dirname "$0")"
if ! command -v go >/dev/null 2>&1; then
  echo "SKIP: no Go toolchain (apt-get install golang-go; .ci/setup does)"
  exit 77
fi
export PKG_CONFIG_PATH="$build/meson-uninstalled${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$build${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export GOCACHE="$build/go/cache" GOPATH="$build/go/path" GOTMPDIR=""
export GOFLAGS="${GOFLAGS:-} -mod=mod" GOTOOLCHAIN=local GO111MODULE=on GOPROXY=off CGO_ENABLED=1
unset TOKENOMY_LIBRARY
mkdir -p "$GOCACHE" "$GOPATH"
# cgocheck=2 checks every pointer that crosses to C; -race the goroutine tests
export GODEBUG=cgocheck=2
race=""
case "$(go env GOOS)/$(go env GOARCH)" in linux/amd64|linux/arm64) race=-race ;; esac
go version
go vet ./...
go test -count=1 $race ./...
