import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REFERENCE_PLUGINS } from '../helpers/braid';
import { fakeCalls, ok } from '../helpers/cni';
import { hostLocalLeases, linksIn } from '../helpers/host';
import { NETWORKS } from '../helpers/k8s';
import { ClusterlessNode, sysctlIn } from '../helpers/node';

// Multus's auxiliaryCNIChainName: the .conf files in <dir of clusterNetwork>/<name>/ run as the last
// step of every pod, here with the real tuning plugin setting sysctls in a real netns (as Multus's e2e
// subdirectory-chaining-passthru test does) and the recording `fake` plugin showing what the chain is
// given. No passthru binary is installed: braid hands the chain its empty prevResult itself.
// Address range of this file: 10.250.235.0/24 … 10.250.237.0/24.

const CHAIN = 'vendor-cni-chain';

/** A node whose clusterNetwork is a conflist file, with a macvlan NAD and the chain's confs in <confdir>/vendor-cni-chain/. */
function node(chain: Record<string, Record<string, unknown>>): { n: ClusterlessNode; config: Record<string, unknown>; log: string; chainDir: string } {
  const n = new ClusterlessNode();
  const [master] = n.sb.veth('m');
  const confDir = path.join(n.sb.dir, 'host-net.d');
  const chainDir = path.join(confDir, CHAIN);
  fs.mkdirSync(chainDir, { recursive: true });
  const clusterFile = path.join(confDir, '10-podnet.conflist');
  fs.writeFileSync(clusterFile, JSON.stringify({
    cniVersion: '1.0.0', name: 'podnet',
    plugins: [{ type: 'bridge', bridge: n.sb.linkName('br'), isGateway: true, ipam: { type: 'host-local', subnet: '10.250.235.0/24', dataDir: n.sb.ipamDir } }],
    loadOnlyInlinedPlugins: true,
  }));
  for (const [file, conf] of Object.entries(chain)) fs.writeFileSync(path.join(chainDir, file), JSON.stringify({ cniVersion: '1.0.0', ...conf }));
  n.manifest('macvlan.json', JSON.stringify({
    apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'macvlan-a' },
    spec: { config: JSON.stringify({ cniVersion: '1.0.0', type: 'macvlan', master, mode: 'bridge', ipam: { type: 'host-local', subnet: '10.250.236.0/24', dataDir: n.sb.ipamDir } }) },
  }));
  const config = n.conf({ clusterNetwork: clusterFile, auxiliaryCNIChainName: CHAIN, binDir: REFERENCE_PLUGINS });
  return { n, config, log: path.join(n.sb.dir, 'fake.log'), chainDir };
}

const SYSCTLS = { name: 'sysctltwiddle', type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.arp_filter': '1', 'net.ipv4.conf.net1.arp_ignore': '2' } };

describe('auxiliaryCNIChainName', () => {
  it('runs the chain after every network with tuning sysctls applied in the pod, named after the last interface, and DELs it from the cache', () => {
    expect(fs.existsSync(path.join(REFERENCE_PLUGINS, 'passthru'))).toBe(false);
    const { n, config, log, chainDir } = node({ '10-sysctl.conf': SYSCTLS, '20-record.conf': { name: 'record', type: 'fake' } });
    const pod = n.pod();
    const env = { FAKE_LOG: log };
    ok(n.run('ADD', pod, config, { [NETWORKS]: 'macvlan-a' }, env));

    expect(linksIn(pod.ns).sort()).toEqual(['eth0', 'net1']); // the chain creates no interface
    expect(sysctlIn(pod.ns, 'net.ipv4.conf.eth0.arp_filter')).toBe('1');
    expect(sysctlIn(pod.ns, 'net.ipv4.conf.net1.arp_ignore')).toBe('2');
    const [add] = fakeCalls(log);
    expect(add.command).toBe('ADD');
    expect(add.env.CNI_IFNAME).toBe('net2');
    expect(add.config.name).toBe(CHAIN);
    // tuning printed the empty passthru result it was chained onto (Go drops the empty lists).
    expect(add.config.prevResult).toEqual({ cniVersion: '1.0.0', dns: {} });
    const cached = n.sb.readCache(pod.containerID).attachments;
    expect(cached.map((a: { network: string; ifname: string; auxiliary?: boolean }) => [a.network, a.ifname, a.auxiliary ?? false]))
      .toEqual([['podnet', 'eth0', false], ['default/macvlan-a', 'net1', false], [CHAIN, 'net2', true]]);

    ok(n.run('CHECK', pod, config, {}, env));
    fs.rmSync(chainDir, { recursive: true }); // DEL needs nothing but the cache
    ok(n.run('DEL', pod, config, {}, env));
    // CHECK skips the chain (tuning's CHECK wants a link named CNI_IFNAME); DEL runs it from the cache.
    expect(fakeCalls(log).map((c) => [c.command, c.env.CNI_IFNAME])).toEqual([['ADD', 'net2'], ['DEL', 'net2']]);
    expect(linksIn(pod.ns)).toEqual([]);
    expect(hostLocalLeases(n.sb.ipamDir)).toEqual([]);
    expect(n.sb.cacheFiles()).toEqual([]);
  });

  it('takes the first free netN when the pod already asked for that name', () => {
    const { n, config, log } = node({ '20-record.conf': { name: 'record', type: 'fake' } });
    const pod = n.pod();
    ok(n.run('ADD', pod, config, { [NETWORKS]: 'macvlan-a@net1' }, { FAKE_LOG: log }));
    expect(fakeCalls(log).map((c) => c.env.CNI_IFNAME)).toEqual(['net2']);
    const other = n.pod();
    ok(n.run('ADD', other, config, { [NETWORKS]: 'macvlan-a@net2' }, { FAKE_LOG: log }));
    expect(fakeCalls(log).map((c) => c.env.CNI_IFNAME)).toEqual(['net2', 'net3']);
    for (const p of [pod, other]) ok(n.run('DEL', p, config, {}, { FAKE_LOG: log }));
    expect(hostLocalLeases(n.sb.ipamDir)).toEqual([]);
  });

  it('runs no chain when its directory holds no .conf, and a failing chain rolls the whole pod back', () => {
    const empty = node({});
    const pod = empty.n.pod();
    ok(empty.n.run('ADD', pod, empty.config));
    expect(empty.n.sb.readCache(pod.containerID).attachments.map((a: { network: string }) => a.network)).toEqual(['podnet']);
    ok(empty.n.run('DEL', pod, empty.config));

    const failing = node({ '10-sysctl.conf': SYSCTLS, '20-fail.conf': { name: 'record', type: 'fake', fail: ['ADD'] } });
    const doomed = failing.n.pod();
    const r = failing.n.run('ADD', doomed, failing.config, { [NETWORKS]: 'macvlan-a' }, { FAKE_LOG: failing.log });
    expect(r.status).not.toBe(0);
    expect(r.json.msg).toContain(`network "${CHAIN}" (net2)`);
    expect(linksIn(doomed.ns)).toEqual([]);
    expect(hostLocalLeases(failing.n.sb.ipamDir)).toEqual([]);
    expect(failing.n.sb.cacheFiles()).toEqual([]);
  });
});
