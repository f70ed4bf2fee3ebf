import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BRAID } from '../helpers/braid';
import { Containerd, nodeBinDir } from '../helpers/containerd';
import { daemonSetContainer, type CtrContainer } from '../helpers/daemonset';
import { buildPauseImage, criClient, kubeletSandboxConfig, PAUSE_IMAGE, podInterfaces, runPodForTest, sandboxPid, type CriClient } from '../helpers/cri';
import { hostLocalLeases, Sandbox } from '../helpers/host';

// The image on a node: dist/braid-image.tar imported into a private containerd and its install
// container run with `ctr run` as packaging/kubernetes/30-daemonset.yaml says (mounts, args, read-only
// root, capabilities), the node's CNI dirs being the test's (containerd sees them at /opt/cni/bin and
// /etc/cni/net.d), beside a calico-style master conflist. The braid it installs serves CRI pods.
// Address range of this file: 10.250.223.0/24 … 10.250.225.0/24.

const ROOT = path.resolve(__dirname, '../..');
const VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version as string;
const IMAGE = `localhost/braid:${VERSION}`;
const SUBNETS = { pod: '10.250.223.0/24', macvlan: '10.250.224.0/24', podAfterChange: '10.250.225.0/24' };

const MANIFESTS = path.join(ROOT, 'packaging/kubernetes');
/** The image's entrypoint (image.test.ts checks the image config says so). */
const ENTRYPOINT = ['/braid', 'install'];

let sb: Sandbox;
let install: CtrContainer;
/** The braid-options ConfigMap's options.yaml, as packaging/kubernetes ships it. */
let shippedOptions: Record<string, unknown>;
let ctrd: Containerd;
let cri: CriClient;
let nodeBin: string;
let installerLog: string;

/** A calico-style master: a named conflist of the pod network's plugin plus a capability plugin. */
function writeMaster(cniVersion: string, subnet: string, bridge: string): void {
  sb.write('net.d/10-calico.conflist', {
    name: 'k8s-pod-network',
    cniVersion,
    plugins: [
      { type: 'bridge', bridge, isGateway: true, ipam: { type: 'host-local', subnet, dataDir: sb.ipamDir } },
      { type: 'bandwidth', capabilities: { bandwidth: true } },
    ],
  });
}

/** Waits until `check` returns a value (not undefined), up to 60 s; the failure shows the installer's log. */
async function waitFor<T>(what: string, check: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; installer log:\n${fs.existsSync(installerLog) ? fs.readFileSync(installerLog, 'utf8') : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The generated config, once it exists and parses (the installer writes it atomically). */
function generated(): any {
  const file = path.join(sb.confDir, '00-braid.conflist');
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
}

beforeAll(async () => {
  sb = new Sandbox();
  const [parent] = sb.veth('m');
  nodeBin = nodeBinDir(path.join(sb.dir, 'node-bin')); // braid comes from the installer
  writeMaster('0.3.1', SUBNETS.pod, sb.linkName('br'));
  sb.write('nads/macvlan-a.yaml', `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: macvlan-a
spec:
  config: '{"cniVersion": "1.0.0", "type": "macvlan", "master": "${parent}", "mode": "bridge", "ipam": {"type": "host-local", "subnet": "${SUBNETS.macvlan}", "dataDir": "${sb.ipamDir}"}}'
`);
  // The shipped braid-options ConfigMap, plus this node's nadDir (a host path).
  const configMap = yaml.loadAll(fs.readFileSync(path.join(MANIFESTS, '25-options.yaml'), 'utf8')).find((d: any) => d?.kind === 'ConfigMap') as any;
  shippedOptions = (yaml.load(configMap.data['options.yaml']) ?? {}) as Record<string, unknown>;
  sb.write('configmaps/braid-options/options.yaml', yaml.dump({ ...shippedOptions, nadDir: path.join(sb.dir, 'nads') }));
  const imageTar = path.join(sb.dir, 'braid-image.tar');
  execFileSync(process.execPath, [path.join(ROOT, 'packaging/image.mjs'), `--bin=${BRAID}`, `--out=${imageTar}`], { stdio: 'pipe', timeout: 120_000 });

  ctrd = await Containerd.start({ cniBinDir: nodeBin, cniConfDir: sb.confDir, sandboxImage: PAUSE_IMAGE });
  ctrd.ctr(['images', 'import', imageTar]);
  ctrd.ctr(['images', 'import', buildPauseImage(sb.dir)], 'k8s.io');
  cri = criClient(ctrd.socket);
  installerLog = path.join(sb.dir, 'installer.log');
  install = daemonSetContainer(path.join(MANIFESTS, '30-daemonset.yaml'), 'install', {
    entrypoint: ENTRYPOINT,
    hostPath: (p) => {
      fs.mkdirSync(ctrd.nodePath(p), { recursive: true }); // DirectoryOrCreate
      return p;
    },
    configMap: (name) => path.join(sb.dir, 'configmaps', name),
  });
  ctrd.ctr(['run', '-d', '--fifo-dir', ctrd.fifoDir, '--log-uri', `file://${installerLog}`, ...install.flags, IMAGE, 'installer', ...install.argv]);
}, 180_000);

afterAll(async () => {
  cri?.close();
  await ctrd?.stop();
  sb?.cleanup();
}, 60_000);

/** Files in braid's cache dir: the DaemonSet's /var/lib/cni/multus, braid's default cniDir. */
function cacheFiles(): string[] {
  const dir = ctrd.nodePath('/var/lib/cni/multus');
  return fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name) : [];
}

/** A pod in `default` with `networks`, run through CRI until the test ends. */
function runPod(name: string, networks: string): Promise<string> {
  return runPodForTest(cri, kubeletSandboxConfig({
    name, namespace: 'default', uid: `uid-${name}`, annotations: { 'k8s.v1.cni.cncf.io/networks': networks },
    logDirectory: path.join(sb.dir, 'logs', name), cgroupParent: ctrd.cgroupParent,
  }));
}

describe('the braid image under containerd', () => {
  it('the installer copies braid into the host bin dir and writes 00-braid.conflist from the calico-style master, with host paths', async () => {
    expect(install.image).toBe(IMAGE); // the DaemonSet runs the image npm run image names
    const conf = await waitFor('00-braid.conflist', generated);
    expect(fs.readFileSync(path.join(nodeBin, 'braid')).equals(fs.readFileSync(BRAID))).toBe(true);
    expect(fs.statSync(path.join(nodeBin, 'braid')).mode & 0o111).toBe(0o111);
    expect(conf.cniVersion).toBe('0.3.1');
    expect(conf.plugins).toHaveLength(1);
    const braid = conf.plugins[0];
    expect(braid.type).toBe('braid');
    // the master by its host path, not the container's /host/... view
    expect(braid.clusterNetwork).toBe('/etc/cni/net.d/10-calico.conflist');
    expect(braid.capabilities).toEqual({ bandwidth: true, 'io.kubernetes.cri.pod-annotations': true });
    expect(braid).not.toHaveProperty('kubeconfig'); // clusterless: no service account in this container
    expect(braid).toMatchObject({ ...shippedOptions, nadDir: path.join(sb.dir, 'nads') }); // the ConfigMap's keys
    // the DaemonSet's readiness probe, exec'd inside the image (it has no shell)
    expect(install.readinessCommand).toBeDefined();
    ctrd.ctr(['task', 'exec', '--fifo-dir', ctrd.fifoDir, '--exec-id', 'probe', 'installer', ...install.readinessCommand!]);
  });

  it('the installed braid serves a pod created through CRI RunPodSandbox: eth0 from the master, the NAD from nadDir', async () => {
    await waitFor('00-braid.conflist', generated);
    const id = await runPod('web-0', 'macvlan-a@data');
    const status = await cri.podSandboxStatus(id);
    const ifaces = podInterfaces(sandboxPid(status));
    expect(Object.keys(ifaces).sort()).toEqual(['data', 'eth0']);
    expect(ifaces.eth0).toEqual([expect.stringMatching(/^10\.250\.223\.\d+\/24$/)]);
    expect(ifaces.data).toEqual([expect.stringMatching(/^10\.250\.224\.\d+\/24$/)]);
    expect(status.status.network?.ip).toBe(ifaces.eth0[0].split('/')[0]);
    expect(cacheFiles()).toEqual([id]);
    await cri.stopPodSandbox(id);
    await cri.removePodSandbox(id);
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
    expect(cacheFiles()).toEqual([]);
  });

  it('the installer regenerates 00-braid.conflist when the master changes, and new pods get the new cluster network', async () => {
    await waitFor('00-braid.conflist', generated);
    writeMaster('1.0.0', SUBNETS.podAfterChange, sb.linkName('b2'));
    await waitFor('the regenerated config', () => (generated()?.cniVersion === '1.0.0' ? true : undefined));
    const id = await runPod('web-1', 'macvlan-a');
    const ifaces = podInterfaces(sandboxPid(await cri.podSandboxStatus(id)));
    expect(Object.keys(ifaces).sort()).toEqual(['eth0', 'net1']);
    expect(ifaces.eth0).toEqual([expect.stringMatching(/^10\.250\.225\.\d+\/24$/)]);
  });

  it('on SIGTERM the installer removes its config (--cleanup-config-on-exit) and leaves the binary for running pods\' DEL', async () => {
    await waitFor('00-braid.conflist', generated);
    ctrd.ctr(['task', 'kill', '--signal', 'SIGTERM', 'installer']);
    await waitFor('the installer to exit', () => (/STOPPED/.test(ctrd.ctr(['task', 'ls'])) ? true : undefined));
    expect(fs.existsSync(path.join(sb.confDir, '00-braid.conflist'))).toBe(false);
    expect(fs.existsSync(path.join(sb.confDir, '10-calico.conflist'))).toBe(true);
    expect(fs.existsSync(path.join(nodeBin, 'braid'))).toBe(true);
    expect(fs.readFileSync(installerLog, 'utf8')).toMatch(/SIGTERM/);
  });
});
