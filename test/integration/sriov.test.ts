import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runBraidAsync, type BraidOutcome } from '../helpers/braid';
import { braidConf, failed, fakeCalls, ok } from '../helpers/cni';
import { hostLinkExists, ip, linksIn, PodSandbox } from '../helpers/host';
import type { ApiServer } from '../helpers/apiserver.mjs';
import { NETWORK_STATUS, NETWORKS, POD_ANNOTATIONS, RESOURCE_NAME, useApiServer } from '../helpers/k8s';
import { startKubelet, type KubeletServer, type PodInput } from '../helpers/kubelet.mjs';

// SR-IOV device assignment end to end: the real executable in a real netns asks a kubelet pod-resources
// server (test/helpers/kubelet.mjs, the real v1 proto over a unix socket) or the device-manager
// checkpoint which VFs the pod got, injects them into the NADs that name a resourceName, stages and
// reports device-info. The VFs are played by the `sriov` test plugin (test/fixtures/plugins/sriov),
// which needs a deviceID as sriov-cni does and uses a host veth end as a VF's netdev; the real
// host-device plugin moves a veth end by name.
// Address range of this file: 10.250.180.0/24 … 10.250.189.0/24.

const RES_A = 'intel.com/sriov_a';
const RES_DPDK = 'intel.com/sriov_dpdk';
const NS = 'team-s';

let api: ApiServer;
useApiServer((s) => { api = s; });

/** A kubelet pod-resources server for the test (answering after `delayMs`), stopped when it finishes. */
async function kubelet(pods: PodInput[], get: 'ok' | 'unimplemented' | 'disabled' = 'ok', delayMs = 0): Promise<KubeletServer> {
  const k = await startKubelet({ pods, get, delayMs });
  onTestFinished(() => k.stop());
  return k;
}

/** Files under a directory, recursively, relative to it. */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}

/** One pod's sandbox and node: netns, NAD manifests (nadDir), device-info and fake sysfs dirs, fake log. */
class Pod extends PodSandbox {
  readonly nadDir = path.join(this.sb.dir, 'nads');
  readonly deviceInfoDir = path.join(this.sb.dir, 'devinfo');
  readonly pciDevicesDir = path.join(this.sb.dir, 'sys/bus/pci/devices');
  readonly checkpoint = path.join(this.sb.dir, 'device-plugins/kubelet_internal_checkpoint');
  readonly log = path.join(this.sb.dir, 'plugins.log');
  kubeletSocket = path.join(this.sb.dir, 'no-kubelet.sock');
  kubeconfig?: string;

  constructor() {
    super('vf-pod', 'sriov');
    fs.mkdirSync(this.nadDir);
  }

  get args(): string {
    return `IgnoreUnknown=1;K8S_POD_NAMESPACE=${NS};K8S_POD_NAME=${this.name};K8S_POD_UID=${this.uid}`;
  }

  /** A NAD manifest in nadDir. */
  nad(name: string, config: Record<string, unknown>, resourceName?: string): void {
    const annotations = resourceName ? `  annotations:\n    ${RESOURCE_NAME}: ${resourceName}\n` : '';
    fs.writeFileSync(path.join(this.nadDir, `${name}.yaml`), `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: ${name}
  namespace: ${NS}
${annotations}spec:
  config: '${JSON.stringify({ cniVersion: '1.0.0', ...config })}'
`);
  }

  /** A fake sysfs entry: `<pciDevicesDir>/<address>/driver -> ../../drivers/<driver>` (what readlink shows). */
  pciDevice(address: string, driver: string): void {
    const dev = path.join(this.pciDevicesDir, address);
    fs.mkdirSync(dev, { recursive: true });
    fs.mkdirSync(path.join(this.sb.dir, 'sys/bus/pci/drivers', driver), { recursive: true });
    fs.symlinkSync(`../../drivers/${driver}`, path.join(dev, 'driver'));
  }

  /** braid's config: a fake cluster network as eth0, the runtime passing `networks` as the pod's annotation. */
  conf(networks?: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return braidConf(this.sb, {
      nadDir: this.nadDir,
      kubeletSocket: this.kubeletSocket,
      kubeletCheckpoint: this.checkpoint,
      kubeletTimeout: 5,
      deviceInfoDir: this.deviceInfoDir,
      pciDevicesDir: this.pciDevicesDir,
      logLevel: 'verbose',
      resultMode: 'merged', // the tests read the VF's interface from the ADD result
      delegates: [{ cniVersion: '1.0.0', name: 'podnet', type: 'fake' }],
      ...(this.kubeconfig
        ? { kubeconfig: this.kubeconfig }
        : { capabilities: { [POD_ANNOTATIONS]: true }, runtimeConfig: networks === undefined ? {} : { [POD_ANNOTATIONS]: { [NETWORKS]: networks } } }),
      ...extra,
    });
  }

  run(command: string, config: Record<string, unknown>, args = this.args): Promise<BraidOutcome & { ms: number }> {
    return runBraidAsync({ command, containerID: this.containerID, netns: this.netns, ifname: 'eth0', args, env: { FAKE_LOG: this.log }, config });
  }

  /** CNI_ARGS without K8S_POD_UID, as some runtimes send them. */
  get argsWithoutUid(): string {
    return `IgnoreUnknown=1;K8S_POD_NAMESPACE=${NS};K8S_POD_NAME=${this.name}`;
  }

  /** A device-manager checkpoint holding `entries` ({PodUID, ResourceName, DeviceIDs per NUMA node}). */
  writeCheckpoint(entries: Array<{ PodUID: string; ResourceName: string; DeviceIDs: Record<string, string[]> }>): void {
    fs.mkdirSync(path.dirname(this.checkpoint), { recursive: true });
    const full = entries.map((e) => ({ ContainerName: 'app', AllocResp: 'e30=', ...e }));
    fs.writeFileSync(this.checkpoint, JSON.stringify({ Data: { PodDeviceEntries: full, RegisteredDevices: {} }, Checksum: 1234567890 }));
  }

  /** braid's CNI device-info file of an attachment. */
  cniDeviceInfo(nad: string, ifname: string): string {
    return path.join(this.deviceInfoDir, 'cni', `${NS}-${nad}-${this.containerID}_${ifname}`);
  }

  /** The pod's kubelet entry: one container holding `devices`. */
  kubeletPod(devices: Record<string, string[]>): PodInput {
    return { name: this.name, namespace: NS, containers: [{ name: 'app', devices: Object.entries(devices).map(([resourceName, deviceIds]) => ({ resourceName, deviceIds })) }] };
  }

  /** Nothing attached and nothing left: no link in the netns, no cache, no CNI device-info. */
  assertClean(): void {
    expect(linksIn(this.ns)).toEqual([]);
    expect(this.sb.cacheFiles()).toEqual([]);
    expect(filesUnder(path.join(this.deviceInfoDir, 'cni'))).toEqual([]);
  }
}

/** Plugin calls of one type and command. */
const of = (log: string, type: string, command?: string) => fakeCalls(log).filter((c) => c.config.type === type && (!command || c.command === command));

describe('SR-IOV device IDs from the kubelet', () => {
  it('a NAD with a resourceName gets the pod\'s device (Get); the plugin gets deviceID, pciBusID, runtimeConfig and CNIDeviceInfoFile; DEL sends the cached config', async () => {
    const p = new Pod();
    const [vf] = p.sb.veth('v');
    const k = await kubelet([
      p.kubeletPod({ [RES_A]: ['0000:03:02.3'], 'example.com/gpu': ['gpu-7'] }),
      { name: p.name, namespace: 'other', containers: [{ devices: [{ resourceName: RES_A, deviceIds: ['0000:03:02.7'] }] }] },
      { name: 'someone-else', namespace: NS, containers: [{ devices: [{ resourceName: RES_A, deviceIds: ['0000:03:02.6'] }] }] },
    ]);
    p.kubeletSocket = k.socket;
    p.nad('sriov-a', { type: 'sriov', capabilities: { deviceID: true, CNIDeviceInfoFile: true }, hostVeth: vf, ip: '10.250.180.10/24' }, RES_A);

    const added = await p.run('ADD', p.conf('sriov-a'));
    ok(added);
    expect(k.calls.map((c) => [c.method, c.request])).toEqual([['Get', { pod_name: p.name, pod_namespace: NS }]]);

    const infoFile = p.cniDeviceInfo('sriov-a', 'net1');
    const [add] = of(p.log, 'sriov', 'ADD');
    expect(add.config.deviceID).toBe('0000:03:02.3');
    expect(add.config.pciBusID).toBe('0000:03:02.3');
    expect(add.config.runtimeConfig).toEqual({ deviceID: '0000:03:02.3', CNIDeviceInfoFile: infoFile });
    expect(add.env.CNI_IFNAME).toBe('net1');
    // The cluster network's plugin gets none of it.
    const [cluster] = of(p.log, 'fake', 'ADD');
    expect(cluster.config.deviceID).toBeUndefined();
    expect(cluster.config.runtimeConfig).toBeUndefined();

    // The VF's netdev is in the pod as net1, and the result says so.
    expect(linksIn(p.ns).sort()).toEqual(['net1']);
    expect(hostLinkExists(vf)).toBe(false);
    const net1 = added.json.interfaces.find((i: any) => i.name === 'net1');
    expect(net1).toMatchObject({ sandbox: p.netns });
    expect(added.json.ips).toContainEqual(expect.objectContaining({ address: '10.250.180.10/24' }));
    expect(JSON.parse(fs.readFileSync(infoFile, 'utf8'))).toEqual({ type: 'pci', version: '1.1.0', pci: { 'pci-address': '0000:03:02.3' } });

    // The cache holds the injected config.
    const cached = p.cache().attachments[1];
    expect(cached.config.plugins[0]).toMatchObject({ type: 'sriov', deviceID: '0000:03:02.3', pciBusID: '0000:03:02.3' });
    expect(cached.runtimeConfig).toEqual({ deviceID: '0000:03:02.3', CNIDeviceInfoFile: infoFile });
    expect(cached).toMatchObject({ resourceName: RES_A, deviceID: '0000:03:02.3', deviceInfoFile: infoFile });

    // DEL needs neither the kubelet nor the NAD: the plugin gets exactly the config ADD got.
    await k.stop();
    fs.rmSync(path.join(p.nadDir, 'sriov-a.yaml'));
    ok(await p.run('DEL', p.conf('sriov-a')));
    const [del] = of(p.log, 'sriov', 'DEL');
    const { prevResult, ...delConfig } = del.config;
    expect(delConfig).toEqual(add.config);
    expect(prevResult.interfaces).toEqual([expect.objectContaining({ name: 'net1', sandbox: p.netns })]);
    expect(del.env.CNI_IFNAME).toBe('net1');
    expect(hostLinkExists(vf)).toBe(true);
    expect(fs.existsSync(infoFile)).toBe(false);
    p.assertClean();
  });

  it.each([
    ['unimplemented', 'UNIMPLEMENTED (a kubelet before 1.27)'],
    ['disabled', '"Get method disabled" (KubeletPodResourcesGet gate off)'],
  ] as const)('List is used when Get answers %s: %s', async (mode, _why) => {
    const p = new Pod();
    const k = await kubelet([
      { name: p.name, namespace: 'elsewhere', containers: [{ devices: [{ resourceName: RES_A, deviceIds: ['0000:03:02.7'] }] }] },
      { name: p.name, namespace: NS, containers: [{ name: 'init' }, { name: 'app', devices: [{ resourceName: RES_A, deviceIds: ['0000:03:02.1'] }] }] },
    ], mode);
    p.kubeletSocket = k.socket;
    p.nad('sriov-a', { type: 'sriov' }, RES_A);
    ok(await p.run('ADD', p.conf('sriov-a')));
    expect(k.calls.map((c) => c.method)).toEqual(['Get', 'List']);
    const [add] = of(p.log, 'sriov', 'ADD');
    expect(add.config.deviceID).toBe('0000:03:02.1');
    // Without the capabilities the plugin gets no runtimeConfig (libcni rule), only the top-level keys.
    expect(add.config.runtimeConfig).toBeUndefined();
    ok(await p.run('DEL', p.conf('sriov-a')));
    p.assertClean();
  });

  it('two NADs sharing a resource get distinct devices, in sorted order', async () => {
    const p = new Pod();
    const k = await kubelet([{
      name: p.name,
      namespace: NS,
      containers: [
        { name: 'a', devices: [{ resourceName: RES_A, deviceIds: ['0000:03:02.5'] }] },
        { name: 'b', devices: [{ resourceName: RES_A, deviceIds: ['0000:03:02.2'] }, { resourceName: RES_DPDK, deviceIds: ['0000:04:00.1'] }] },
      ],
    }]);
    p.kubeletSocket = k.socket;
    p.nad('sriov-a', { type: 'sriov', capabilities: { CNIDeviceInfoFile: true } }, RES_A);
    p.nad('sriov-b', { type: 'sriov', capabilities: { CNIDeviceInfoFile: true } }, RES_A);
    ok(await p.run('ADD', p.conf('sriov-a, sriov-b@vf2')));
    const adds = of(p.log, 'sriov', 'ADD');
    expect(adds.map((c) => [c.env.CNI_IFNAME, c.config.name, c.config.deviceID, c.config.pciBusID])).toEqual([
      ['net1', 'sriov-a', '0000:03:02.2', '0000:03:02.2'],
      ['vf2', 'sriov-b', '0000:03:02.5', '0000:03:02.5'],
    ]);
    expect(adds.map((c) => c.config.runtimeConfig.CNIDeviceInfoFile)).toEqual([p.cniDeviceInfo('sriov-a', 'net1'), p.cniDeviceInfo('sriov-b', 'vf2')]);
    expect(filesUnder(path.join(p.deviceInfoDir, 'cni'))).toEqual([
      path.basename(p.cniDeviceInfo('sriov-a', 'net1')),
      path.basename(p.cniDeviceInfo('sriov-b', 'vf2')),
    ].sort());
    ok(await p.run('DEL', p.conf('sriov-a, sriov-b@vf2')));
    expect(of(p.log, 'sriov', 'DEL').map((c) => c.config.deviceID)).toEqual(['0000:03:02.5', '0000:03:02.2']);
    p.assertClean();
  });

  it('too few devices for the resource fails with a clear error before any plugin runs', async () => {
    const p = new Pod();
    const [vf] = p.sb.veth('v');
    const k = await kubelet([p.kubeletPod({ [RES_A]: ['0000:03:02.2'] })]);
    p.kubeletSocket = k.socket;
    p.nad('sriov-a', { type: 'sriov', hostVeth: vf }, RES_A);
    p.nad('sriov-b', { type: 'sriov' }, RES_A);
    const msg = failed(await p.run('ADD', p.conf('sriov-a, sriov-b')), 7);
    expect(msg).toContain(`network "${NS}/sriov-b"`);
    expect(msg).toContain(`needs a device of resource ${RES_A}`);
    expect(msg).toContain('0000:03:02.2');
    expect(fakeCalls(p.log)).toEqual([]);
    expect(hostLinkExists(vf)).toBe(true);
    p.assertClean();
    ok(await p.run('DEL', p.conf('sriov-a, sriov-b')));
    expect(fakeCalls(p.log)).toEqual([]);
  });

  it('a pod the kubelet does not know fails the ADD cleanly (try again later), before any plugin runs', async () => {
    const p = new Pod();
    const k = await kubelet([]);
    p.kubeletSocket = k.socket;
    p.nad('sriov-a', { type: 'sriov' }, RES_A);
    const msg = failed(await p.run('ADD', p.conf('sriov-a')), 11);
    expect(msg).toContain(`kubelet pod-resources at ${k.socket}`);
    expect(msg).toContain(`pod ${p.name} in namespace ${NS} not found`);
    expect(fakeCalls(p.log)).toEqual([]);
    p.assertClean();
  });

  it('a kubelet slower than kubeletTimeout fails the ADD (try again later) naming the socket and the call, before any plugin runs', async () => {
    const p = new Pod();
    const k = await kubelet([p.kubeletPod({ [RES_A]: ['0000:03:02.2'] })], 'ok', 3000);
    p.kubeletSocket = k.socket;
    p.nad('sriov-a', { type: 'sriov' }, RES_A);
    const r = await p.run('ADD', p.conf('sriov-a', { kubeletTimeout: 1 }));
    const msg = failed(r, 11);
    expect(msg).toBe(`kubelet pod-resources at ${k.socket}: Get failed: no answer within kubeletTimeout (1 s)`);
    expect(r.ms).toBeLessThan(3000);
    expect(k.calls.map((c) => c.method)).toEqual(['Get']);
    expect(fakeCalls(p.log)).toEqual([]);
    p.assertClean();
  });

  it('Get and the List after it share one kubeletTimeout: their sum running over it fails the ADD', async () => {
    const p = new Pod();
    // Each answer alone fits in the timeout (1.4 s < 2 s), both together do not (2.8 s).
    const k = await kubelet([p.kubeletPod({ [RES_A]: ['0000:03:02.2'] })], 'disabled', 1400);
    p.kubeletSocket = k.socket;
    p.nad('sriov-a', { type: 'sriov' }, RES_A);
    const r = await p.run('ADD', p.conf('sriov-a', { kubeletTimeout: 2 }));
    const msg = failed(r, 11);
    expect(msg).toBe(`kubelet pod-resources at ${k.socket}: List failed: no answer within kubeletTimeout (2 s, shared with the Get before it)`);
    expect(k.calls.map((c) => c.method)).toEqual(['Get', 'List']);
    expect(fakeCalls(p.log)).toEqual([]);
    p.assertClean();
  });

  it('without the socket, the device-manager checkpoint is read (matched by pod UID, DeviceIDs per NUMA node)', async () => {
    const p = new Pod();
    fs.mkdirSync(path.dirname(p.checkpoint), { recursive: true });
    fs.writeFileSync(p.checkpoint, JSON.stringify({
      Data: {
        PodDeviceEntries: [
          { PodUID: 'uid-of-another-pod', ContainerName: 'app', ResourceName: RES_A, DeviceIDs: { 0: ['0000:03:02.1'] }, AllocResp: 'e30=' },
          { PodUID: p.uid, ContainerName: 'app', ResourceName: RES_A, DeviceIDs: { 1: ['0000:03:02.6'], 0: ['0000:03:02.4'] }, AllocResp: 'e30=' },
          { PodUID: p.uid, ContainerName: 'side', ResourceName: 'example.com/gpu', DeviceIDs: { 0: ['gpu-1'] }, AllocResp: 'e30=' },
        ],
        RegisteredDevices: { [RES_A]: ['0000:03:02.1', '0000:03:02.4', '0000:03:02.6'] },
      },
      Checksum: 1234567890,
    }));
    p.nad('sriov-a', { type: 'sriov' }, RES_A);
    p.nad('sriov-b', { type: 'sriov' }, RES_A);
    ok(await p.run('ADD', p.conf('sriov-a, sriov-b')));
    expect(of(p.log, 'sriov', 'ADD').map((c) => c.config.deviceID)).toEqual(['0000:03:02.4', '0000:03:02.6']);
    ok(await p.run('DEL', p.conf('sriov-a, sriov-b')));
    p.assertClean();
  });

  it('checkpoint without K8S_POD_UID: the pod\'s UID comes from the Kubernetes API object', async () => {
    const p = new Pod();
    p.kubeconfig = api.kubeconfig(p.sb.dir);
    api.addPod({ metadata: { namespace: NS, name: p.name, uid: p.uid, annotations: { [NETWORKS]: 'sriov-a' } } });
    api.addNad(NS, 'sriov-a', { cniVersion: '1.0.0', type: 'sriov' }, { [RESOURCE_NAME]: RES_A });
    p.writeCheckpoint([
      { PodUID: 'uid-of-another-pod', ResourceName: RES_A, DeviceIDs: { 0: ['0000:03:02.1'] } },
      { PodUID: p.uid, ResourceName: RES_A, DeviceIDs: { 0: ['0000:03:02.4'] } },
    ]);
    ok(await p.run('ADD', p.conf(), p.argsWithoutUid));
    expect(of(p.log, 'sriov', 'ADD').map((c) => c.config.deviceID)).toEqual(['0000:03:02.4']);
    ok(await p.run('DEL', p.conf(), p.argsWithoutUid));
    p.assertClean();
  });

  it('checkpoint without K8S_POD_UID, static pod: matched by its config hash, not by the mirror pod\'s UID', async () => {
    const p = new Pod();
    p.kubeconfig = api.kubeconfig(p.sb.dir);
    const hash = `hash-${p.sb.id}`;
    api.addPod({
      metadata: {
        namespace: NS, name: p.name, uid: p.uid,
        annotations: { [NETWORKS]: 'sriov-a', 'kubernetes.io/config.source': 'file', 'kubernetes.io/config.hash': hash, 'kubernetes.io/config.mirror': hash },
      },
    });
    api.addNad(NS, 'sriov-a', { cniVersion: '1.0.0', type: 'sriov' }, { [RESOURCE_NAME]: RES_A });
    p.writeCheckpoint([
      { PodUID: p.uid, ResourceName: RES_A, DeviceIDs: { 0: ['0000:03:02.1'] } },
      { PodUID: hash, ResourceName: RES_A, DeviceIDs: { 0: ['0000:03:02.5'] } },
    ]);
    ok(await p.run('ADD', p.conf(), p.argsWithoutUid));
    expect(of(p.log, 'sriov', 'ADD').map((c) => c.config.deviceID)).toEqual(['0000:03:02.5']);
    ok(await p.run('DEL', p.conf(), p.argsWithoutUid));
    p.assertClean();
  });

  it('checkpoint without K8S_POD_UID and no pod UID from the API fails with code 7 naming K8S_POD_UID, before any plugin runs', async () => {
    const p = new Pod();
    p.nad('sriov-a', { type: 'sriov' }, RES_A);
    p.writeCheckpoint([{ PodUID: p.uid, ResourceName: RES_A, DeviceIDs: { 0: ['0000:03:02.4'] } }]);
    const msg = failed(await p.run('ADD', p.conf('sriov-a'), p.argsWithoutUid), 7);
    expect(msg).toBe(`kubelet checkpoint ${p.checkpoint} matches pods by UID, but CNI_ARGS has no K8S_POD_UID and braid learnt no UID from the Kubernetes API for pod ${NS}/${p.name}`);
    expect(fakeCalls(p.log)).toEqual([]);
    p.assertClean();
  });

  it('with neither the socket nor the checkpoint, ADD fails naming both, before any plugin runs', async () => {
    const p = new Pod();
    p.nad('sriov-a', { type: 'sriov' }, RES_A);
    const msg = failed(await p.run('ADD', p.conf('sriov-a')), 11);
    expect(msg).toContain(p.kubeletSocket);
    expect(msg).toContain(p.checkpoint);
    expect(msg).toContain('both missing');
    expect(fakeCalls(p.log)).toEqual([]);
    p.assertClean();
  });

  it('a selection element\'s deviceID is used only when no device came from a resource', async () => {
    const p = new Pod();
    const k = await kubelet([p.kubeletPod({ [RES_A]: ['0000:03:02.2'] })]);
    p.kubeletSocket = k.socket;
    p.nad('plain', { type: 'fake', capabilities: { deviceID: true } });
    p.nad('sriov-a', { type: 'sriov', capabilities: { deviceID: true } }, RES_A);
    const networks = JSON.stringify([
      { name: 'plain', deviceID: '0000:05:00.1' },
      { name: 'sriov-a', deviceID: '0000:05:00.2' },
    ]);
    ok(await p.run('ADD', p.conf(networks)));
    const plain = fakeCalls(p.log).find((c) => c.command === 'ADD' && c.config.name === 'plain')!;
    expect(plain.config.runtimeConfig).toEqual({ deviceID: '0000:05:00.1' });
    expect(plain.config.deviceID).toBeUndefined();
    expect(plain.config.pciBusID).toBeUndefined();
    const [sriov] = of(p.log, 'sriov', 'ADD');
    expect(sriov.config.runtimeConfig).toEqual({ deviceID: '0000:03:02.2' });
    expect(sriov.config.deviceID).toBe('0000:03:02.2');
    ok(await p.run('DEL', p.conf(networks)));
    p.assertClean();
  });

  it('a pod whose networks name no resourceName never touches the kubelet', async () => {
    const p = new Pod();
    const k = await kubelet([p.kubeletPod({ [RES_A]: ['0000:03:02.2'] })]);
    p.kubeletSocket = k.socket;
    p.nad('plain', { type: 'fake', capabilities: { deviceID: true } });
    ok(await p.run('ADD', p.conf('plain')));
    ok(await p.run('DEL', p.conf('plain')));
    expect(k.calls).toEqual([]);
    expect(fakeCalls(p.log).map((c) => `${c.command} ${c.config.name}`)).toEqual(['ADD podnet', 'ADD plain', 'DEL plain', 'DEL podnet']);
    expect(filesUnder(p.deviceInfoDir)).toEqual([]);
    p.assertClean();
  });
});

describe('host-device', () => {
  it('the real host-device plugin moves a veth end into the pod by name and gives it back on DEL', async () => {
    const p = new Pod();
    const [dev] = p.sb.veth('h');
    p.nad('hostdev', { type: 'host-device', device: dev });
    const added = await p.run('ADD', p.conf('hostdev'));
    ok(added);
    expect(linksIn(p.ns)).toEqual(['net1']);
    expect(hostLinkExists(dev)).toBe(false);
    expect(added.json.interfaces).toContainEqual(expect.objectContaining({ name: 'net1', sandbox: p.netns }));
    ok(await p.run('CHECK', p.conf('hostdev')));
    ok(await p.run('DEL', p.conf('hostdev')));
    expect(hostLinkExists(dev)).toBe(true);
    p.assertClean();
  });

  it('a moved link without an Ethernet address (a tun) gets no "mac" in network-status, and the kernel\'s mtu', async () => {
    const p = new Pod();
    p.kubeconfig = api.kubeconfig(p.sb.dir);
    const tun = p.sb.linkName('t');
    ip('tuntap', 'add', 'dev', tun, 'mode', 'tun');
    ip('link', 'set', tun, 'mtu', '1400');
    api.addPod({ metadata: { namespace: NS, name: p.name, uid: p.uid, annotations: { [NETWORKS]: 'hostdev-tun' } } });
    api.addNad(NS, 'hostdev-tun', { cniVersion: '1.0.0', type: 'host-device', device: tun });
    const added = await p.run('ADD', p.conf());
    ok(added);
    expect(linksIn(p.ns)).toEqual(['net1']);
    // host-device reports neither mac nor mtu for it: both come from the netns, where a tun has no MAC.
    expect(added.json.interfaces.find((i: any) => i.name === 'net1')).not.toHaveProperty('mac');
    const status = JSON.parse(api.pod(NS, p.name)!.metadata.annotations![NETWORK_STATUS]);
    expect(status[1]).toEqual({ name: `${NS}/hostdev-tun`, interface: 'net1', mtu: 1400, dns: {} });
    ok(await p.run('DEL', p.conf()));
    expect(hostLinkExists(tun)).toBe(true);
    p.assertClean();
  });

  it('host-device with a resourceName receives the VF as pciBusID; a PCI device it cannot find fails cleanly, leaving nothing', async () => {
    const p = new Pod();
    const k = await kubelet([p.kubeletPod({ [RES_A]: ['0000:03:02.3'] })]);
    p.kubeletSocket = k.socket;
    p.nad('hostdev-vf', { type: 'host-device' }, RES_A);
    const r = await p.run('ADD', p.conf('hostdev-vf'));
    // One CNI error object, naming the attachment and the PCI address host-device looked up: it got pciBusID.
    expect(r.status, r.stdout).not.toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.json).toEqual({
      cniVersion: '1.0.0',
      code: 999,
      msg: `error adding container to network "${NS}/hostdev-vf" (net1): plugin host-device: error with host device: lstat /sys/bus/pci/devices/0000:03:02.3: no such file or directory`,
    });
    // Rolled back: the cluster network was DELed; nothing is in the pod, no device-info is left.
    expect(fakeCalls(p.log).map((c) => `${c.command} ${c.config.name}`)).toEqual(['ADD podnet', 'DEL podnet']);
    expect(linksIn(p.ns)).toEqual([]);
    expect(filesUnder(path.join(p.deviceInfoDir, 'cni'))).toEqual([]);
    // host-device (v1.1.1) cannot even DEL a config whose PCI device does not exist: its loadConf probes
    // sysfs. So the rollback's DEL of it failed, and the cache keeps exactly that attachment for the
    // runtime's DEL, which fails the same way, is not repeated for the cluster network, and (without
    // retryDeleteOnError) drops the cache; the runtime's retry then finds nothing to do.
    expect(p.cache().attachments.map((a: any) => [a.network, a.state])).toEqual([['podnet', 'deleted'], [`${NS}/hostdev-vf`, 'planned']]);
    const del = await p.run('DEL', p.conf('hostdev-vf'));
    expect(del.json?.code, del.stdout).toBe(999);
    expect(del.json.msg).toContain(`error deleting from network "${NS}/hostdev-vf" (net1): plugin host-device: error with host device: lstat /sys/bus/pci/devices/0000:03:02.3`);
    expect(fakeCalls(p.log).map((c) => `${c.command} ${c.config.name}`)).toEqual(['ADD podnet', 'DEL podnet']);
    ok(await p.run('DEL', p.conf('hostdev-vf')));
    p.assertClean();
  });
});

describe('device-info', () => {
  it('is staged from the device plugin before ADD, reported in network-status with the driver, also for a VF without a netdev, and removed on DEL', async () => {
    const p = new Pod();
    const [vf] = p.sb.veth('v');
    p.kubeconfig = api.kubeconfig(p.sb.dir);
    const netdevVF = '0000:03:02.3';
    const dpdkVF = '0000:03:02.4';
    p.pciDevice(netdevVF, 'iavf');
    p.pciDevice(dpdkVF, 'vfio-pci');
    const k = await kubelet([p.kubeletPod({ [RES_A]: [netdevVF], [RES_DPDK]: [dpdkVF] })]);
    p.kubeletSocket = k.socket;
    api.addPod({ metadata: { namespace: NS, name: p.name, uid: p.uid, annotations: { [NETWORKS]: 'sriov-net, dpdk-net' } } });
    api.addNad(NS, 'sriov-net', { cniVersion: '1.0.0', type: 'sriov', capabilities: { CNIDeviceInfoFile: true }, hostVeth: vf, ip: '10.250.181.10/24' }, { [RESOURCE_NAME]: RES_A });
    // The DPDK VF's plugin writes no device-info: what the device plugin wrote is what the pod sees.
    api.addNad(NS, 'dpdk-net', { cniVersion: '1.0.0', type: 'sriov', capabilities: { CNIDeviceInfoFile: true }, deviceInfo: false }, { [RESOURCE_NAME]: RES_DPDK });
    // What the SR-IOV device plugin writes: <deviceInfoDir>/dp/<resource, "/" as "-">-<id>-device.json.
    const dpDoc = (id: string) => ({ type: 'pci', version: '1.1.0', pci: { 'pci-address': id, 'pf-pci-address': '0000:03:00.0' } });
    const dpFile = (res: string, id: string) => path.join(p.deviceInfoDir, 'dp', `${res.replace('/', '-')}-${id}-device.json`);
    fs.mkdirSync(path.join(p.deviceInfoDir, 'dp'), { recursive: true });
    fs.writeFileSync(dpFile(RES_A, netdevVF), JSON.stringify(dpDoc(netdevVF)));
    fs.writeFileSync(dpFile(RES_DPDK, dpdkVF), JSON.stringify(dpDoc(dpdkVF)));

    const added = await p.run('ADD', p.conf());
    ok(added);
    const adds = of(p.log, 'sriov', 'ADD');
    expect(adds.map((c) => c.config.name)).toEqual(['sriov-net', 'dpdk-net']);
    // Copied to the CNI path before the plugin ran.
    expect(adds.map((c) => c.config.runtimeConfig.CNIDeviceInfoFile)).toEqual([p.cniDeviceInfo('sriov-net', 'net1'), p.cniDeviceInfo('dpdk-net', 'net2')]);
    expect(adds.map((c) => JSON.parse(c.deviceInfoBefore!))).toEqual([dpDoc(netdevVF), dpDoc(dpdkVF)]);
    // The DPDK VF has no netdev: no interface in the pod or the result for it.
    expect(linksIn(p.ns)).toEqual(['net1']);
    expect(added.json.interfaces.map((i: any) => i.name)).toEqual(['eth0', 'net1']);

    const status = JSON.parse(api.pod(NS, p.name)!.metadata.annotations![NETWORK_STATUS]);
    expect(status.map((s: any) => [s.name, s.interface])).toEqual([['podnet', 'eth0'], [`${NS}/sriov-net`, 'net1'], [`${NS}/dpdk-net`, 'net2']]);
    // The plugin's own device-info (it rewrote the staged file), plus the driver sysfs shows.
    expect(status[1]['device-info']).toEqual({ type: 'pci', version: '1.1.0', pci: { 'pci-address': netdevVF, driver: 'iavf' } });
    expect(status[1].ips).toEqual(['10.250.181.10']);
    expect(status[1].mac).toBe(added.json.interfaces[1].mac);
    // The VF without a netdev still has its entry, with the device plugin's device-info and vfio-pci.
    expect(status[2]['device-info']).toEqual({ ...dpDoc(dpdkVF), pci: { ...dpDoc(dpdkVF).pci, driver: 'vfio-pci' } });
    expect(status[2].mac).toBeUndefined();
    expect(status[0]['device-info']).toBeUndefined();
    expect(p.cache().attachments.map((a: any) => a.deviceInfo)).toEqual([undefined, status[1]['device-info'], status[2]['device-info']]);

    ok(await p.run('DEL', p.conf()));
    expect(fs.existsSync(p.cniDeviceInfo('sriov-net', 'net1'))).toBe(false);
    expect(fs.existsSync(p.cniDeviceInfo('dpdk-net', 'net2'))).toBe(false);
    // The device plugin's files are the device plugin's: left alone.
    expect(fs.existsSync(dpFile(RES_A, netdevVF))).toBe(true);
    expect(fs.existsSync(dpFile(RES_DPDK, dpdkVF))).toBe(true);
    expect(hostLinkExists(vf)).toBe(true);
    p.assertClean();
  });

  it('without any device-info file, network-status reports the device as a pci entry with its driver', async () => {
    const p = new Pod();
    p.kubeconfig = api.kubeconfig(p.sb.dir);
    p.pciDevice('0000:03:02.5', 'vfio-pci');
    const k = await kubelet([p.kubeletPod({ [RES_DPDK]: ['0000:03:02.5'] })]);
    p.kubeletSocket = k.socket;
    api.addPod({ metadata: { namespace: NS, name: p.name, uid: p.uid, annotations: { [NETWORKS]: 'dpdk-net' } } });
    api.addNad(NS, 'dpdk-net', { cniVersion: '1.0.0', type: 'sriov', deviceInfo: false }, { [RESOURCE_NAME]: RES_DPDK });
    ok(await p.run('ADD', p.conf()));
    const status = JSON.parse(api.pod(NS, p.name)!.metadata.annotations![NETWORK_STATUS]);
    expect(status[1]).toMatchObject({
      name: `${NS}/dpdk-net`,
      interface: 'net1',
      'device-info': { type: 'pci', version: '1.1.0', pci: { 'pci-address': '0000:03:02.5', driver: 'vfio-pci' } },
    });
    ok(await p.run('DEL', p.conf()));
    p.assertClean();
  });
});

