import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BRAID } from '../helpers/braid';
import { Containerd, nodeBinDir } from '../helpers/containerd';
import { buildPauseImage, criClient, kubeletSandboxConfig, PAUSE_IMAGE, podInterfaces, runPodForTest, sandboxPid, type CriClient } from '../helpers/cri';
import { hostLinkExists, hostLocalLeases, Sandbox } from '../helpers/host';

// kubelet's path to braid: the tests drive containerd's CRI plugin over its gRPC socket with
// RunPodSandbox / PodSandboxStatus / StopPodSandbox / RemovePodSandbox as kubelet does. containerd
// execs braid (clusterless, nadDir) from its CNI bin_dir with K8S_POD_* CNI_ARGS and the pod's
// annotations through the io.kubernetes.cri.pod-annotations capability.
// Address range of this file: 10.250.220.0/24 … 10.250.222.0/24.

const POD_NS = 'team-a';
const SUBNETS = { pod: '10.250.220.0/24', macvlan: '10.250.221.0/24', ptp: '10.250.222.0/24' };

let sb: Sandbox;
let ctrd: Containerd;
let cri: CriClient;
let cniBin: string;
let nadDir: string;

beforeAll(async () => {
  sb = new Sandbox();
  const [parent] = sb.veth('m');
  cniBin = nodeBinDir(path.join(sb.dir, 'bin'), BRAID);
  nadDir = path.join(sb.dir, 'nads');
  // NADs in the pod's namespace: found only if containerd passes K8S_POD_NAMESPACE.
  sb.write('nads/macvlan-a.json', {
    apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'macvlan-a', namespace: POD_NS },
    spec: { config: JSON.stringify({ cniVersion: '1.0.0', type: 'macvlan', master: parent, mode: 'bridge', ipam: { type: 'host-local', subnet: SUBNETS.macvlan, dataDir: sb.ipamDir } }) },
  });
  sb.write('nads/ptp-b.json', {
    apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'ptp-b', namespace: POD_NS },
    spec: { config: JSON.stringify({ cniVersion: '1.0.0', type: 'ptp', ipam: { type: 'host-local', subnet: SUBNETS.ptp, dataDir: sb.ipamDir } }) },
  });
  sb.write('net.d/00-braid.conflist', {
    cniVersion: '1.0.0',
    name: 'braid-net',
    plugins: [{
      type: 'braid',
      capabilities: { 'io.kubernetes.cri.pod-annotations': true },
      delegates: [{
        cniVersion: '1.0.0', name: 'podnet', type: 'bridge', bridge: sb.linkName('br'), isGateway: true,
        ipam: { type: 'host-local', subnet: SUBNETS.pod, dataDir: sb.ipamDir },
      }],
      nadDir,
      cniDir: sb.cniDir,
    }],
  });
  ctrd = await Containerd.start({ cniBinDir: cniBin, cniConfDir: sb.confDir, sandboxImage: PAUSE_IMAGE });
  ctrd.ctr(['images', 'import', buildPauseImage(sb.dir)], 'k8s.io');
  cri = criClient(ctrd.socket);
}, 120_000);

afterAll(async () => {
  cri?.close();
  await ctrd?.stop();
  sb?.cleanup();
}, 60_000);

/** A pod named `name` in POD_NS whose networks annotation is `networks`, as kubelet would configure it. */
function pod(name: string, networks?: string) {
  return kubeletSandboxConfig({
    name,
    namespace: POD_NS,
    uid: `uid-${name}`,
    annotations: networks ? { 'k8s.v1.cni.cncf.io/networks': networks } : {},
    logDirectory: path.join(sb.dir, 'logs', name),
    cgroupParent: ctrd.cgroupParent,
  });
}

/** Files containerd's libcni keeps in its result cache (containerd sees ctrd.varLib as /var/lib). */
function libcniResults(): string[] {
  const dir = path.join(ctrd.varLib, 'cni/results');
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

describe('kubelet\'s path through containerd\'s CRI plugin', () => {
  it('containerd reports the runtime and network ready with braid as its CNI config', async () => {
    const version = await cri.version();
    expect(version.runtimeName).toBe('containerd');
    expect(version.runtimeApiVersion).toBe('v1');
    const { status } = await cri.status();
    const network = status.conditions.find((c) => c.type === 'NetworkReady');
    expect(network?.status, network?.message).toBe(true);
  });

  it('RunPodSandbox attaches eth0 and the annotation\'s NADs; PodSandboxStatus reports eth0\'s IP; stop and remove leave nothing', async () => {
    const id = await runPodForTest(cri, pod('web-0', 'macvlan-a@data, ptp-b'));
    const running = await cri.podSandboxStatus(id);
    expect(running.status.state).toBe('SANDBOX_READY');
    expect(running.status.annotations['k8s.v1.cni.cncf.io/networks']).toBe('macvlan-a@data, ptp-b');
    const pid = sandboxPid(running);

    const ifaces = podInterfaces(pid);
    expect(Object.keys(ifaces).sort()).toEqual(['data', 'eth0', 'net2']);
    expect(ifaces.eth0).toEqual([expect.stringMatching(/^10\.250\.220\.\d+\/24$/)]);
    expect(ifaces.data).toEqual([expect.stringMatching(/^10\.250\.221\.\d+\/24$/)]);
    expect(ifaces.net2).toEqual([expect.stringMatching(/^10\.250\.222\.\d+\/24$/)]);
    // The pod IP kubelet gets is the cluster network's (eth0), not a NAD's.
    expect(running.status.network?.ip).toBe(ifaces.eth0[0].split('/')[0]);

    expect(hostLocalLeases(sb.ipamDir).sort()).toEqual([
      `macvlan-a/${ifaces.data[0].split('/')[0]}`,
      `podnet/${ifaces.eth0[0].split('/')[0]}`,
      `ptp-b/${ifaces.net2[0].split('/')[0]}`,
    ]);
    expect(sb.cacheFiles()).toEqual([id]);
    expect(libcniResults()).toContain(`braid-net-${id}-eth0`);
    const cache = sb.readCache(id);
    expect(cache.netns).toMatch(new RegExp(`^${ctrd.dir}/state/`));
    // What containerd gave braid: kubelet's pod identity as CNI_ARGS, the node's bin dir as CNI_PATH.
    expect(Object.fromEntries(cache.args.split(';').map((kv: string) => kv.split('=')))).toMatchObject({
      IgnoreUnknown: '1', K8S_POD_NAMESPACE: POD_NS, K8S_POD_NAME: 'web-0', K8S_POD_INFRA_CONTAINER_ID: id, K8S_POD_UID: 'uid-web-0',
    });
    expect(cache.path).toEqual(['/opt/cni/bin']);
    const hostSide = cache.attachments.flatMap((a: any) => (a.result?.interfaces ?? []) as Array<{ name: string; sandbox?: string }>)
      .filter((i: { name: string; sandbox?: string }) => !i.sandbox && i.name.startsWith('veth')).map((i: { name: string }) => i.name);
    expect(hostSide).toHaveLength(2); // the bridge's and ptp's host ends
    for (const name of hostSide) expect(hostLinkExists(name)).toBe(true);

    await cri.stopPodSandbox(id);
    expect((await cri.podSandboxStatus(id)).status.state).toBe('SANDBOX_NOTREADY');
    expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
    for (const name of hostSide) expect(hostLinkExists(name)).toBe(false);
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
    expect(sb.cacheFiles()).toEqual([]);
    expect(libcniResults()).toEqual([]);

    await cri.stopPodSandbox(id); // kubelet may stop more than once
    await cri.removePodSandbox(id);
    await expect(cri.podSandboxStatus(id)).rejects.toMatchObject({ code: 5 }); // NOT_FOUND
    expect(fs.existsSync(cache.netns)).toBe(false);
  });

  it('a pod without the networks annotation gets the cluster network only', async () => {
    const id = await runPodForTest(cri, pod('plain-0'));
    const running = await cri.podSandboxStatus(id);
    const ifaces = podInterfaces(sandboxPid(running));
    expect(Object.keys(ifaces)).toEqual(['eth0']);
    expect(running.status.network?.ip).toBe(ifaces.eth0[0].split('/')[0]);
    await cri.stopPodSandbox(id);
    await cri.removePodSandbox(id);
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
    expect(sb.cacheFiles()).toEqual([]);
  });

  it('RunPodSandbox fails with braid\'s error for a NAD nadDir lacks, and nothing is left attached', async () => {
    await expect(cri.runPodSandbox(pod('bad-0', 'macvlan-a, missing-c')))
      .rejects.toThrow(`NetworkAttachmentDefinition ${POD_NS}/missing-c not found`);
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
    expect(sb.cacheFiles()).toEqual([]);
    expect(libcniResults()).toEqual([]);
  });

  // Last: it kills a runtime under a running pod, which leaves that pod's host-local lease behind.
  it('stopping the test containerd under a running pod ends its processes and leaves no cgroup, netns or state dir', async () => {
    const other = await Containerd.start({ cniBinDir: cniBin, cniConfDir: sb.confDir, sandboxImage: PAUSE_IMAGE });
    const otherCri = criClient(other.socket);
    try {
      other.ctr(['images', 'import', path.join(sb.dir, 'pause.tar')], 'k8s.io');
      const id = await otherCri.runPodSandbox(kubeletSandboxConfig({
        name: 'orphan-0', namespace: POD_NS, uid: 'uid-orphan-0', annotations: {}, logDirectory: path.join(sb.dir, 'logs', 'orphan-0'), cgroupParent: other.cgroupParent,
      }));
      const pid = sandboxPid(await otherCri.podSandboxStatus(id));
      const hostVeth = sb.readCache(id).attachments[0].result.interfaces.find((i: any) => !i.sandbox && i.name.startsWith('veth')).name as string;
      const cgroups = fs.readdirSync('/sys/fs/cgroup').map((h) => path.join('/sys/fs/cgroup', h, other.id)).filter((d) => fs.existsSync(d));
      expect(cgroups.length).toBeGreaterThan(0);
      otherCri.close();
      await other.stop();
      expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
      expect(cgroups.filter((d) => fs.existsSync(d))).toEqual([]);
      expect(fs.existsSync(other.dir)).toBe(false);
      // The pod netns dies with its last process and bind mount, and its veth pair with it (the
      // kernel frees a netns asynchronously: allow it a moment).
      for (const deadline = Date.now() + 10_000; hostLinkExists(hostVeth) && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 50));
      expect(hostLinkExists(hostVeth)).toBe(false);
    } finally {
      otherCri.close();
      await other.stop();
    }
  });
});
