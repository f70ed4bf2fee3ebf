import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { REFERENCE_PLUGINS } from '../helpers/braid';
import { failed, fakeCalls, ok } from '../helpers/cni';
import { hostLinkExists, linksIn } from '../helpers/host';
import { NETWORKS, RESOURCE_NAME } from '../helpers/k8s';
import { startKubelet } from '../helpers/kubelet.mjs';
import { ClusterlessNode } from '../helpers/node';

// SR-IOV subfunctions: the device plugin's device ID is an auxiliary-bus name ("mlx5_core.sf.4"), not
// a PCI address. The real executable asks a kubelet pod-resources server (the real v1 proto) for it and
// hands it to the recording `sriov` plugin (test/fixtures/plugins/sriov) and to the real host-device.
// Address range of this file: 10.250.238.0/24.

const RES = 'nvidia.com/sf_a';
const SF = 'mlx5_core.sf.4';

/** A node with a kubelet that gave the pod `SF`, a device-info dir, and a NAD on RES with `config`. */
async function sfNode(config: Record<string, unknown>): Promise<{ n: ClusterlessNode; pod: ReturnType<ClusterlessNode['pod']>; conf: Record<string, unknown>; log: string; devinfo: string }> {
  const n = new ClusterlessNode();
  const pod = n.pod('team-s');
  const kubelet = await startKubelet({ pods: [{ name: pod.name, namespace: 'team-s', containers: [{ name: 'app', devices: [{ resourceName: RES, deviceIds: [SF] }] }] }] });
  onTestFinished(() => kubelet.stop());
  n.manifest('sf.json', JSON.stringify({
    apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition',
    metadata: { name: 'sf-a', namespace: 'team-s', annotations: { [RESOURCE_NAME]: RES } },
    spec: { config: JSON.stringify({ cniVersion: '1.0.0', ...config }) },
  }));
  const devinfo = path.join(n.sb.dir, 'devinfo');
  const conf = n.conf({
    binDir: REFERENCE_PLUGINS, kubeletSocket: kubelet.socket, kubeletTimeout: 5, deviceInfoDir: devinfo,
    pciDevicesDir: path.join(n.sb.dir, 'sys/bus/pci/devices'), resultMode: 'merged',
    delegates: [{ cniVersion: '1.0.0', name: 'podnet', type: 'fake' }],
  });
  return { n, pod, conf, log: path.join(n.sb.dir, 'plugins.log'), devinfo };
}

const ofType = (log: string, type: string, command: string) => fakeCalls(log).filter((c) => c.config.type === type && c.command === command);

describe('SR-IOV subfunctions (auxiliary-bus device IDs)', () => {
  it('go to the plugins as runtimeConfig.deviceID, never as pciBusID, and get device-info without a pci-address', async () => {
    const { n, pod, conf, log } = await sfNode({ type: 'sriov', deviceInfo: false });
    const [sf] = n.sb.veth('s');
    const nad = JSON.parse(fs.readFileSync(path.join(n.nadDir, 'sf.json'), 'utf8'));
    nad.spec.config = JSON.stringify({ ...JSON.parse(nad.spec.config), hostVeth: sf, ip: '10.250.238.4/24' });
    n.manifest('sf.json', JSON.stringify(nad));

    ok(await n.runAsync('ADD', pod, conf, { [NETWORKS]: 'sf-a' }, { FAKE_LOG: log }));
    const [add] = ofType(log, 'sriov', 'ADD');
    expect(add.config.pciBusID).toBeUndefined();
    expect(add.config.deviceID).toBe(SF);
    // The NAD declares no capability: the subfunction is offered as runtimeConfig.deviceID all the same.
    expect(add.config.runtimeConfig).toEqual({ deviceID: SF });
    expect(linksIn(pod.ns).sort()).toEqual(['net1']);
    const cached = n.sb.readCache(pod.containerID).attachments[1];
    expect(cached.deviceInfo).toEqual({ type: 'auxiliary', version: '1.1.0', auxiliary: { device: SF } });
    expect(JSON.stringify(cached.deviceInfo)).not.toContain('pci-address');

    ok(await n.runAsync('DEL', pod, conf, {}, { FAKE_LOG: log }));
    const [del] = ofType(log, 'sriov', 'DEL');
    expect(del.config.runtimeConfig).toEqual({ deviceID: SF });
    expect(hostLinkExists(sf)).toBe(true);
  });

  it('report the device plugin\'s device-info file when it wrote one', async () => {
    const { n, pod, conf, log, devinfo } = await sfNode({ type: 'sriov', deviceInfo: false, capabilities: { CNIDeviceInfoFile: true } });
    const written = { type: 'pci', version: '1.1.0', pci: { 'pci-address': '0000:03:00.0', 'rdma-device': 'mlx5_4' } };
    fs.mkdirSync(path.join(devinfo, 'dp'), { recursive: true });
    fs.writeFileSync(path.join(devinfo, 'dp', `nvidia.com-sf_a-${SF}-device.json`), JSON.stringify(written));

    ok(await n.runAsync('ADD', pod, conf, { [NETWORKS]: 'sf-a' }, { FAKE_LOG: log }));
    const [add] = ofType(log, 'sriov', 'ADD');
    expect(JSON.parse(add.deviceInfoBefore!)).toEqual(written);
    expect(n.sb.readCache(pod.containerID).attachments[1].deviceInfo).toEqual(written);
    ok(await n.runAsync('DEL', pod, conf, {}, { FAKE_LOG: log }));
    expect(fs.readdirSync(path.join(devinfo, 'cni'))).toEqual([]);
  });

  it('reach the real host-device as runtimeConfig.deviceID though the NAD declares no capability', async () => {
    const { n, pod, conf } = await sfNode({ type: 'host-device' });
    const msg = failed(await n.runAsync('ADD', pod, conf, { [NETWORKS]: 'sf-a' }), 999);
    // host-device reads no top-level deviceID, and braid sent no pciBusID: only runtimeConfig.deviceID
    // carried the name. Current host-device resolves it on the auxiliary bus; Debian's v1.1.1 predates
    // that and looks for it on the PCI bus, which this machine does not have. Without the name it would
    // ask for "device", "hwaddr", "kernelpath" or "pciBusID".
    expect(msg).toContain(`plugin host-device: error with host device: lstat /sys/bus/pci/devices/${SF}`);
    expect(linksIn(pod.ns)).toEqual([]);
  });
});
