import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import type { ApiServer } from '../helpers/apiserver.mjs';
import { BRAID, parseJson, runBraidTool } from '../helpers/braid';
import { ok } from '../helpers/cni';
import { ip, linksIn, sandbox, subnetAllocator } from '../helpers/host';
import { NETWORKS, useApiServer } from '../helpers/k8s';
import { EXAMPLES, runnableExample } from '../helpers/examples';
import { PodNode } from '../helpers/pod-node';

// `braid plan`: the example configs and pods, broken inputs failing as ADD fails, and the plan of a pod
// compared with what a real ADD of that pod then does in a real netns with the reference plugins.
// Address range of this file: 10.250.170.0/24 … 10.250.173.0/24.

const nextSubnet = subnetAllocator(170, 4);

/** plan --output json with these flags; the parsed output and the exit status. */
function plan(...args: string[]): { status: number; out: any; stderr: string } {
  const r = runBraidTool(['plan', ...args, '-o', 'json']);
  return { status: r.status, out: r.json, stderr: r.stderr };
}

/** The fields of an attachment that decide what its delegates do. */
const decisive = (a: any) => ({
  network: a.network, ifname: a.ifname, config: a.config, runtimeConfig: a.runtimeConfig, cniArgs: a.cniArgs,
  clusterNetwork: a.clusterNetwork, defaultRoute: a.defaultRoute, deviceID: a.deviceID, resourceName: a.resourceName,
});

describe('braid plan on conf-examples/', () => {
  const podFile = path.join(EXAMPLES, 'pod-default-route.yaml');

  it.each([
    ['00-braid-inline.conf', ['cbr0', 'storage-inline', 'default/macvlan-gw'], ['eth0', 'net1', 'net2']],
    ['00-braid-cilium.conflist', ['cilium', 'default/macvlan-gw'], ['eth0', 'net1']],
  ])('%s with pod-default-route.yaml: networks, names and the default route moved to the macvlan gateway', (file, networks, ifnames) => {
    const sb = sandbox();
    const pod = yaml.load(fs.readFileSync(podFile, 'utf8')) as any;
    // the example asks for "net1"; with a second inline delegate that name is taken, so let it be positional
    const annotation = JSON.parse(pod.metadata.annotations[NETWORKS]).map((e: any) => (networks.length > 2 ? { ...e, interface: undefined } : e));
    pod.metadata.annotations[NETWORKS] = JSON.stringify(annotation);
    const config = runnableExample(file, sb.dir);
    const doc = JSON.parse(fs.readFileSync(config, 'utf8'));
    for (const p of doc.plugins ?? [doc]) if (p.type === 'braid') p.binDir = sb.dir; // a bin dir without plugins
    fs.writeFileSync(config, JSON.stringify(doc));
    const { status, out } = plan('--config', config, '--pod', sb.write('pod.yaml', yaml.dump(pod)), '--nad-dir', EXAMPLES);
    expect(status, JSON.stringify(out)).toBe(0);
    expect(out.attachments.map((a: any) => a.network)).toEqual(networks);
    expect(out.attachments.map((a: any) => a.ifname)).toEqual(ifnames);
    const last = out.attachments[out.attachments.length - 1];
    expect(last.defaultRouteDecision).toBe('IPv4 default via 10.250.188.1 (default-route)');
    expect(out.attachments[0].defaultRouteDecision).toBe(`IPv4 default removed (${last.ifname} owns it)`);
    expect(last.delegates).toEqual([expect.objectContaining({ type: 'macvlan', name: 'macvlan-gw', cniVersion: '1.0.0' })]);
    // planned all the same, but what this machine lacks is said (CNI_PATH is unset)
    expect(out.warnings).toContainEqual(expect.stringContaining(`network "default/macvlan-gw": failed to find plugin "macvlan" in path [${sb.dir}]`));
  });

  it('00-braid.conflist with pod-default-route.yaml fails as ADD would: net1 is storage\'s by position', () => {
    const sb = sandbox();
    const { status, out } = plan('--config', runnableExample('00-braid.conflist', sb.dir), '--pod', podFile, '--nad-dir', EXAMPLES);
    expect(status).toBe(1);
    expect(out.error).toEqual({ code: 7, msg: 'network "default/macvlan-gw": interface name net1 is already used by network "storage"' });
  });

  it('every example NAD: device IDs from --devices injected as deviceID, pciBusID and runtimeConfig where declared', () => {
    const sb = sandbox();
    const nads = ['sriov-netdevice', 'sriov-dpdk', 'host-device-vf', 'macvlan-gw'];
    const podFile2 = sb.write('pod.yaml', yaml.dump({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'cnf', namespace: 'default', uid: 'u-1', annotations: { [NETWORKS]: nads.join(', ') } } }));
    const devices = sb.write('devices.yaml', yaml.dump({ 'intel.com/sriov_netdevice': ['0000:3b:02.1'], 'intel.com/sriov_dpdk': ['0000:3b:0a.0'], 'example.com/host_device': ['0000:5e:00.0'] }));
    const { status, out } = plan('--config', runnableExample('00-braid-cilium.conflist', sb.dir), '--pod', podFile2, '--nad-dir', EXAMPLES, '--devices', devices, '--container-id', 'c0ffee');
    expect(status, JSON.stringify(out)).toBe(0);
    const [, netdev, dpdk, hostdev, macvlan] = out.attachments;
    expect(netdev.delegates[0]).toMatchObject({ type: 'sriov', deviceID: '0000:3b:02.1', pciBusID: '0000:3b:02.1', runtimeConfig: { deviceID: '0000:3b:02.1', CNIDeviceInfoFile: expect.stringMatching(/default-sriov-netdevice-c0ffee_net1$/) } });
    expect(dpdk.delegates[0]).toMatchObject({ deviceID: '0000:3b:0a.0', runtimeConfig: { CNIDeviceInfoFile: expect.any(String) } });
    expect(dpdk.delegates[0].runtimeConfig.deviceID, 'sriov-dpdk declares no deviceID capability').toBeUndefined();
    expect(hostdev.delegates[0]).toMatchObject({ type: 'host-device', pciBusID: '0000:5e:00.0' });
    expect(hostdev.delegates[0].runtimeConfig).toBeUndefined();
    expect(macvlan.deviceID).toBeUndefined();
    expect(out.attachments.map((a: any) => a.cniArgs)).toEqual(Array(5).fill('IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=cnf;K8S_POD_INFRA_CONTAINER_ID=c0ffee;K8S_POD_UID=u-1'));
  });

  it('too few devices, a missing NAD and a broken annotation fail with ADD\'s code 7 and message', () => {
    const sb = sandbox();
    const config = runnableExample('00-braid-cilium.conflist', sb.dir);
    const podWith = (networks: string) => sb.write(`pod-${networks.length}.yaml`, yaml.dump({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', annotations: { [NETWORKS]: networks } } }));
    const devices = sb.write('devices.json', { 'intel.com/sriov_netdevice': ['0000:3b:02.1'] });
    const cases: Array<[string, RegExp]> = [
      ['sriov-netdevice, sriov-netdevice', /network "default\/sriov-netdevice": needs a device of resource intel\.com\/sriov_netdevice, but the kubelet assigned the pod 1 \(0000:3b:02\.1\)/],
      ['nope', /^NetworkAttachmentDefinition default\/nope not found$/],
      ['[{"name": "macvlan-gw", "mac": "zz"}]', /"mac" "zz" is not a valid MAC address/],
    ];
    for (const [networks, msg] of cases) {
      const { status, out } = plan('--config', config, '--pod', podWith(networks), '--nad-dir', EXAMPLES, '--devices', devices);
      expect(status, networks).toBe(1);
      expect(out.error.code, networks).toBe(7);
      expect(out.error.msg, networks).toMatch(msg);
    }
  });

  it('the text output is a table of the attachments followed by each delegate\'s stdin', () => {
    const sb = sandbox();
    const r = runBraidTool(['plan', '--config', runnableExample('00-braid-cilium.conflist', sb.dir), '--pod', podFile, '--nad-dir', EXAMPLES]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^#\s+INTERFACE\s+NETWORK\s+ROLE\s+DEVICE\s+DEFAULT ROUTE$/m);
    expect(r.stdout).toMatch(/^2\s+net1\s+default\/macvlan-gw\s+secondary\s+-\s+IPv4 default via 10\.250\.188\.1 \(default-route\)$/m);
    expect(r.stdout).toContain('delegate 2/2 (portmap) stdin (plus prevResult):');
  });

  it('usage errors exit 2: no --pod, --nad-dir with --kubeconfig; --help exits 0', () => {
    expect(runBraidTool(['plan', '--config', 'x']).status).toBe(2);
    expect(runBraidTool(['plan', '--config', 'x', '--pod', 'y', '--nad-dir', 'a', '--kubeconfig', 'b']).status).toBe(2);
    const help = runBraidTool(['plan', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--devices FILE');
  });
});

describe('braid plan against a real ADD', () => {
  it('the plan of a pod is what ADD then does: same attachments and configs in the cache, same interfaces and default route in the netns', () => {
    const node = new PodNode({ pod: nextSubnet(), macvlan: nextSubnet(), ptp: nextSubnet() });
    const gw = node.subnets.macvlan.gw4;
    const annotations = node.pod([
      { name: 'ptp-b', 'cni-args': { note: 'x' } },
      { name: 'macvlan-gw', interface: 'data', mac: '02:00:00:00:17:01', 'default-route': [gw] },
    ]);
    const planned = node.tool(['plan', '--config', node.configFile, '--pod', node.podFile, '--container-id', node.containerID]);
    expect(planned.status, planned.stdout + planned.stderr).toBe(0);
    const view = planned.json;
    expect(view.attachments.map((a: any) => a.ifname)).toEqual(['eth0', 'net1', 'data']);
    expect(view.attachments[0].cniArgs, 'the default CNI_ARGS are containerd\'s').toBe(node.cniArgs);
    const r = node.add(annotations);
    try {
      ok(r);
      const cache = node.cache();
      expect(cache.attachments.map(decisive)).toEqual(view.attachments.map(decisive));
      expect(linksIn(node.ns).filter((l) => l !== 'lo').sort()).toEqual(view.attachments.map((a: any) => a.ifname).sort());
      expect(JSON.parse(ip('-n', node.ns, '-4', '-j', 'route', 'show', 'default'))).toEqual([expect.objectContaining({ gateway: gw, dev: 'data' })]);
      expect(JSON.parse(ip('-n', node.ns, '-j', 'link', 'show', 'data'))[0].address).toBe('02:00:00:00:17:01');
    } finally {
      ok(node.del());
    }
  });
});

describe('braid plan --kubeconfig', () => {
  let api: ApiServer;
  useApiServer((s) => { api = s; });

  /** plan --output json without blocking this process, which serves the API. */
  function planAsync(args: string[]): Promise<{ status: number; out: any }> {
    return new Promise((resolve) => {
      execFile(BRAID, ['plan', ...args, '-o', 'json'], { env: { PATH: process.env.PATH } }, (err, stdout) => {
        resolve({ status: err ? (err as { code?: number }).code ?? -1 : 0, out: parseJson(stdout) });
      });
    });
  }

  it('takes the NADs from the cluster, the pod from its manifest, and writes nothing', async () => {
    const sb = sandbox();
    api.addNad('team-p', 'mv', { cniVersion: '1.0.0', type: 'macvlan', master: 'eth1', ipam: { type: 'host-local', subnet: '10.250.172.0/24' } });
    const pod = sb.write('pod.yaml', yaml.dump({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'team-p', annotations: { [NETWORKS]: 'mv@data' } } }));
    const { status, out } = await planAsync(['--config', runnableExample('00-braid-cilium.conflist', sb.dir), '--pod', pod, '--kubeconfig', api.kubeconfig(sb.dir)]);
    expect(status, JSON.stringify(out)).toBe(0);
    expect(out.attachments.map((a: any) => [a.ifname, a.network])).toEqual([['eth0', 'cilium'], ['data', 'team-p/mv']]);
    expect(out.attachments[1].delegates[0]).toMatchObject({ type: 'macvlan', name: 'mv', master: 'eth1' });
    // as ADD: the cluster network's name is looked up as a NAD in multusNamespace first; no pod GET, no write
    expect(api.calls.map((c) => `${c.method} ${c.path}`).sort()).toEqual([
      'GET /apis/k8s.cni.cncf.io/v1/namespaces/kube-system/network-attachment-definitions/cilium',
      'GET /apis/k8s.cni.cncf.io/v1/namespaces/team-p/network-attachment-definitions/mv',
    ]);
    expect(fs.existsSync(path.join(sb.dir, 'cache')), 'plan wrote into cniDir (TLS sessions?)').toBe(false);
  });

  it('a NAD the cluster does not have fails as ADD does (code 7, named)', async () => {
    const sb = sandbox();
    const pod = sb.write('pod.yaml', yaml.dump({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'team-p', annotations: { [NETWORKS]: 'gone' } } }));
    const { status, out } = await planAsync(['--config', runnableExample('00-braid-cilium.conflist', sb.dir), '--pod', pod, '--kubeconfig', api.kubeconfig(sb.dir)]);
    expect(status).toBe(1);
    expect(out.error).toEqual({ code: 7, msg: 'NetworkAttachmentDefinition team-p/gone not found' });
  });
});
