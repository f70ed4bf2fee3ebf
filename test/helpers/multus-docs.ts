import { execFileSync } from 'node:child_process';
import { expect } from 'vitest';
import { REFERENCE_PLUGINS } from './braid';
import { ok } from './cni';
import { addressesIn, hostLocalLeases, linksIn } from './host';
import { ClusterlessNode, type NodePod } from './node';

// Helpers of the tests that run Multus's documented examples (test/integration/multus-docs*.test.ts).

/** The cluster network's /24 (its gateway is .1). */
export const CLUSTER_SUBNET = '10.250.249';

/** A node whose braid config (Multus's keys, "type": "braid") has a bridge cluster network like kind's. */
export function docsNode(): { n: ClusterlessNode; master: string; conf: (keys?: Record<string, unknown>) => Record<string, unknown> } {
  const n = new ClusterlessNode();
  const [master] = n.sb.veth('m');
  const cbr0 = {
    cniVersion: '0.3.1', name: 'cbr0', type: 'bridge', bridge: n.sb.linkName('br'), isGateway: true,
    ipam: { type: 'host-local', subnet: `${CLUSTER_SUBNET}.0/24`, dataDir: n.sb.ipamDir, routes: [{ dst: '0.0.0.0/0' }] },
  };
  return { n, master, conf: (keys = {}) => n.conf({ binDir: REFERENCE_PLUGINS, delegates: [cbr0], ...keys }) };
}

/** Host addresses .from….to of 10.250.<third>.0/<prefix>, as CIDRs. */
export function range(third: number, from: number, to: number, prefix = 24): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => `10.250.${third}.${from + i}/${prefix}`);
}

/** Asserts the pod's interfaces are exactly `expected`'s keys, each holding one address out of its list. */
export function expectInterfaces(pod: NodePod, expected: Record<string, string[]>): void {
  expect(linksIn(pod.ns).sort()).toEqual(Object.keys(expected).sort());
  for (const [ifname, allowed] of Object.entries(expected)) {
    const addrs = addressesIn(pod.ns, ifname);
    expect(addrs, ifname).toHaveLength(1);
    expect(allowed, `${ifname} has ${addrs[0]}`).toContain(addrs[0]);
  }
}

/** DELs every pod and asserts nothing is left: links, leases, caches. */
export function delAll(n: ClusterlessNode, conf: Record<string, unknown>, pods: NodePod[]): void {
  for (const pod of pods) {
    ok(n.run('DEL', pod, conf));
    expect(linksIn(pod.ns)).toEqual([]);
  }
  expect(hostLocalLeases(n.sb.ipamDir)).toEqual([]);
  expect(n.sb.cacheFiles()).toEqual([]);
}

/** What the cluster network (cbr0) gives eth0. */
export const ETH0 = range(249, 2, 254);

/** The pod's IPv4 default routes as [gateway, device]. */
export function defaultRoutes(pod: NodePod): string[][] {
  const routes = JSON.parse(execFileSync('ip', ['-n', pod.ns, '-j', 'route', 'show', 'default'], { encoding: 'utf8' })) as Array<{ gateway: string; dev: string }>;
  return routes.map((r) => [r.gateway, r.dev]);
}

/**
 * The macvlan-conf NAD of the quickstart, the default-route section and the namespace-isolation example
 * (they repeat it with other subnets): host-local .200-.216 of 10.250.<third>.0/24, default route via .1.
 */
export function macvlanConf(master: string, ipamDir: string, third: number, namespace?: string): string {
  return nadYaml('macvlan-conf', namespace, `{
      "cniVersion": "0.3.0",
      "type": "macvlan",
      "master": "${master}",
      "mode": "bridge",
      "ipam": {
        "type": "host-local",
        "subnet": "10.250.${third}.0/24",
        "rangeStart": "10.250.${third}.200",
        "rangeEnd": "10.250.${third}.216",
        "routes": [
          { "dst": "0.0.0.0/0" }
        ],
        "gateway": "10.250.${third}.1",
        "dataDir": "${ipamDir}"
      }
    }`);
}

/** A NAD manifest as the docs write them: the CNI config as single-quoted YAML text under spec.config. */
export function nadYaml(name: string, namespace: string | undefined, config: string): string {
  return `apiVersion: "k8s.cni.cncf.io/v1"
kind: NetworkAttachmentDefinition
metadata:
  name: ${name}${namespace ? `\n  namespace: ${namespace}` : ''}
spec:
  config: '${config}'
`;
}
