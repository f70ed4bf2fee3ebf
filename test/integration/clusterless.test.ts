import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BRAID, parseJson, REFERENCE_PLUGINS, runBraid, type BraidOutcome } from '../helpers/braid';
import { failed } from '../helpers/cni';
import { addressesIn, hostLinkExists, hostLocalLeases, ip, linksIn, sandbox, type Sandbox } from '../helpers/host';

// Clusterless mode end to end, driven the way a runtime drives braid: through libcni. The driver
// (test/tools/cnitool, built by test/tools/build-cnitool.sh against Debian's libcni) behaves like
// `cnitool add|check|del <net> <netns>`. braid is the conflist's only plugin; it declares the
// io.kubernetes.cri.pod-annotations capability, gets the pod's annotations from CAP_ARGS, and
// attaches the NADs the networks annotation names from the manifests in `nadDir`.
// Address range of this file: 10.250.150.0/24 … 10.250.159.0/24.

const ROOT = path.resolve(__dirname, '../..');
const CNITOOL = path.join(ROOT, 'dist/cnitool');
const NET = 'braid-net';
const POD_ARGS = 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0';

beforeAll(() => {
  execFileSync('bash', [path.join(ROOT, 'test/tools/build-cnitool.sh')], { stdio: 'inherit', timeout: 300_000 });
}, 300_000);

/** A node: braid on CNI_PATH, a conflist in NETCONFPATH with braid as its only plugin, NAD manifests in nadDir. */
interface Node {
  sb: Sandbox;
  netns: string;
  netconfPath: string;
  cniPath: string;
  libcniCache: string;
  nadDir: string;
  bridge: string;
}

function node(subnets: { pod: string; macvlan: string; ptp: string }): Node {
  const sb = sandbox();
  const [parent] = sb.veth('m');
  const bridge = sb.linkName('br');
  // A plugin dir holding braid, as /opt/cni/bin would.
  const bin = path.join(sb.dir, 'bin');
  fs.mkdirSync(bin);
  fs.symlinkSync(BRAID, path.join(bin, 'braid'));
  const nadDir = path.join(sb.dir, 'nads');
  fs.mkdirSync(nadDir);
  fs.writeFileSync(path.join(nadDir, 'macvlan-a.yaml'), `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: macvlan-a
spec:
  config: |
    {
      "cniVersion": "1.0.0",
      "type": "macvlan",
      "master": "${parent}",
      "mode": "bridge",
      "ipam": {"type": "host-local", "subnet": "${subnets.macvlan}", "dataDir": "${sb.ipamDir}"}
    }
`);
  // The same macvlan, with plugins that declare the mac and ips capabilities (NAD spec §4.1.2 requests).
  fs.writeFileSync(path.join(nadDir, 'macvlan-caps.json'), JSON.stringify({
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name: 'macvlan-caps' },
    spec: {
      config: JSON.stringify({
        cniVersion: '1.0.0',
        type: 'macvlan',
        master: parent,
        mode: 'bridge',
        capabilities: { mac: true, ips: true },
        ipam: { type: 'host-local', subnet: subnets.macvlan, dataDir: sb.ipamDir },
      }),
    },
  }));
  fs.writeFileSync(path.join(nadDir, 'ptp-b.yaml'), `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: ptp-b
  namespace: default
spec:
  config: '{"cniVersion": "1.0.0", "type": "ptp", "ipam": {"type": "host-local", "subnet": "${subnets.ptp}", "dataDir": "${sb.ipamDir}"}}'
`);
  sb.write('net.d/10-braid.conflist', {
    cniVersion: '1.0.0',
    name: NET,
    plugins: [{
      type: 'braid',
      capabilities: { 'io.kubernetes.cri.pod-annotations': true },
      delegates: [{
        cniVersion: '1.0.0',
        name: 'podnet',
        type: 'bridge',
        bridge,
        isGateway: true,
        ipam: { type: 'host-local', subnet: subnets.pod, dataDir: sb.ipamDir },
      }],
      nadDir,
      cniDir: sb.cniDir,
      binDir: REFERENCE_PLUGINS,
      resultMode: 'merged', // cnitool prints every attachment (the K8S_POD_* default is the cluster network's only)
    }],
  });
  return {
    sb,
    netns: sb.netns(),
    netconfPath: sb.confDir,
    cniPath: `${bin}:${REFERENCE_PLUGINS}`,
    libcniCache: path.join(sb.dir, 'libcni'),
    nadDir,
    bridge,
  };
}

/** Sets keys of braid's config in the node's conflist. */
function setBraidKeys(n: Node, keys: Record<string, unknown>): void {
  const file = path.join(n.netconfPath, '10-braid.conflist');
  const conflist = JSON.parse(fs.readFileSync(file, 'utf8'));
  Object.assign(conflist.plugins[0], keys);
  fs.writeFileSync(file, JSON.stringify(conflist));
}

/**
 * `cnitool <action> braid-net <netns>` with the operator's environment (and nothing else of ours);
 * `networks` becomes the pod's k8s.v1.cni.cncf.io/networks annotation in CAP_ARGS.
 */
function cnitool(n: Node, action: 'add' | 'check' | 'del', networks?: unknown, cniArgs = POD_ARGS): BraidOutcome {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    NETCONFPATH: n.netconfPath,
    CNI_PATH: n.cniPath,
    CNI_ARGS: cniArgs,
    CNI_CACHE_DIR: n.libcniCache,
    ...(networks !== undefined
      ? { CAP_ARGS: JSON.stringify({ 'io.kubernetes.cri.pod-annotations': { 'k8s.v1.cni.cncf.io/networks': networks } }) }
      : {}),
  };
  const r = spawnSync(CNITOOL, [action, NET, n.netns], { env, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json: parseJson(r.stdout) };
}

/** Files libcni keeps in its result cache. */
function libcniResults(n: Node): string[] {
  const dir = path.join(n.libcniCache, 'results');
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

const ANNOTATION = 'macvlan-a@data, ptp-b';

describe('clusterless mode through libcni (cnitool)', () => {
  it('add attaches eth0 plus the annotation\'s NADs as data and net2; check passes; del removes everything', () => {
    const n = node({ pod: '10.250.150.0/24', macvlan: '10.250.151.0/24', ptp: '10.250.152.0/24' });
    const ns = path.basename(n.netns);

    const added = cnitool(n, 'add', ANNOTATION);
    expect(added.stderr).toBe('');
    expect(added.status).toBe(0);
    // The merged result: the cluster network first, then the NADs in annotation order.
    expect(added.json.cniVersion).toBe('1.0.0');
    const sandboxIfaces = added.json.interfaces.filter((i: any) => i.sandbox === n.netns).map((i: any) => i.name);
    expect(sandboxIfaces).toEqual(['eth0', 'data', 'net2']);
    const ipsByIface = Object.fromEntries(sandboxIfaces.map((name: string) => [
      name,
      added.json.ips.filter((ip: any) => added.json.interfaces[ip.interface].name === name).map((ip: any) => ip.address),
    ]));
    expect(ipsByIface.eth0).toEqual([expect.stringMatching(/^10\.250\.150\.\d+\/24$/)]);
    expect(ipsByIface.data).toEqual([expect.stringMatching(/^10\.250\.151\.\d+\/24$/)]);
    expect(ipsByIface.net2).toEqual([expect.stringMatching(/^10\.250\.152\.\d+\/24$/)]);

    // What the netns really has.
    expect(linksIn(ns).sort()).toEqual(['data', 'eth0', 'net2']);
    expect(addressesIn(ns, 'eth0')).toEqual(ipsByIface.eth0);
    expect(addressesIn(ns, 'data')).toEqual(ipsByIface.data);
    expect(addressesIn(ns, 'net2')).toEqual(ipsByIface.net2);
    expect(hostLocalLeases(n.sb.ipamDir).sort()).toEqual([
      `macvlan-a/${ipsByIface.data[0].split('/')[0]}`,
      `podnet/${ipsByIface.eth0[0].split('/')[0]}`,
      `ptp-b/${ipsByIface.net2[0].split('/')[0]}`,
    ]);
    expect(n.sb.cacheFiles()).toHaveLength(1);
    expect(libcniResults(n)).toHaveLength(1);
    const hostSide = added.json.interfaces.filter((i: any) => !i.sandbox && i.name !== n.bridge).map((i: any) => i.name);
    expect(hostSide).toHaveLength(2); // bridge's and ptp's host veths
    for (const name of hostSide) expect(hostLinkExists(name)).toBe(true);

    const checked = cnitool(n, 'check', ANNOTATION);
    expect(checked.stderr).toBe('');
    expect(checked.status).toBe(0);
    expect(checked.stdout).toBe('');

    const deleted = cnitool(n, 'del', ANNOTATION);
    expect(deleted.stderr).toBe('');
    expect(deleted.status).toBe(0);
    expect(linksIn(ns)).toEqual([]);
    expect(hostLocalLeases(n.sb.ipamDir)).toEqual([]);
    expect(n.sb.cacheFiles()).toEqual([]);
    expect(libcniResults(n)).toEqual([]);
    for (const name of hostSide) expect(hostLinkExists(name)).toBe(false);
  });

  it('del works from braid\'s cache even when the runtime passes no annotations on DEL', () => {
    const n = node({ pod: '10.250.153.0/24', macvlan: '10.250.154.0/24', ptp: '10.250.155.0/24' });
    expect(cnitool(n, 'add', ANNOTATION).status).toBe(0);
    expect(linksIn(path.basename(n.netns)).sort()).toEqual(['data', 'eth0', 'net2']);
    const deleted = cnitool(n, 'del');
    expect(deleted.stderr).toBe('');
    expect(deleted.status).toBe(0);
    expect(linksIn(path.basename(n.netns))).toEqual([]);
    expect(hostLocalLeases(n.sb.ipamDir)).toEqual([]);
    expect(n.sb.cacheFiles()).toEqual([]);
  });

  it('without the networks annotation attaches the cluster network only', () => {
    const n = node({ pod: '10.250.156.0/24', macvlan: '10.250.157.0/24', ptp: '10.250.158.0/24' });
    const added = cnitool(n, 'add');
    expect(added.stderr).toBe('');
    expect(added.status).toBe(0);
    expect(linksIn(path.basename(n.netns))).toEqual(['eth0']);
    expect(cnitool(n, 'del').status).toBe(0);
    expect(linksIn(path.basename(n.netns))).toEqual([]);
    expect(hostLocalLeases(n.sb.ipamDir)).toEqual([]);
  });

  it('the JSON form\'s mac and ips requests reach the plugins of a NAD that declares those capabilities', () => {
    const n = node({ pod: '10.250.156.0/24', macvlan: '10.250.157.0/24', ptp: '10.250.158.0/24' });
    const ns = path.basename(n.netns);
    const networks = JSON.stringify([{ name: 'macvlan-caps', interface: 'data', mac: '02:00:0a:fa:9d:4d', ips: ['10.250.157.77/24'] }]);
    const added = cnitool(n, 'add', networks);
    expect(added.stderr).toBe('');
    expect(added.status).toBe(0);
    expect(linksIn(ns).sort()).toEqual(['data', 'eth0']);
    expect(addressesIn(ns, 'data')).toEqual(['10.250.157.77/24']);
    const [link] = JSON.parse(ip('-n', ns, '-j', 'link', 'show', 'dev', 'data')) as Array<{ address: string }>;
    expect(link.address).toBe('02:00:0a:fa:9d:4d');
    expect(cnitool(n, 'check', networks).status).toBe(0);
    expect(cnitool(n, 'del', networks).status).toBe(0);
    expect(linksIn(ns)).toEqual([]);
    expect(hostLocalLeases(n.sb.ipamDir)).toEqual([]);
  });

  it('an ips request the NAD\'s plugins do not declare reaches host-local as CNI_ARGS IP=, with a warning naming the NAD and the key', () => {
    const n = node({ pod: '10.250.156.0/24', macvlan: '10.250.157.0/24', ptp: '10.250.158.0/24' });
    const ns = path.basename(n.netns);
    setBraidKeys(n, { logLevel: 'warning' });
    const networks = JSON.stringify([{ name: 'macvlan-a', ips: ['10.250.157.78/24'] }]);
    const added = cnitool(n, 'add', networks);
    expect(added.status, added.stderr).toBe(0);
    expect(added.stderr).toMatch(/"default\/macvlan-a".*"ips".*CNI_ARGS IP=/);
    expect(addressesIn(ns, 'net1')).toEqual(['10.250.157.78/24']);
    expect(cnitool(n, 'del', networks).status).toBe(0);
    expect(linksIn(ns)).toEqual([]);
    expect(hostLocalLeases(n.sb.ipamDir)).toEqual([]);
  });

  it('with strictCapabilities, a request the NAD\'s plugins do not declare fails the add naming the key and the NAD, with nothing attached', () => {
    const n = node({ pod: '10.250.156.0/24', macvlan: '10.250.157.0/24', ptp: '10.250.158.0/24' });
    setBraidKeys(n, { strictCapabilities: true });
    const added = cnitool(n, 'add', JSON.stringify([{ name: 'macvlan-a', ips: ['10.250.157.78/24'] }]));
    expect(added.status).not.toBe(0);
    expect(added.stderr).toContain('"default/macvlan-a"');
    expect(added.stderr).toContain('"ips"');
    expect(linksIn(path.basename(n.netns))).toEqual([]);
    expect(hostLocalLeases(n.sb.ipamDir)).toEqual([]);
    expect(n.sb.cacheFiles()).toEqual([]);
  });

  it('a networks annotation in CAP_ARGS that is not a string fails the add naming it, with nothing attached', () => {
    const n = node({ pod: '10.250.156.0/24', macvlan: '10.250.157.0/24', ptp: '10.250.158.0/24' });
    const added = cnitool(n, 'add', [{ name: 'macvlan-a' }]);
    expect(added.status).not.toBe(0);
    expect(added.stderr).toContain('k8s.v1.cni.cncf.io/networks must be a string');
    expect(linksIn(path.basename(n.netns))).toEqual([]);
    expect(hostLocalLeases(n.sb.ipamDir)).toEqual([]);
  });

  it('an annotation in CAP_ARGS while CNI_ARGS names no pod fails the add with code 7, with nothing attached', () => {
    const n = node({ pod: '10.250.156.0/24', macvlan: '10.250.157.0/24', ptp: '10.250.158.0/24' });
    const added = cnitool(n, 'add', ANNOTATION, 'IgnoreUnknown=1');
    expect(added.status).not.toBe(0);
    expect(added.stdout).toBe('');
    expect(added.stderr).toContain('the pod must be named in CNI_ARGS (K8S_POD_NAMESPACE, K8S_POD_NAME)');
    // cnitool does not print the code: the same ADD, exec'd directly with the config libcni would send.
    const conflist = JSON.parse(fs.readFileSync(path.join(n.netconfPath, '10-braid.conflist'), 'utf8'));
    const direct = runBraid({
      command: 'ADD', containerID: 'no-pod', netns: n.netns, ifname: 'eth0', args: 'IgnoreUnknown=1', path: n.cniPath,
      config: { cniVersion: conflist.cniVersion, name: conflist.name, ...conflist.plugins[0], runtimeConfig: { 'io.kubernetes.cri.pod-annotations': { 'k8s.v1.cni.cncf.io/networks': ANNOTATION } } },
    });
    expect(failed(direct, 7)).toContain('k8s.v1.cni.cncf.io/networks');
    expect(linksIn(path.basename(n.netns))).toEqual([]);
    expect(hostLocalLeases(n.sb.ipamDir)).toEqual([]);
    expect(n.sb.cacheFiles()).toEqual([]);
    // The runtime's DEL after the failed ADD succeeds.
    const deleted = cnitool(n, 'del', ANNOTATION, 'IgnoreUnknown=1');
    expect(deleted.stderr).toBe('');
    expect(deleted.status).toBe(0);
  });

  it('a NAD missing from nadDir fails the add naming it, with nothing attached and nothing cached', () => {
    const n = node({ pod: '10.250.159.0/24', macvlan: '10.250.159.0/24', ptp: '10.250.159.0/24' });
    const added = cnitool(n, 'add', 'macvlan-a@data, missing-c');
    expect(added.status).not.toBe(0);
    expect(added.stdout).toBe('');
    expect(added.stderr).toContain('NetworkAttachmentDefinition default/missing-c not found');
    expect(linksIn(path.basename(n.netns))).toEqual([]);
    expect(hostLocalLeases(n.sb.ipamDir)).toEqual([]);
    expect(n.sb.cacheFiles()).toEqual([]);
    expect(libcniResults(n)).toEqual([]);
    // The runtime's DEL after a failed ADD succeeds: braid attached nothing.
    const deleted = cnitool(n, 'del', 'macvlan-a@data, missing-c');
    expect(deleted.stderr).toBe('');
    expect(deleted.status).toBe(0);
  });
});
