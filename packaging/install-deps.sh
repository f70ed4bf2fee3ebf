#!/usr/bin/env bash
# Installs what building and testing braid needs on a fresh Debian machine (run as root):
# the CNI reference plugins, iptables (portmap; test/run.sh compares iptables-save before and after), iproute2, binutils (strip), python3, openssl (the test API server's certificates), strace (tests that
# watch what braid does inside a pod netns), containerd and runc (the CRI tests, on a private socket),
# gcc and libc6-dev (the native addon; the CRI tests' static pause binary needs libc.a),
# and Go with Debian's libcni source
# (golang-go, golang-github-appc-cni-dev: the tests' libcni-based cnitool driver), then the npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for pkg in containernetworking-plugins iptables iproute2 binutils python3 openssl strace containerd runc gcc libc6-dev golang-go golang-github-appc-cni-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
