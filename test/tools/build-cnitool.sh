#!/usr/bin/env bash
# Builds test/tools/cnitool (a libcni-based stand-in for cnitool; Debian ships libcni but no cnitool
# binary) into dist/cnitool, offline, against Debian's golang-github-appc-cni-dev in GOPATH mode.
# Skips the build when dist/cnitool is newer than its source. Needs golang-go and
# golang-github-appc-cni-dev (packaging/install-deps.sh installs both).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=dist/cnitool
src=test/tools/cnitool/main.go
if [ -x "$out" ] && [ "$out" -nt "$src" ] && [ "$out" -nt "$0" ]; then
  exit 0
fi
gopath=/usr/share/gocode
if [ ! -d "$gopath/src/github.com/containernetworking/cni/libcni" ]; then
  echo "build-cnitool: libcni not found under $gopath: apt-get install golang-github-appc-cni-dev" >&2
  exit 1
fi
command -v go >/dev/null || { echo "build-cnitool: go not found: apt-get install golang-go" >&2; exit 1; }
mkdir -p dist
# A writable build cache even when HOME is unset (e.g. under a CNI runtime's environment).
if [ -z "${GOCACHE:-}" ] && [ -z "${HOME:-}" ] && [ -z "${XDG_CACHE_HOME:-}" ]; then
  export GOCACHE=/tmp/braid-go-build-cache
fi
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
GO111MODULE=off GOPATH="$gopath" GOFLAGS= CGO_ENABLED=0 go build -trimpath -o "$tmp" ./test/tools/cnitool
mv -f "$tmp" "$out"
