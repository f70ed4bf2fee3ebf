import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { failed, ok } from '../helpers/cni';
import { addressesIn, linksIn } from '../helpers/host';
import { NETWORKS } from '../helpers/k8s';
import { CLUSTER_SUBNET, defaultRoutes, delAll, docsNode, ETH0, expectInterfaces, macvlanConf, nadYaml, range } from '../helpers/multus-docs';
import type { ClusterlessNode } from '../helpers/node';

// The examples of Multus's documentation (docs/quickstart.md, docs/how-to-use.md, docs/configuration.md)
// and e2e templates (e2e/templates/*.yml.j2) that can run without a cluster, through the built braid in
// clusterless mode (NADs in nadDir, the pod's annotations handed over by the runtime) in real netns with
// the reference plugins. Each keeps the example's config and annotation and changes only what this
// machine needs: "type": "braid", addresses in 10.250.240.0/24 … 10.250.249.0/24 (same prefix lengths and
// ranges), the host's uplink (a veth end) as "master", a unique bridge name.
// Not runnable without a cluster, so not here: flannel and weave-net delegates (their daemons), the DRA
// example (a ResourceClaim), the kubeconfig and RBAC set-up. Multus's e2e default-route1 pods run in
// multus-pods.test.ts, its subdirectory-chaining-passthru pod in auxiliary-chain.test.ts.

describe('Multus docs/quickstart.md', () => {
  function quickstart(): { n: ClusterlessNode; conf: Record<string, unknown> } {
    const { n, master, conf } = docsNode();
    n.manifest('macvlan-conf.yaml', macvlanConf(master, n.sb.ipamDir, 240));
    return { n, conf: conf() };
  }

  it('samplepod with "macvlan-conf" gets lo, eth0 and net1 from the macvlan range; eth0 keeps the default route', () => {
    const { n, conf } = quickstart();
    const pod = n.pod();
    ok(n.run('ADD', pod, conf, { [NETWORKS]: 'macvlan-conf' }));
    expectInterfaces(pod, { eth0: ETH0, net1: range(240, 200, 216) });
    // Without "default-route", braid leaves the plugins' routes alone: both IPAMs asked for one.
    expect(defaultRoutes(pod).sort()).toEqual([['10.250.240.1', 'net1'], [`${CLUSTER_SUBNET}.1`, 'eth0']]);
    delAll(n, conf, [pod]);
  });

  it('samplepod with "macvlan-conf,macvlan-conf" gets net1 and net2 from the same NAD', () => {
    const { n, conf } = quickstart();
    const pod = n.pod();
    ok(n.run('ADD', pod, conf, { [NETWORKS]: 'macvlan-conf,macvlan-conf' }));
    expectInterfaces(pod, { eth0: ETH0, net1: range(240, 200, 216), net2: range(240, 200, 216) });
    expect(addressesIn(pod.ns, 'net1')).not.toEqual(addressesIn(pod.ns, 'net2'));
    delAll(n, conf, [pod]);
  });
});

describe('Multus docs/how-to-use.md', () => {
  /** macvlan-conf-1 (JSON config), macvlan-conf-2 (no spec: the conf file in confDir), testns1/macvlan-conf-3. */
  function howTo(): { n: ClusterlessNode; conf: Record<string, unknown> } {
    const { n, master, conf } = docsNode();
    const macvlan = (name: string, namespace: string, third: number, gateway?: string) => nadYaml(name, namespace, JSON.stringify({
      cniVersion: '0.3.0', type: 'macvlan', master, mode: 'bridge',
      ipam: { type: 'host-local', dataDir: n.sb.ipamDir, ranges: [[{ subnet: `10.250.${third}.0/24`, rangeStart: `10.250.${third}.20`, rangeEnd: `10.250.${third}.50`, ...(gateway ? { gateway } : {}) }]] },
    }, null, 2));
    n.manifest('macvlan-conf-1.yaml', macvlan('macvlan-conf-1', '', 241, '10.250.241.254'));
    n.manifest('macvlan-conf-2.yaml', 'apiVersion: "k8s.cni.cncf.io/v1"\nkind: NetworkAttachmentDefinition\nmetadata:\n  name: macvlan-conf-2\n');
    fs.writeFileSync(path.join(n.sb.confDir, 'macvlan2.conf'), JSON.stringify({
      cniVersion: '0.3.0', type: 'macvlan', name: 'macvlan-conf-2', master, mode: 'bridge',
      ipam: { type: 'host-local', dataDir: n.sb.ipamDir, ranges: [[{ subnet: '10.250.242.0/24', rangeStart: '10.250.242.20', rangeEnd: '10.250.242.50' }]] },
    }, null, 2));
    n.manifest('macvlan-conf-3.yaml', macvlan('macvlan-conf-3', 'testns1', 243));
    return { n, conf: conf() };
  }
  const CONF1 = range(241, 20, 50);
  const CONF2 = range(242, 20, 50);

  it('pod-case-01 (text annotation "macvlan-conf-1, macvlan-conf-2") gets net1 and net2, the second from the conf file in confDir', () => {
    const { n, conf } = howTo();
    const pod = n.pod();
    ok(n.run('ADD', pod, conf, { [NETWORKS]: 'macvlan-conf-1, macvlan-conf-2' }));
    expectInterfaces(pod, { eth0: ETH0, net1: CONF1, net2: CONF2 });
    delAll(n, conf, [pod]);
  });

  it('pod-case-02 ("testns1/macvlan-conf-3") and pod-case-03 ("macvlan-conf-1@macvlan1")', () => {
    const { n, conf } = howTo();
    const case02 = n.pod();
    ok(n.run('ADD', case02, conf, { [NETWORKS]: 'testns1/macvlan-conf-3' }));
    expectInterfaces(case02, { eth0: ETH0, net1: range(243, 20, 50) });
    const case03 = n.pod();
    ok(n.run('ADD', case03, conf, { [NETWORKS]: 'macvlan-conf-1@macvlan1' }));
    expectInterfaces(case03, { eth0: ETH0, macvlan1: CONF1 });
    delAll(n, conf, [case02, case03]);
  });

  it('pod-case-04 (JSON) and pod-case-06 (JSON with "interface": "macvlan1"), the latter as the doc\'s ip output shows', () => {
    const { n, conf } = howTo();
    const case04 = n.pod();
    ok(n.run('ADD', case04, conf, { [NETWORKS]: '[\n            { "name" : "macvlan-conf-1" },\n            { "name" : "macvlan-conf-2" }\n    ]' }));
    expectInterfaces(case04, { eth0: ETH0, net1: CONF1, net2: CONF2 });
    const case06 = n.pod();
    ok(n.run('ADD', case06, conf, { [NETWORKS]: '[\n            { "name" : "macvlan-conf-1",\n              "interface": "macvlan1" },\n            { "name" : "macvlan-conf-2" }\n    ]' }));
    expectInterfaces(case06, { eth0: ETH0, macvlan1: CONF1, net2: CONF2 });
    delAll(n, conf, [case04, case06]);
  });

  it('pod-case-05 names macvlan-conf-1 in testns1, which the doc never creates: the ADD fails naming it and attaches nothing, as in Multus', () => {
    const { n, conf } = howTo();
    const pod = n.pod();
    const msg = failed(n.run('ADD', pod, conf, { [NETWORKS]: '[\n            { "name" : "macvlan-conf-1",\n              "namespace": "testns1" }\n    ]' }), 7);
    expect(msg).toContain('testns1/macvlan-conf-1 not found');
    expect(linksIn(pod.ns)).toEqual([]);
  });

  it('the default-route samplepod gets its default route via 10.250.244.1 on net1', () => {
    const { n, master, conf } = docsNode();
    n.manifest('macvlan-conf.yaml', macvlanConf(master, n.sb.ipamDir, 244));
    const config = conf();
    const pod = n.pod();
    ok(n.run('ADD', pod, config, { [NETWORKS]: '[{\n      "name": "macvlan-conf",\n      "default-route": ["10.250.244.1"]\n    }]' }));
    expectInterfaces(pod, { eth0: ETH0, net1: range(244, 200, 216) });
    expect(defaultRoutes(pod)).toEqual([['10.250.244.1', 'net1']]);
    delAll(n, config, [pod]);
  });
});
