#!/bin/sh
# staticcheck over the Go binding (meson test 'go-staticcheck', suite 'bindings'):
#   staticcheck.sh BUILD_ROOT
# installs honnef.co/go/tools' staticcheck (a pinned version, from the Go module
# proxy) into a GOPATH inside BUILD_ROOT, once, then runs it on every package
# of the module against the libraries in BUILD_ROOT.  The first run compiles
# it (minutes on a loaded machine); later runs reuse it.  Skips (exit 77),
# saying why, without Go or when the proxy cannot be reached.
set -eu
version=v0.8.2
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v go >/dev/null 2>&1; then
  echo "SKIP: no Go toolchain (apt-get install golang-go; .ci/setup does)"
  exit 77
fi
tools="$build/go/tools"
bin="$tools/bin/staticcheck-$version"
if [ ! -x "$bin" ]; then
  mkdir -p "$tools"
  # -modcacherw: the module cache in the build tree stays removable by rm -rf
  if ! env GOFLAGS=-modcacherw GOPATH="$tools" GOCACHE="$build/go/cache" GOBIN="$tools/new" \
       GOPROXY="${TKN_GOPROXY:-https://proxy.golang.org}" \
       go install "honnef.co/go/tools/cmd/staticcheck@$version"; then
    echo "SKIP: could not install staticcheck $version from the Go module proxy"
    exit 77
  fi
  mkdir -p "$tools/bin"
  mv "$tools/new/staticcheck" "$bin"
fi
cd "$here"
export PKG_CONFIG_PATH="$build/meson-uninstalled${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export GOCACHE="$build/go/cache" GOPATH="$build/go/path"
export GOFLAGS="-mod=mod" GO111MODULE=on GOPROXY=off CGO_ENABLED=1
pkgs="./..."
pkg-config --exists tokenomy-redis || pkgs=$(go list ./... | grep -v '/redis$')
"$bin" -version
"$bin" $pkgs
echo "staticcheck $version: no findings"
