import { describe, expect, it } from 'vitest';
import { REFERENCE_PLUGINS } from '../helpers/braid';
import { failed, ok } from '../helpers/cni';
import { addressesIn, hostLocalLeases, linksIn } from '../helpers/host';
import { NETWORKS } from '../helpers/k8s';
import { ClusterlessNode, defaultGateway4 } from '../helpers/node';

// Pods from Multus's own e2e suite and documentation that depend on Multus behaviour beyond the NAD
// spec, run through the built braid in clusterless mode (nadDir) in real netns with the reference plugins.
// Address range of this file: 10.250.230.0/24 … 10.250.234.0/24.

/** A cluster network like the e2e cluster's: bridge + host-local with a default route via .1. */
function clusterNetwork(n: ClusterlessNode, third: number): Record<string, unknown> {
  return {
    cniVersion: '0.4.0', name: 'podnet', type: 'bridge', bridge: n.sb.linkName('br'), isGateway: true,
    ipam: { type: 'host-local', subnet: `10.250.${third}.0/24`, dataDir: n.sb.ipamDir, routes: [{ dst: '0.0.0.0/0' }] },
  };
}

describe('Multus e2e default-route1: static IPAM reading IP= from CNI_ARGS', () => {
  it('gives each pod its requested address on net1 and moves the default route only for the pod that asks', () => {
    const n = new ClusterlessNode();
    const [master] = n.sb.veth('m');
    // As in Multus's e2e template: macvlan with static IPAM and no addresses, no capabilities declared.
    n.manifest('default-route1.yml', `---
apiVersion: "k8s.cni.cncf.io/v1"
kind: NetworkAttachmentDefinition
metadata:
  name: default-route-config
spec:
  config: '{
            "cniVersion": "0.4.0",
            "plugins": [
                {
                    "type": "macvlan",
                    "master": "${master}",
                    "mode": "bridge",
                    "ipam": {
                        "type": "static"
                    }
                } ]
        }'
`);
    const config = n.conf({ delegates: [clusterNetwork(n, 230)], binDir: REFERENCE_PLUGINS, logLevel: 'warning' });
    const worker1 = n.pod();
    const worker2 = n.pod();
    const added1 = n.run('ADD', worker1, config, { [NETWORKS]: '[{ "name": "default-route-config", "ips": [ "10.250.231.21/24" ], "default-route": [ "10.250.231.254" ] }]' });
    ok(added1);
    const added2 = n.run('ADD', worker2, config, { [NETWORKS]: '[{ "name": "default-route-config", "ips": [ "10.250.231.22/24" ] }]' });
    ok(added2);

    expect(addressesIn(worker1.ns, 'net1')).toEqual(['10.250.231.21/24']);
    expect(defaultGateway4(worker1.ns)).toBe('10.250.231.254');
    expect(addressesIn(worker2.ns, 'net1')).toEqual(['10.250.231.22/24']);
    expect(defaultGateway4(worker2.ns)).toBe('10.250.230.1');
    // The request went as CNI_ARGS only, and braid says so, naming the NAD and the key.
    expect(added1.stderr).toMatch(/\[warning\].*"default\/default-route-config".*"ips".*CNI_ARGS IP=/);

    for (const pod of [worker1, worker2]) {
      ok(n.run('DEL', pod, config));
      expect(linksIn(pod.ns)).toEqual([]);
    }
    expect(hostLocalLeases(n.sb.ipamDir)).toEqual([]);
    expect(n.sb.cacheFiles()).toEqual([]);
  });

  it('with strictCapabilities, refuses the same pod with code 7 naming the NAD and the key, attaching nothing', () => {
    const n = new ClusterlessNode();
    const [master] = n.sb.veth('m');
    n.manifest('nad.json', JSON.stringify({
      apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'default-route-config' },
      spec: { config: JSON.stringify({ cniVersion: '0.4.0', plugins: [{ type: 'macvlan', master, mode: 'bridge', ipam: { type: 'static' } }] }) },
    }));
    const config = n.conf({ delegates: [clusterNetwork(n, 232)], binDir: REFERENCE_PLUGINS, strictCapabilities: true });
    const pod = n.pod();
    const msg = failed(n.run('ADD', pod, config, { [NETWORKS]: '[{"name": "default-route-config", "ips": ["10.250.233.21/24"]}]' }), 7);
    expect(msg).toContain('"default/default-route-config"');
    expect(msg).toContain('"ips"');
    expect(linksIn(pod.ns)).toEqual([]);
    expect(hostLocalLeases(n.sb.ipamDir)).toEqual([]);
  });
});

describe('NAD names are DNS-1123 subdomains', () => {
  it('attaches NADs whose names hold dots, in the JSON and comma forms, and as the default-network annotation', () => {
    const n = new ClusterlessNode();
    const [master] = n.sb.veth('m');
    const nad = (name: string, namespace: string, third: number) => JSON.stringify({
      apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name, namespace },
      spec: { config: JSON.stringify({ cniVersion: '1.0.0', type: 'macvlan', master, mode: 'bridge', ipam: { type: 'host-local', subnet: `10.250.${third}.0/24`, dataDir: n.sb.ipamDir } }) },
    });
    n.manifest('macvlan.v1.json', nad('macvlan.v1', 'default', 234));
    n.manifest('cluster.v2.json', nad('cluster.net.v2', 'kube-system', 233));
    const config = n.conf({ delegates: [clusterNetwork(n, 232)], binDir: REFERENCE_PLUGINS });
    const pod = n.pod();
    ok(n.run('ADD', pod, config, { [NETWORKS]: '[{"name":"macvlan.v1"}]' }));
    expect(addressesIn(pod.ns, 'net1')).toEqual([expect.stringMatching(/^10\.250\.234\.\d+\/24$/)]);
    ok(n.run('DEL', pod, config));

    const other = n.pod();
    ok(n.run('ADD', other, config, { [NETWORKS]: 'default/macvlan.v1@data', 'v1.multus-cni.io/default-network': 'cluster.net.v2' }));
    expect(addressesIn(other.ns, 'eth0')).toEqual([expect.stringMatching(/^10\.250\.233\.\d+\/24$/)]);
    expect(addressesIn(other.ns, 'data')).toEqual([expect.stringMatching(/^10\.250\.234\.\d+\/24$/)]);
    ok(n.run('DEL', other, config));
    expect(linksIn(other.ns)).toEqual([]);
    expect(hostLocalLeases(n.sb.ipamDir)).toEqual([]);
  });

  it('ignores a nadDir manifest whose name the API server would refuse, with a warning naming the file', () => {
    const n = new ClusterlessNode();
    n.manifest('upper.yaml', 'apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\nmetadata:\n  name: Macvlan_A\nspec:\n  config: \'{"cniVersion": "1.0.0", "type": "macvlan"}\'\n');
    const config = n.conf({ delegates: [clusterNetwork(n, 232)], binDir: REFERENCE_PLUGINS, logLevel: 'warning' });
    const pod = n.pod();
    const r = n.run('ADD', pod, config, { [NETWORKS]: 'macvlan-a' });
    expect(failed(r, 7)).toContain('NetworkAttachmentDefinition default/macvlan-a not found');
    expect(r.stderr).toMatch(/upper\.yaml: NetworkAttachmentDefinition name "Macvlan_A" is not a valid DNS-1123 subdomain; ignored/);
    expect(linksIn(pod.ns)).toEqual([]);
  });

  it('refuses a namespace with a dot (namespaces are DNS-1123 labels), code 7 naming it', () => {
    const n = new ClusterlessNode();
    const config = n.conf({ delegates: [clusterNetwork(n, 232)], binDir: REFERENCE_PLUGINS });
    const pod = n.pod();
    const msg = failed(n.run('ADD', pod, config, { [NETWORKS]: 'team.a/macvlan.v1' }), 7);
    expect(msg).toContain('namespace "team.a" is not a valid DNS-1123 label');
    expect(linksIn(pod.ns)).toEqual([]);
  });

  it('takes a clusterNetwork name with dots as a NAD in multusNamespace', () => {
    const n = new ClusterlessNode();
    const [master] = n.sb.veth('m');
    n.manifest('calico.json', JSON.stringify({
      apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'calico.v3', namespace: 'kube-system' },
      spec: { config: JSON.stringify({ cniVersion: '1.0.0', type: 'macvlan', master, mode: 'bridge', ipam: { type: 'host-local', subnet: '10.250.233.0/24', dataDir: n.sb.ipamDir } }) },
    }));
    const config = n.conf({ clusterNetwork: 'calico.v3', binDir: REFERENCE_PLUGINS });
    const pod = n.pod();
    ok(n.run('ADD', pod, config));
    expect(addressesIn(pod.ns, 'eth0')).toEqual([expect.stringMatching(/^10\.250\.233\.\d+\/24$/)]);
    ok(n.run('DEL', pod, config));
    expect(hostLocalLeases(n.sb.ipamDir)).toEqual([]);
  });
});

describe('resultMode default', () => {
  /** A node whose config attaches a macvlan defaultNetwork after the cluster network. */
  function twoNetworks(n: ClusterlessNode): Record<string, unknown> {
    const [master] = n.sb.veth('m');
    return n.conf({
      binDir: REFERENCE_PLUGINS,
      delegates: [
        clusterNetwork(n, 230),
        { cniVersion: '1.0.0', name: 'side', type: 'macvlan', master, mode: 'bridge', ipam: { type: 'host-local', subnet: '10.250.231.0/24', dataDir: n.sb.ipamDir } },
      ],
    });
  }

  it('returns only the cluster network to a Kubernetes runtime (K8S_POD_* in CNI_ARGS), though every network is attached', () => {
    const n = new ClusterlessNode();
    const config = twoNetworks(n);
    const pod = n.pod();
    const added = n.run('ADD', pod, config);
    ok(added);
    expect(linksIn(pod.ns).sort()).toEqual(['eth0', 'net1']);
    expect(added.json.interfaces.filter((i: { sandbox?: string }) => i.sandbox).map((i: { name: string }) => i.name)).toEqual(['eth0']);
    expect(added.json.ips.map((ip: { address: string }) => ip.address)).toEqual(addressesIn(pod.ns, 'eth0'));
    ok(n.run('DEL', pod, config));
    expect(hostLocalLeases(n.sb.ipamDir)).toEqual([]);
  });

  it('returns every attachment merged without K8S_POD_* (cnitool, plain hosts)', () => {
    const n = new ClusterlessNode();
    const config = twoNetworks(n);
    const pod = { ...n.pod(), args: 'IgnoreUnknown=1' };
    const added = n.run('ADD', pod, { ...config, capabilities: {} });
    ok(added);
    expect(added.json.interfaces.filter((i: { sandbox?: string }) => i.sandbox).map((i: { name: string }) => i.name)).toEqual(['eth0', 'net1']);
    expect(added.json.ips.map((ip: { address: string }) => ip.address)).toEqual([...addressesIn(pod.ns, 'eth0'), ...addressesIn(pod.ns, 'net1')]);
    ok(n.run('DEL', pod, config));
    expect(hostLocalLeases(n.sb.ipamDir)).toEqual([]);
  });
});
