#!/bin/sh
# The Go binding's test driver (meson test 'go', suite 'bindings'):
#   run-tests.sh BUILD_ROOT
# builds against the libraries in BUILD_ROOT through their uninstalled
# pkg-config files, with Go's caches inside BUILD_ROOT (nothing written to
# $HOME or to the source tree), then runs `go vet` and `go test` (-race,
# cgocheck=2), and the Redis store package's tests against a private
# redis-server (tests/redis/redis_fixture.py) when the adapter was built.
set -eu
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
cd "$here"
if ! command -v go >/dev/null 2>&1; then
  echo "SKIP: no Go toolchain (apt-get install golang-go; .ci/setup does)"
  exit 77
fi
export PKG_CONFIG_PATH="$build/meson-uninstalled${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$build:$build/src/redis${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export GOCACHE="$build/go/cache" GOPATH="$build/go/path"
export GOFLAGS="${GOFLAGS:-} -mod=mod" GO111MODULE=on GOPROXY=off CGO_ENABLED=1
# cgocheck=2 checks every pointer that crosses to C; -race the goroutine tests.
# Go 1.21 moved it from run time (GODEBUG) to build time (GOEXPERIMENT), and
# from Go 1.23 the run-time form aborts every program, so pick by version.
gominor=$(go env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
if [ "${gominor:-0}" -ge 21 ]; then
  export GOEXPERIMENT="${GOEXPERIMENT:+$GOEXPERIMENT,}cgocheck2"
else
  export GODEBUG=cgocheck=2
fi
unset TOKENOMY_LIBRARY TKN_REDIS_PORT
mkdir -p "$GOCACHE" "$GOPATH"
race=""
case "$(go env GOOS)/$(go env GOARCH)" in linux/amd64|linux/arm64) race=-race ;; esac
redis=yes
pkg-config --exists tokenomy-redis || redis=no
if [ $redis = yes ]; then
  pkgs="./..."
else
  pkgs=$(go list ./... | grep -v '/redis$')
  echo "note: libtokenomy-redis not built (no hiredis): package redis not tested"
fi
go version
go vet $pkgs
go test -count=1 $race $pkgs
if [ $redis = yes ]; then
  rc=0
  python3 "$src/tests/redis/redis_fixture.py" go test -count=1 -v $race ./redis/ || rc=$?
  if [ $rc -eq 77 ]; then
    echo "note: no redis-server: the Redis store tests were skipped"
  elif [ $rc -ne 0 ]; then
    exit $rc
  fi
fi
