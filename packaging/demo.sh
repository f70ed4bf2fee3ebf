#!/usr/bin/env bash
# The demo: builds braid, then runs ADD -> CHECK -> DEL of a 3-network pod through the built
# executable, exactly as a container runtime would, with Debian's reference plugins:
#   eth0  bridge + host-local   10.250.1.0/24  (the cluster network)
#   net1  macvlan + host-local  10.250.2.0/24  (parent: a veth the demo creates)
#   net2  host-device + static  10.250.3.10/24 (a veth end moved into the pod)
# Everything it creates (netns, veths, bridge, state dir) is removed on exit. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/install-deps.sh
npm run build --silent >/dev/null

NS=braid-demo
STATE=$(mktemp -d /tmp/braid-demo.XXXXXX)
BRIDGE=braiddemo0
cleanup() {
  ip netns del "$NS" 2>/dev/null || true
  for l in bdemo-mv0 bdemo-hd0 "$BRIDGE"; do ip link del "$l" 2>/dev/null || true; done
  rm -rf "$STATE"
}
trap cleanup EXIT
cleanup_quiet() { ip netns del "$NS" 2>/dev/null || true; }
cleanup_quiet

ip netns add "$NS"
ip link add bdemo-mv0 type veth peer name bdemo-mv1   # macvlan parent
ip link add bdemo-hd0 type veth peer name bdemo-hd1   # host-device moves bdemo-hd0 into the pod
for l in bdemo-mv0 bdemo-mv1 bdemo-hd0 bdemo-hd1; do ip link set "$l" up; done

cat > "$STATE/braid.conf" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "braid-demo",
  "type": "braid",
  "cniDir": "$STATE/cache",
  "binDir": "/opt/cni/bin",
  "logLevel": "verbose",
  "logFile": "$STATE/braid.log",
  "logToStderr": false,
  "resultMode": "merged",
  "delegates": [
    { "cniVersion": "1.0.0", "name": "cluster", "type": "bridge", "bridge": "$BRIDGE", "isGateway": true,
      "ipam": { "type": "host-local", "dataDir": "$STATE/ipam", "subnet": "10.250.1.0/24", "routes": [{ "dst": "0.0.0.0/0" }] } },
    { "cniVersion": "1.0.0", "name": "storage", "type": "macvlan", "master": "bdemo-mv0", "mode": "bridge",
      "ipam": { "type": "host-local", "dataDir": "$STATE/ipam", "subnet": "10.250.2.0/24" } },
    { "cniVersion": "1.0.0", "name": "dataplane", "type": "host-device", "device": "bdemo-hd0",
      "ipam": { "type": "static", "addresses": [{ "address": "10.250.3.10/24" }] } }
  ]
}
JSON

braid() {
  env -u NODE_EXTRA_CA_CERTS CNI_COMMAND="$1" CNI_CONTAINERID=demo-pod-1 CNI_NETNS="/var/run/netns/$NS" \
    CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=demo;K8S_POD_NAME=pod-1" \
    ./dist/braid < "$STATE/braid.conf"
}
pretty() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{if(s.trim())console.log(JSON.stringify(JSON.parse(s),null,2))})'; }

echo "== ADD (merged result, cniVersion 1.0.0)"
braid ADD | pretty
echo "== ip -n $NS addr"
ip -n "$NS" -br addr
echo "== CHECK"
braid CHECK | pretty && echo "CHECK ok (exit 0)"
echo "== DEL"
braid DEL | pretty && echo "DEL ok (exit 0)"
echo "== DEL again (idempotent)"
braid DEL | pretty && echo "DEL ok (exit 0)"
echo "== after DEL: ip -n $NS addr"
ip -n "$NS" -br addr
left=$(find "$STATE/ipam" -type f -name '10.*' | wc -l)
echo "host-local leases left: $left; cache files left: $(find "$STATE/cache" -maxdepth 1 -type f | wc -l)"
ip link show bdemo-hd0 >/dev/null && echo "host-device bdemo-hd0 is back on the host"
echo "== braid's log"
cat "$STATE/braid.log"
