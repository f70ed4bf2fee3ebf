import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REFERENCE_PLUGINS } from '../helpers/braid';
import { failed, ok } from '../helpers/cni';
import { linksIn } from '../helpers/host';
import { NETWORKS } from '../helpers/k8s';
import { CLUSTER_SUBNET, delAll, docsNode, ETH0, expectInterfaces, macvlanConf, range } from '../helpers/multus-docs';
import { sysctlIn } from '../helpers/node';

// Multus's docs/configuration.md examples and e2e templates, run as multus-docs.test.ts runs the
// quickstart and usage guide (see there for what changes from the originals).

describe('Multus docs/configuration.md', () => {
  it('the reference config (clusterNetwork and defaultNetworks by name, systemNamespaces, comment keys, ignored delegates) attaches the defaultCRD, sidecarCRD and flannel confs, and only defaultCRD in a system namespace', () => {
    const { n, master } = docsNode();
    // "defaultCRD" and "sidecarCRD" cannot be Kubernetes object names (upper case), so, in Multus as in
    // braid, they resolve to the confs of those names in confDir; "flannel" needs flanneld, so its conf
    // here is a ptp network under that name.
    const onDisk = (file: string, config: Record<string, unknown>) => fs.writeFileSync(path.join(n.sb.confDir, file), JSON.stringify({ cniVersion: '0.3.1', ...config }));
    onDisk('10-default.conf', {
      name: 'defaultCRD', type: 'bridge', bridge: n.sb.linkName('dc'), isGateway: true,
      ipam: { type: 'host-local', subnet: '10.250.245.0/24', dataDir: n.sb.ipamDir, routes: [{ dst: '0.0.0.0/0' }] },
    });
    onDisk('20-sidecar.conf', { name: 'sidecarCRD', type: 'macvlan', master, mode: 'bridge', ipam: { type: 'host-local', subnet: '10.250.246.0/24', dataDir: n.sb.ipamDir } });
    onDisk('30-flannel.conf', { name: 'flannel', type: 'ptp', ipam: { type: 'host-local', subnet: '10.250.247.0/24', dataDir: n.sb.ipamDir } });
    const logFile = path.join(n.sb.dir, 'multus.log');
    // The doc's keys as written; its kubeconfig is replaced by nadDir (and the pod-annotations capability).
    const conf = n.conf({
      cniVersion: '0.3.1', name: 'node-cni-network', type: 'braid', binDir: REFERENCE_PLUGINS,
      logFile, logLevel: 'debug', logOptions: { maxAge: 5, maxSize: 100, maxBackups: 5, compress: true },
      capabilities: { portMappings: true, 'io.kubernetes.cri.pod-annotations': true }, readinessindicatorfile: '', namespaceIsolation: false,
      Note1: 'NOTE: you can set clusterNetwork+defaultNetworks OR delegates!!',
      clusterNetwork: 'defaultCRD', defaultNetworks: ['sidecarCRD', 'flannel'], systemNamespaces: ['kube-system', 'admin'], multusNamespace: 'kube-system',
      Note2: 'NOTE: If you use clusterNetwork/defaultNetworks, delegates is ignored',
      delegates: [{ type: 'weave-net', hairpinMode: true }, { type: 'macvlan', master, mode: 'bridge' }],
    });
    const pod = n.pod();
    ok(n.run('ADD', pod, conf));
    expectInterfaces(pod, { eth0: range(245, 2, 254), net1: range(246, 1, 254), net2: range(247, 1, 254) });
    expect(fs.readFileSync(logFile, 'utf8')).toContain('Note1');
    const system = n.pod('admin');
    ok(n.run('ADD', system, conf));
    expectInterfaces(system, { eth0: range(245, 2, 254) });
    delAll(n, conf, [pod, system]);
  });

  it('namespace isolation: development may not use privileged/macvlan-conf (Multus\'s message), may use its own, and globalNamespaces opens namespace-a', () => {
    const { n, master, conf } = docsNode();
    const cr = (namespace: string, third: number) => macvlanConf(master, n.sb.ipamDir, third, namespace);
    n.manifest('privileged.yaml', cr('privileged', 240));
    n.manifest('development.yaml', cr('development', 241));
    n.manifest('namespace-a.yaml', cr('namespace-a', 242));
    const isolated = conf({ namespaceIsolation: true });
    const denied = n.pod('development');
    const msg = failed(n.run('ADD', denied, isolated, { [NETWORKS]: 'privileged/macvlan-conf' }), 7);
    expect(msg).toContain('namespace isolation enabled, annotation violates permission, pod is in namespace development but refers to target namespace privileged');
    expect(linksIn(denied.ns)).toEqual([]);
    const positive = n.pod('development');
    ok(n.run('ADD', positive, isolated, { [NETWORKS]: 'macvlan-conf' }));
    expectInterfaces(positive, { eth0: ETH0, net1: range(241, 200, 216) });

    const globals = conf({ namespaceIsolation: true, globalNamespaces: 'default,namespace-a,namespace-b' });
    const global = n.pod('development');
    ok(n.run('ADD', global, globals, { [NETWORKS]: 'namespace-a/macvlan-conf' }));
    expectInterfaces(global, { eth0: ETH0, net1: range(242, 200, 216) });
    delAll(n, isolated, [positive, global]);
  });

  it('v1.multus-cni.io/default-network: calico-conf replaces the cluster network for that pod only', () => {
    const { n, conf } = docsNode();
    n.manifest('calico-conf.json', JSON.stringify({
      apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'calico-conf', namespace: 'kube-system' },
      spec: { config: JSON.stringify({ cniVersion: '0.3.1', type: 'bridge', bridge: n.sb.linkName('cc'), isGateway: true, ipam: { type: 'host-local', subnet: '10.250.248.0/24', dataDir: n.sb.ipamDir } }) },
    }));
    const config = conf();
    const example = n.pod();
    ok(n.run('ADD', example, config, { 'v1.multus-cni.io/default-network': 'calico-conf' }));
    expectInterfaces(example, { eth0: range(248, 2, 254) });
    const other = n.pod();
    ok(n.run('ADD', other, config));
    expectInterfaces(other, { eth0: ETH0 });
    delAll(n, config, [example, other]);
  });
});

describe('Multus e2e templates', () => {
  it('simple-macvlan1: macvlan with the ips capability, static IPAM and tuning gives each worker its address', () => {
    const { n, master, conf } = docsNode();
    n.manifest('simple-macvlan1.yml', `---
apiVersion: "k8s.cni.cncf.io/v1"
kind: NetworkAttachmentDefinition
metadata:
  name: macvlan1-config
spec: 
  config: '{
            "cniVersion": "0.4.0",
            "plugins": [
                {
                    "type": "macvlan",
                    "capabilities": { "ips": true },
                    "master": "${master}",
                    "mode": "bridge",
                    "ipam": {
                        "type": "static"
                    }
                }, {
                    "type": "tuning"
                } ]
        }'
`);
    const config = conf();
    const [worker1, worker2] = [n.pod(), n.pod()];
    ok(n.run('ADD', worker1, config, { [NETWORKS]: '[\n            { "name": "macvlan1-config",\n              "ips": [ "10.250.240.11/24" ] }\n    ]' }));
    ok(n.run('ADD', worker2, config, { [NETWORKS]: '[\n            { "name": "macvlan1-config",\n              "ips": [ "10.250.240.12/24" ] }\n    ]' }));
    expectInterfaces(worker1, { eth0: ETH0, net1: ['10.250.240.11/24'] });
    expectInterfaces(worker2, { eth0: ETH0, net1: ['10.250.240.12/24'] });
    delAll(n, config, [worker1, worker2]);
  });

  it('static-pod-nad: the bridge NAD "bridge-nad" (config name testnet) gives net1 from its subnet', () => {
    const { n, conf } = docsNode();
    n.manifest('static-pod-nad.yml', `apiVersion: "k8s.cni.cncf.io/v1"
kind: NetworkAttachmentDefinition
metadata:
  name: bridge-nad
spec: 
  config: '{
    "cniVersion": "0.3.1",
    "name": "testnet",
    "type": "bridge",
    "bridge": "${n.sb.linkName('tn')}",
    "ipam": {
        "type": "host-local",
        "subnet": "10.250.243.0/24",
        "dataDir": "${n.sb.ipamDir}"
    }
}'
`);
    const config = conf();
    const pod = n.pod();
    ok(n.run('ADD', pod, config, { [NETWORKS]: 'bridge-nad' }));
    expectInterfaces(pod, { eth0: ETH0, net1: range(243, 2, 254) });
    delAll(n, config, [pod]);
  });

  it('subdirectory-chaining: tuning from <confdir>/kindnet/ is chained onto the kindnet conflist and sets eth0\'s sysctl', () => {
    const { n } = docsNode();
    const confDir = path.join(n.sb.dir, 'etc-cni-net.d');
    fs.mkdirSync(path.join(confDir, 'kindnet'), { recursive: true });
    const kindnet = path.join(confDir, '10-kindnet.conflist');
    fs.writeFileSync(kindnet, JSON.stringify({
      cniVersion: '0.4.0', name: 'kindnet',
      plugins: [{ type: 'ptp', ipMasq: false, ipam: { type: 'host-local', dataDir: n.sb.ipamDir, ranges: [[{ subnet: `${CLUSTER_SUBNET}.0/24` }]], routes: [{ dst: '0.0.0.0/0' }] } }],
    }));
    fs.writeFileSync(path.join(confDir, 'kindnet', 'sysctltwiddle.conf'), JSON.stringify({
      cniVersion: '0.4.0', name: 'sysctltwiddle', type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.arp_filter': '1' },
    }));
    const config = n.conf({ clusterNetwork: kindnet, binDir: REFERENCE_PLUGINS });
    const pod = n.pod();
    ok(n.run('ADD', pod, config));
    expectInterfaces(pod, { eth0: ETH0 });
    expect(sysctlIn(pod.ns, 'net.ipv4.conf.eth0.arp_filter')).toBe('1');
    delAll(n, config, [pod]);
  });
});
