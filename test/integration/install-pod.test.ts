import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseJson, REFERENCE_PLUGINS } from '../helpers/braid';
import { addressesIn, hostLocalLeases, linksIn, nsName, sandbox } from '../helpers/host';
import { eventually, fakeHost, readJson, startInstaller } from '../helpers/installer';

// The config `braid install` generates works as the runtime uses it: libcni (the cnitool driver, as
// containerd's go-cni would) loads 00-braid.conflist from the conf dir and execs the braid the
// installer copied into the bin dir, which attaches the master network as eth0 plus a NAD (clusterless,
// nadDir from the options file) in a real netns, and DEL removes all of it.
// Address range of this file: 10.250.236.0/24 … 10.250.237.0/24.

const ROOT = path.resolve(__dirname, '../..');
const CNITOOL = path.join(ROOT, 'dist/cnitool');

beforeAll(() => {
  execFileSync('bash', [path.join(ROOT, 'test/tools/build-cnitool.sh')], { stdio: 'inherit', timeout: 300_000 });
}, 300_000);

describe('braid install: the generated config serves a pod', () => {
  it('libcni loads 00-braid.conflist and the installed braid attaches eth0 from the master plus a NAD, then DEL removes them', async () => {
    const sb = sandbox();
    const h = fakeHost(sb);
    const [parent] = sb.veth('m');
    const bridge = sb.linkName('br');
    write(path.join(h.confDir, '10-podnet.conflist'), {
      cniVersion: '1.0.0',
      name: 'podnet',
      plugins: [
        { type: 'bridge', bridge, isGateway: true, ipam: { type: 'host-local', subnet: '10.250.236.0/24', dataDir: sb.ipamDir } },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    });
    const nadDir = path.join(sb.dir, 'nads');
    fs.mkdirSync(nadDir);
    write(path.join(nadDir, 'data.json'), {
      apiVersion: 'k8s.cni.cncf.io/v1',
      kind: 'NetworkAttachmentDefinition',
      metadata: { name: 'data', namespace: 'default' },
      spec: { config: JSON.stringify({ cniVersion: '1.0.0', type: 'macvlan', master: parent, mode: 'bridge', ipam: { type: 'host-local', subnet: '10.250.237.0/24', dataDir: sb.ipamDir } }) },
    });
    const options = path.join(sb.dir, 'options.yaml');
    write(options, `cniDir: ${sb.cniDir}\nnadDir: ${nadDir}\n`);

    // The test's paths are real host paths, so the host root is / (the DaemonSet's is /host).
    const inst = startInstaller(h, ['--host-root', '/', '--options-file', options]);
    await eventually('readiness', () => fs.existsSync(h.readiness), inst);
    const conf = readJson(path.join(h.confDir, '00-braid.conflist'));
    expect(conf.plugins[0].clusterNetwork).toBe(path.join(h.confDir, '10-podnet.conflist'));
    expect(conf.plugins[0].capabilities).toEqual({ portMappings: true, 'io.kubernetes.cri.pod-annotations': true });

    const netns = sb.netns();
    const cnitool = (action: 'add' | 'del') => {
      const r = spawnSync(CNITOOL, [action, conf.name, netns], {
        encoding: 'utf8',
        timeout: 120_000,
        env: {
          PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
          NETCONFPATH: h.confDir,
          CNI_PATH: `${h.binDir}:${REFERENCE_PLUGINS}`,
          CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0',
          CNI_CACHE_DIR: path.join(sb.dir, 'libcni'),
          CAP_ARGS: JSON.stringify({ 'io.kubernetes.cri.pod-annotations': { 'k8s.v1.cni.cncf.io/networks': 'data' } }),
        },
      });
      return { status: r.status, stderr: r.stderr, json: parseJson(r.stdout) };
    };

    const added = cnitool('add');
    expect(added.stderr).toBe('');
    expect(added.status).toBe(0);
    const ns = nsName(netns);
    expect(linksIn(ns).sort()).toEqual(['eth0', 'net1']);
    expect(addressesIn(ns, 'eth0')).toEqual([expect.stringMatching(/^10\.250\.236\.\d+\/24$/)]);
    expect(addressesIn(ns, 'net1')).toEqual([expect.stringMatching(/^10\.250\.237\.\d+\/24$/)]);
    // Under Kubernetes (K8S_POD_* in CNI_ARGS) the runtime gets the cluster network's result: the pod IP is eth0's.
    expect(added.json.ips.map((ip: any) => ip.address)).toEqual(addressesIn(ns, 'eth0'));
    expect(sb.cacheFiles()).toHaveLength(1);

    const deleted = cnitool('del');
    expect(deleted.stderr).toBe('');
    expect(deleted.status).toBe(0);
    expect(linksIn(ns)).toEqual([]);
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
    expect(sb.cacheFiles()).toEqual([]);
    await inst.stop();
  });
});

function write(file: string, doc: unknown): void {
  fs.writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
}
