import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { BRAID, FIXTURE_PLUGINS, REFERENCE_PLUGINS, runBraid, runBraidAsync, type BraidCall, type BraidOutcome } from '../helpers/braid';
import { failed, fakeCalls, ok } from '../helpers/cni';
import { addressesIn, hostLinkExists, hostLocalLeases, inSubnet, ip, linksIn, nsName, sandbox, v4SubnetAllocator, type Sandbox } from '../helpers/host';

// End-to-end lifecycle of braid (ADD / CHECK / DEL / GC / STATUS) with Debian's reference plugins
// and the test fixtures, run as root against real netns, veth, bridge and macvlan links.
// Address range of this file: 10.250.40.0/24 … 10.250.99.0/24.

/** A /24 of this file's range not used by an earlier test of this run. */
const nextSubnet = v4SubnetAllocator(40, 60);

function hostLocal(sb: Sandbox, subnet: string): Record<string, unknown> {
  return { type: 'host-local', subnet, dataDir: sb.ipamDir };
}

function bridgeConf(sb: Sandbox, bridge: string, subnet: string, name = 'podnet', cniVersion = '1.0.0'): Record<string, unknown> {
  return { cniVersion, name, type: 'bridge', bridge, ipam: hostLocal(sb, subnet) };
}

function macvlanConf(sb: Sandbox, master: string, subnet: string, name = 'macnet', cniVersion = '1.0.0'): Record<string, unknown> {
  return { cniVersion, name, type: 'macvlan', master, mode: 'bridge', ipam: hostLocal(sb, subnet) };
}

function hostDeviceConf(device: string, name = 'devnet', cniVersion = '1.0.0'): Record<string, unknown> {
  return { cniVersion, name, type: 'host-device', device };
}

/** braid's own config around `delegates`, with the sandbox's dirs. */
function braidConf(sb: Sandbox, delegates: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cniVersion: '1.0.0', name: 'braid', type: 'braid', cniDir: sb.cniDir, binDir: sb.dir, delegates, ...extra };
}

function lockFiles(sb: Sandbox): string[] {
  const dir = path.join(sb.cniDir, 'locks');
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

/** runBraid, timed. */
function timed(call: BraidCall): BraidOutcome & { ms: number } {
  const start = Date.now();
  const r = runBraid(call);
  return { ...r, ms: Date.now() - start };
}

/** The host-side ends the bridge plugin created for pods (veth* enslaved to `bridge`). */
function bridgePorts(bridge: string): string[] {
  if (!hostLinkExists(bridge)) return [];
  return (JSON.parse(ip('-j', 'link', 'show', 'master', bridge)) as Array<{ ifname: string }>).map((l) => l.ifname);
}

/** A standard three-network world: bridge (eth0), macvlan on a veth (net1), host-device moving a veth end (net2). */
function threeNetworks(sb: Sandbox) {
  const bridge = sb.linkName('br');
  const [macParent] = sb.veth('m');
  const [, hostDev] = sb.veth('h');
  const podSubnet = nextSubnet();
  const macSubnet = nextSubnet();
  const delegates = [bridgeConf(sb, bridge, podSubnet), macvlanConf(sb, macParent, macSubnet), hostDeviceConf(hostDev)];
  return { bridge, macParent, hostDev, podSubnet, macSubnet, delegates };
}

describe('ADD / CHECK / DEL of several networks', () => {
  it('attaches bridge as eth0, macvlan as net1 and host-device as net2, returns one merged result, checks and deletes them all', () => {
    const sb = sandbox();
    const w = threeNetworks(sb);
    const netns = sb.netns();
    const call = { containerID: `c3net-${sb.id}`, netns, ifname: 'eth0', config: braidConf(sb, w.delegates) };

    const add = runBraid({ ...call, command: 'ADD' });
    ok(add);
    const res = add.json;
    expect(res.cniVersion).toBe('1.0.0');
    const sandboxIfaces = (res.interfaces as Array<{ name: string; sandbox?: string }>).filter((i) => i.sandbox);
    expect(sandboxIfaces.map((i) => i.name)).toEqual(['eth0', 'net1', 'net2']);
    for (const i of sandboxIfaces) expect(i.sandbox).toBe(netns);
    // Every IP points at the right interface of the merged list.
    const byIface = new Map<string, string[]>();
    for (const a of res.ips as Array<{ interface: number; address: string }>) {
      const name = res.interfaces[a.interface].name as string;
      byIface.set(name, [...(byIface.get(name) ?? []), a.address]);
    }
    expect([...byIface.keys()].sort()).toEqual(['eth0', 'net1']);
    const eth0Addr = byIface.get('eth0')![0];
    const net1Addr = byIface.get('net1')![0];
    expect(inSubnet(eth0Addr, w.podSubnet)).toBe(true);
    expect(inSubnet(net1Addr, w.macSubnet)).toBe(true);
    expect(res.ips.every((a: Record<string, unknown>) => !('version' in a))).toBe(true);

    // The netns really holds them.
    const ns = nsName(netns);
    expect(linksIn(ns).sort()).toEqual(['eth0', 'net1', 'net2']);
    expect(addressesIn(ns, 'eth0')).toEqual([eth0Addr]);
    expect(addressesIn(ns, 'net1')).toEqual([net1Addr]);
    expect(hostLinkExists(w.hostDev)).toBe(false); // moved into the pod
    expect(hostLocalLeases(sb.ipamDir)).toHaveLength(2);
    expect(sb.cacheFiles()).toEqual([call.containerID]);

    ok(runBraid({ ...call, command: 'CHECK' }));

    const del = runBraid({ ...call, command: 'DEL' });
    ok(del);
    expect(del.stdout).toBe('');
    expect(linksIn(ns)).toEqual([]);
    expect(hostLinkExists(w.hostDev)).toBe(true); // host-device gave the veth end back
    expect(bridgePorts(w.bridge)).toEqual([]);
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
    expect(sb.cacheFiles()).toEqual([]);
    expect(lockFiles(sb)).toEqual([]);
  });

  it('returns only the cluster network result with resultMode "clusterNetwork" while still attaching every network', () => {
    const sb = sandbox();
    const w = threeNetworks(sb);
    const netns = sb.netns();
    const call = { containerID: `cmode-${sb.id}`, netns, ifname: 'eth0', config: braidConf(sb, w.delegates, { resultMode: 'clusterNetwork' }) };
    const add = runBraid({ ...call, command: 'ADD' });
    ok(add);
    const names = (add.json.interfaces as Array<{ name: string; sandbox?: string }>).filter((i) => i.sandbox).map((i) => i.name);
    expect(names).toEqual(['eth0']);
    expect(add.json.ips).toHaveLength(1);
    expect(add.json.interfaces[add.json.ips[0].interface].name).toBe('eth0');
    expect(inSubnet(add.json.ips[0].address, w.podSubnet)).toBe(true);
    expect(JSON.stringify(add.json)).not.toContain('net1');
    expect(linksIn(nsName(netns)).sort()).toEqual(['eth0', 'net1', 'net2']);
    ok(runBraid({ ...call, command: 'DEL' }));
    expect(linksIn(nsName(netns))).toEqual([]);
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
  });

  for (const version of ['0.3.1', '0.4.0', '1.0.0', '1.1.0']) {
    it(`converts the merged ADD result of 0.3.1 and 1.0.0 delegates to the caller's cniVersion ${version}`, () => {
      const sb = sandbox();
      const bridge = sb.linkName('br');
      const [macParent] = sb.veth('m');
      const podSubnet = nextSubnet();
      const macSubnet = nextSubnet();
      const delegates = [bridgeConf(sb, bridge, podSubnet, 'oldnet', '0.3.1'), macvlanConf(sb, macParent, macSubnet, 'newnet', '1.0.0')];
      const netns = sb.netns();
      const call = { containerID: `cver-${sb.id}`, netns, ifname: 'eth0', config: braidConf(sb, delegates, { cniVersion: version }) };
      const add = runBraid({ ...call, command: 'ADD' });
      ok(add);
      expect(add.json.cniVersion).toBe(version);
      const ips = add.json.ips as Array<Record<string, unknown>>;
      expect(ips).toHaveLength(2);
      const wantsVersionField = version.startsWith('0.');
      for (const a of ips) expect('version' in a).toBe(wantsVersionField);
      if (wantsVersionField) expect(ips.map((a) => a.version)).toEqual(['4', '4']);
      const byName = Object.fromEntries(ips.map((a) => [add.json.interfaces[a.interface as number].name, a.address]));
      expect(inSubnet(byName.eth0 as string, podSubnet)).toBe(true);
      expect(inSubnet(byName.net1 as string, macSubnet)).toBe(true);
      expect(addressesIn(nsName(netns), 'eth0')).toEqual([byName.eth0]);
      expect(addressesIn(nsName(netns), 'net1')).toEqual([byName.net1]);
      ok(runBraid({ ...call, command: 'DEL' }));
      expect(linksIn(nsName(netns))).toEqual([]);
      expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
      expect(sb.cacheFiles()).toEqual([]);
    });
  }

  it('keeps a private cache (0600 file, 0700 dir) holding each attachment\'s exact config, ifname and result', () => {
    const sb = sandbox();
    const w = threeNetworks(sb);
    const netns = sb.netns();
    const call = { containerID: `ccache-${sb.id}`, netns, ifname: 'eth0', config: braidConf(sb, w.delegates) };
    const add = runBraid({ ...call, command: 'ADD' });
    ok(add);
    const file = path.join(sb.cniDir, call.containerID);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(sb.cniDir).mode & 0o777).toBe(0o700);
    const cache = sb.readCache(call.containerID);
    expect(cache.containerID).toBe(call.containerID);
    expect(cache.netns).toBe(netns);
    expect(cache.ifname).toBe('eth0');
    expect(cache.attachments.map((a: any) => a.ifname)).toEqual(['eth0', 'net1', 'net2']);
    expect(cache.attachments.map((a: any) => a.network)).toEqual(['podnet', 'macnet', 'devnet']);
    cache.attachments.forEach((a: any, i: number) => {
      expect(a.state).toBe('added');
      const d = w.delegates[i];
      expect(a.config).toEqual({ name: d.name, cniVersion: d.cniVersion, plugins: [d] });
      expect(a.result.cniVersion).toBe('1.0.0');
    });
    // The cached results are the delegates' own: their interfaces and addresses match the pod.
    const ns = nsName(netns);
    const [eth0, net1, net2] = cache.attachments.map((a: any) => a.result);
    const sandboxName = (r: any) => r.interfaces.filter((i: any) => i.sandbox).map((i: any) => i.name);
    expect(sandboxName(eth0)).toEqual(['eth0']);
    expect(sandboxName(net1)).toEqual(['net1']);
    expect(sandboxName(net2)).toEqual(['net2']);
    expect(eth0.ips.map((a: any) => a.address)).toEqual(addressesIn(ns, 'eth0'));
    expect(net1.ips.map((a: any) => a.address)).toEqual(addressesIn(ns, 'net1'));
    expect(eth0.interfaces[eth0.ips[0].interface].name).toBe('eth0'); // the delegate's own index, not the merged one
    expect(net1.interfaces[net1.ips[0].interface].name).toBe('net1');
    ok(runBraid({ ...call, command: 'DEL' }));
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe('a config without cniVersion', () => {
  it('is read as 0.1.0, as libcni does: ADD answers in the 0.1.0 format and DEL works', () => {
    const sb = sandbox();
    const bridge = sb.linkName('br');
    const netns = sb.netns();
    const subnet = nextSubnet();
    const config = { ...braidConf(sb, [bridgeConf(sb, bridge, subnet)]), cniVersion: undefined };
    const call = { containerID: `cnover-${sb.id}`, netns, ifname: 'eth0', config };
    const add = runBraid({ ...call, command: 'ADD' });
    ok(add);
    expect(add.json.cniVersion).toBe('0.1.0');
    expect(inSubnet(add.json.ip4.ip, subnet)).toBe(true);
    expect(add.json.interfaces).toBeUndefined();
    ok(runBraid({ ...call, command: 'DEL' }));
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
    expect(sb.cacheFiles()).toEqual([]);
  });
});

describe('rollback of a failed ADD', () => {
  it('DELs the failed attachment and every earlier one in reverse, returns the delegate\'s code naming the network, and a later DEL does nothing', () => {
    const sb = sandbox();
    const log = path.join(sb.dir, 'fake.log');
    const bridge = sb.linkName('br');
    const [macParent] = sb.veth('m');
    // The reference plugins are chained with a recording fake so the DEL order is visible in FAKE_LOG.
    const tag = (name: string, extra: Record<string, unknown> = {}) => ({ type: 'fake', tag: name, ...extra });
    const podnet = { cniVersion: '1.0.0', name: 'podnet', plugins: [bridgeConf(sb, bridge, nextSubnet()), tag('podnet')] };
    const macnet = { cniVersion: '1.0.0', name: 'macnet', plugins: [macvlanConf(sb, macParent, nextSubnet()), tag('macnet')] };
    const failing = { cniVersion: '1.0.0', name: 'failing-net', type: 'fake', tag: 'failing-net', fail: ['ADD'], failCode: 117 };
    const netns = sb.netns();
    const call = {
      containerID: `crb-${sb.id}`, netns, ifname: 'eth0', env: { FAKE_LOG: log },
      config: braidConf(sb, [podnet, macnet, failing]),
    };

    const add = runBraid({ ...call, command: 'ADD' });
    const msg = failed(add, 117);
    expect(msg).toContain('failing-net');
    expect(msg).toContain('net2');
    expect(add.json.cniVersion).toBe('1.0.0');

    const calls = fakeCalls(log);
    expect(calls.map((c) => `${c.command} ${c.config.tag} ${c.env.CNI_IFNAME}`)).toEqual([
      'ADD podnet eth0',
      'ADD macnet net1',
      'ADD failing-net net2',
      'DEL failing-net net2',
      'DEL macnet net1',
      'DEL podnet eth0',
    ]);
    // The reference plugins ran their DEL too: nothing left anywhere.
    expect(linksIn(nsName(netns))).toEqual([]);
    expect(bridgePorts(bridge)).toEqual([]);
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
    expect(sb.cacheFiles()).toEqual([]);

    const before = calls.length;
    const del = runBraid({ ...call, command: 'DEL' });
    ok(del);
    expect(fakeCalls(log)).toHaveLength(before); // rollback already undid everything
    expect(sb.cacheFiles()).toEqual([]);
    expect(lockFiles(sb)).toEqual([]);
  });

  it('fails ADD with code 7 "failed to find plugin" for a missing plugin before any delegate runs', () => {
    const sb = sandbox();
    const bridge = sb.linkName('br');
    const netns = sb.netns();
    const delegates = [bridgeConf(sb, bridge, nextSubnet()), { cniVersion: '1.0.0', name: 'ghost', type: 'no-such-plugin-braid' }];
    const call = { containerID: `cmiss-${sb.id}`, netns, ifname: 'eth0', config: braidConf(sb, delegates) };
    const msg = failed(runBraid({ ...call, command: 'ADD' }), 7);
    expect(msg).toContain('failed to find plugin');
    expect(msg).toContain('ghost');
    expect(linksIn(nsName(netns))).toEqual([]);
    expect(bridgePorts(bridge)).toEqual([]);
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
    expect(sb.cacheFiles()).toEqual([]);
  });

  for (const bad of ['../bridge', 'a/b']) {
    it(`refuses plugin type ${JSON.stringify(bad)} before any delegate runs`, () => {
      const sb = sandbox();
      const log = path.join(sb.dir, 'fake.log');
      const netns = sb.netns();
      const delegates = [{ cniVersion: '1.0.0', name: 'first', type: 'fake' }, { cniVersion: '1.0.0', name: 'escape', type: bad }];
      const call = { containerID: `ctype-${sb.id}`, netns, ifname: 'eth0', env: { FAKE_LOG: log }, config: braidConf(sb, delegates) };
      const msg = failed(runBraid({ ...call, command: 'ADD' }), 7);
      expect(msg).toContain(bad);
      expect(fakeCalls(log)).toEqual([]);
      expect(linksIn(nsName(netns))).toEqual([]);
      expect(sb.cacheFiles()).toEqual([]);
    });
  }

  it('refuses a CNI_IFNAME that clashes with a secondary network\'s name before any delegate runs', () => {
    const sb = sandbox();
    const log = path.join(sb.dir, 'fake.log');
    const bridge = sb.linkName('br');
    const netns = sb.netns();
    const delegates = [
      bridgeConf(sb, bridge, nextSubnet()),
      { cniVersion: '1.0.0', name: 'second', type: 'fake' },
      { cniVersion: '1.0.0', name: 'third', type: 'fake' },
    ];
    const call = { containerID: `cclash-${sb.id}`, netns, ifname: 'net1', env: { FAKE_LOG: log }, config: braidConf(sb, delegates) };
    const msg = failed(runBraid({ ...call, command: 'ADD' }), 7);
    expect(msg).toContain('net1');
    expect(msg).toContain('already used');
    expect(fakeCalls(log)).toEqual([]);
    expect(linksIn(nsName(netns))).toEqual([]);
    expect(hostLinkExists(bridge)).toBe(false); // the bridge plugin never ran
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
    expect(sb.cacheFiles()).toEqual([]);
  });

  it('refuses a network whose interface name already exists in the pod, undoing what ran before but leaving that interface alone', () => {
    const sb = sandbox();
    const log = path.join(sb.dir, 'fake.log');
    const bridge = sb.linkName('br');
    const netns = sb.netns();
    const [, inPod] = sb.veth('x');
    ip('link', 'set', inPod, 'netns', nsName(netns), 'name', 'net1'); // e.g. a meta-plugin that called itself (Multus #1089)
    const delegates = [bridgeConf(sb, bridge, nextSubnet()), { cniVersion: '1.0.0', name: 'second', type: 'fake' }];
    const call = { containerID: `cexist-${sb.id}`, netns, ifname: 'eth0', env: { FAKE_LOG: log }, config: braidConf(sb, delegates) };
    const msg = failed(runBraid({ ...call, command: 'ADD' }), 7);
    expect(msg).toBe(`network "second": interface name net1 already exists in netns ${netns}`);
    expect(fakeCalls(log)).toEqual([]); // neither ADD nor a rollback DEL reached the network that owns net1
    expect(linksIn(nsName(netns))).toEqual(['net1']); // eth0 rolled back, the existing net1 untouched
    expect(bridgePorts(bridge)).toEqual([]);
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
    expect(sb.cacheFiles()).toEqual([]);
  });

  it('rolls back every attachment when the result cannot be expressed in the caller\'s version (0.2.0 without an IP)', () => {
    const sb = sandbox();
    const log = path.join(sb.dir, 'fake.log');
    const netns = sb.netns();
    const delegates = [{ cniVersion: '1.0.0', name: 'noip', type: 'fake' }];
    const call = { containerID: `cnoip-${sb.id}`, netns, ifname: 'eth0', env: { FAKE_LOG: log }, config: braidConf(sb, delegates, { cniVersion: '0.2.0' }) };
    const r = runBraid({ ...call, command: 'ADD' });
    expect(failed(r, 1)).toContain('no valid IP addresses');
    expect(r.json.cniVersion).toBe('0.2.0');
    expect(fakeCalls(log).map((c) => `${c.command} ${c.env.CNI_IFNAME}`)).toEqual(['ADD eth0', 'DEL eth0']);
    expect(sb.cacheFiles()).toEqual([]);
  });

  it('kills a delegate that exceeds delegateTimeout, rolls back and prints the error JSON within a few seconds', () => {
    const sb = sandbox();
    const bridge = sb.linkName('br');
    const netns = sb.netns();
    const delegates = [bridgeConf(sb, bridge, nextSubnet()), { cniVersion: '1.0.0', name: 'sleepy', type: 'slow' }];
    const call = { containerID: `cslow-${sb.id}`, netns, ifname: 'eth0', config: braidConf(sb, delegates, { delegateTimeout: 1 }) };
    const add = timed({ ...call, command: 'ADD' });
    expect(add.ms).toBeLessThan(4000);
    const msg = failed(add, 11);
    expect(msg).toContain('sleepy');
    expect(msg).toContain('timed out');
    expect(add.json.cniVersion).toBe('1.0.0');
    expect(linksIn(nsName(netns))).toEqual([]);
    expect(bridgePorts(bridge)).toEqual([]);
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
    expect(sb.cacheFiles()).toEqual([]);
    expect(lockFiles(sb)).toEqual([]);
  });
});

describe('DEL robustness', () => {
  function attached(sb: Sandbox, tag: string) {
    const bridge = sb.linkName('br');
    const [macParent] = sb.veth('m');
    const netns = sb.netns(tag);
    const delegates = [bridgeConf(sb, bridge, nextSubnet()), macvlanConf(sb, macParent, nextSubnet())];
    const call = { containerID: `c${tag}-${sb.id}`, netns, ifname: 'eth0', config: braidConf(sb, delegates, { logLevel: 'error' }) };
    ok(runBraid({ ...call, command: 'ADD' }));
    expect(linksIn(nsName(netns)).sort()).toEqual(['eth0', 'net1']);
    expect(hostLocalLeases(sb.ipamDir)).toHaveLength(2);
    return { call, netns, bridge };
  }

  it('is idempotent: a second DEL also succeeds', () => {
    const sb = sandbox();
    const { call, netns, bridge } = attached(sb, 'idem');
    const first = runBraid({ ...call, command: 'DEL' });
    ok(first);
    expect(linksIn(nsName(netns))).toEqual([]);
    expect(bridgePorts(bridge)).toEqual([]);
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
    expect(sb.cacheFiles()).toEqual([]);
    const second = runBraid({ ...call, command: 'DEL' });
    ok(second);
    expect(second.stdout).toBe('');
    expect(sb.cacheFiles()).toEqual([]);
  });

  it('releases the leases and the cache when DEL comes with an empty CNI_NETNS', () => {
    const sb = sandbox();
    const { call } = attached(sb, 'nons');
    ok(runBraid({ ...call, netns: '', command: 'DEL' }));
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
    expect(sb.cacheFiles()).toEqual([]);
    expect(lockFiles(sb)).toEqual([]);
  });

  it('releases the leases and the cache when the netns is already gone', () => {
    const sb = sandbox();
    const { call, netns, bridge } = attached(sb, 'gone');
    ip('netns', 'del', nsName(netns));
    expect(fs.existsSync(netns)).toBe(false);
    ok(runBraid({ ...call, command: 'DEL' }));
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
    expect(sb.cacheFiles()).toEqual([]);
    expect(bridgePorts(bridge)).toEqual([]); // the veth died with the netns
    ok(runBraid({ ...call, command: 'DEL' }));
  });

  for (const [kind, corrupt] of [
    ['truncated', (file: string) => fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2))],
    ['garbage', (file: string) => fs.writeFileSync(file, 'this is not a braid cache \u0000\u0001 {{{')],
  ] as const) {
    it(`DELs from the config and says so loudly when the cache is ${kind}`, () => {
      const sb = sandbox();
      const { call, netns } = attached(sb, kind.slice(0, 4));
      corrupt(path.join(sb.cniDir, call.containerID));
      const del = runBraid({ ...call, command: 'DEL' });
      ok(del);
      expect(del.stderr).toMatch(/cache for container .* is corrupt/);
      expect(del.stderr).toContain('[error]');
      expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
      expect(linksIn(nsName(netns))).toEqual([]);
      expect(sb.cacheFiles()).toEqual([]);
    });
  }

  it('with a corrupt cache and a config that no longer resolves, fails naming both and keeps the cache until the config is back', () => {
    const sb = sandbox();
    const bridge = sb.linkName('br');
    const netns = sb.netns();
    const conf = sb.write('net.d/10-pod.conf', bridgeConf(sb, bridge, nextSubnet()));
    const call = { containerID: `cgone-${sb.id}`, netns, ifname: 'eth0', config: braidConf(sb, [], { delegates: undefined, clusterNetwork: conf }) };
    ok(runBraid({ ...call, command: 'ADD' }));
    expect(hostLocalLeases(sb.ipamDir)).toHaveLength(1);
    const cacheFile = path.join(sb.cniDir, call.containerID);
    fs.truncateSync(cacheFile, 10);
    const saved = fs.readFileSync(conf);
    fs.rmSync(conf);

    const msg = failed(runBraid({ ...call, command: 'DEL' }), 7);
    expect(msg).toContain(`cache for container ${call.containerID} is corrupt`);
    expect(msg).toContain(`network ${conf}: no such file or directory`);
    expect(sb.cacheFiles()).toEqual([call.containerID]); // not a silent success: the runtime's next DEL tries again
    expect(hostLocalLeases(sb.ipamDir)).toHaveLength(1);

    fs.writeFileSync(conf, saved);
    ok(runBraid({ ...call, command: 'DEL' }));
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
    expect(linksIn(nsName(netns))).toEqual([]);
    expect(sb.cacheFiles()).toEqual([]);
  });

  it('records each finished DEL at once: after braid is killed mid-DEL, the next DEL does not repeat host-device\'s', async () => {
    const sb = sandbox();
    const log = path.join(sb.dir, 'fake.log');
    const [, hostDev] = sb.veth('h');
    const netns = sb.netns();
    const delegates = [{ cniVersion: '1.0.0', name: 'cluster', type: 'fake' }, hostDeviceConf(hostDev)];
    const call = { containerID: `ckill-${sb.id}`, netns, ifname: 'eth0', env: { FAKE_LOG: log }, config: braidConf(sb, delegates) };
    ok(runBraid({ ...call, command: 'ADD' }));
    expect(linksIn(nsName(netns)).sort()).toEqual(['net1']);

    // net1 (host-device) is DELed first; then the cluster network's DEL hangs and the runtime kills braid.
    const child = spawn(BRAID, [], { env: { PATH: process.env.PATH!, CNI_COMMAND: 'DEL', CNI_CONTAINERID: call.containerID, CNI_NETNS: netns, CNI_IFNAME: 'eth0',
      CNI_PATH: `${REFERENCE_PLUGINS}:${FIXTURE_PLUGINS}`, FAKE_LOG: log, FAKE_SLEEP_ON: 'DEL', FAKE_SLEEP_MS: '2000' }, stdio: ['pipe', 'ignore', 'ignore'] });
    child.stdin.end(JSON.stringify(call.config));
    await expect.poll(() => fakeCalls(log).some((c) => c.command === 'DEL'), { timeout: 10_000 }).toBe(true);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    expect(hostLinkExists(hostDev)).toBe(true); // host-device gave the device back before the hang
    expect(sb.readCache(call.containerID).attachments.map((a: any) => `${a.ifname}:${a.state}`)).toEqual(['eth0:added', 'net1:deleted']);

    const del = runBraid({ ...call, command: 'DEL' });
    ok(del); // host-device would fail a repeat ("failed to find net1")
    expect(fakeCalls(log).filter((c) => c.command === 'DEL')).toHaveLength(2);
    expect(sb.cacheFiles()).toEqual([]);
  });

  function partlyFailing(sb: Sandbox, extra: Record<string, unknown>) {
    const log = path.join(sb.dir, 'fake.log');
    const bridge = sb.linkName('br');
    const [macParent] = sb.veth('m');
    const netns = sb.netns();
    const delegates = [
      bridgeConf(sb, bridge, nextSubnet()),
      macvlanConf(sb, macParent, nextSubnet()),
      { cniVersion: '1.0.0', name: 'stubborn', type: 'fake', fail: ['DEL'], failCode: 142 },
    ];
    const call = { containerID: `cpart-${sb.id}`, netns, ifname: 'eth0', env: { FAKE_LOG: log }, config: braidConf(sb, delegates, extra) };
    ok(runBraid({ ...call, command: 'ADD' }));
    return { log, call, netns, bridge };
  }

  it('with retryDeleteOnError keeps a cache of only the attachment whose DEL failed, and the next DEL retries just that one', () => {
    const sb = sandbox();
    const { log, call, netns, bridge } = partlyFailing(sb, { retryDeleteOnError: true });
    const first = runBraid({ ...call, command: 'DEL' });
    const msg = failed(first, 142);
    expect(msg).toContain('stubborn');
    expect(msg).toContain('net2');
    // The others were torn down despite the failure.
    expect(linksIn(nsName(netns))).toEqual([]);
    expect(bridgePorts(bridge)).toEqual([]);
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
    const cache = sb.readCache(call.containerID);
    expect(cache.attachments.map((a: any) => `${a.ifname}:${a.state}`)).toEqual(['eth0:deleted', 'net1:deleted', 'net2:added']);
    expect(fs.statSync(path.join(sb.cniDir, call.containerID)).mode & 0o777).toBe(0o600);
    const dels = () => fakeCalls(log).filter((c) => c.command === 'DEL');
    expect(dels()).toHaveLength(1);

    const second = runBraid({ ...call, command: 'DEL' });
    failed(second, 142);
    expect(dels()).toHaveLength(2);
    expect(dels()[1].env.CNI_IFNAME).toBe('net2');
    expect(fakeCalls(log)).toHaveLength(3); // ADD, DEL, DEL: nothing else was asked of the fake
    const after = sb.readCache(call.containerID);
    expect(after.attachments.map((a: any) => `${a.ifname}:${a.state}`)).toEqual(['eth0:deleted', 'net1:deleted', 'net2:added']);
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
    expect(lockFiles(sb)).toEqual([]);
  });

  it('without retryDeleteOnError removes the cache after a partly failed DEL', () => {
    const sb = sandbox();
    const { log, call, netns } = partlyFailing(sb, {});
    const msg = failed(runBraid({ ...call, command: 'DEL' }), 142);
    expect(msg).toContain('stubborn');
    expect(linksIn(nsName(netns))).toEqual([]);
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
    expect(sb.cacheFiles()).toEqual([]);
    const count = fakeCalls(log).length;
    ok(runBraid({ ...call, command: 'DEL' })); // nothing cached: nothing to do
    expect(fakeCalls(log)).toHaveLength(count);
  });
});

describe('CHECK', () => {
  it('fails naming the network whose interface was removed from the pod', () => {
    const sb = sandbox();
    const w = threeNetworks(sb);
    const netns = sb.netns();
    const call = { containerID: `cchk-${sb.id}`, netns, ifname: 'eth0', config: braidConf(sb, w.delegates) };
    ok(runBraid({ ...call, command: 'ADD' }));
    ok(runBraid({ ...call, command: 'CHECK' }));
    ip('-n', nsName(netns), 'link', 'del', 'net1');
    const check = runBraid({ ...call, command: 'CHECK' });
    expect(check.status).not.toBe(0);
    expect(check.json?.code).toBeTypeOf('number');
    expect(check.json.msg).toContain('"macnet"');
    expect(check.json.msg).toContain('net1');
    expect(check.json.msg).not.toContain('"podnet"');
    expect(check.json.msg).not.toContain('"devnet"');
    ok(runBraid({ ...call, command: 'DEL' }));
    expect(linksIn(nsName(netns))).toEqual([]);
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
    expect(hostLinkExists(w.hostDev)).toBe(true);
  });
});

describe('concurrency', () => {
  it('runs 20 parallel ADDs with distinct IPs, then 20 parallel DELs leaving nothing behind', async () => {
    const sb = sandbox();
    const bridge = sb.linkName('br');
    const [macParent] = sb.veth('m');
    const delegates = [bridgeConf(sb, bridge, nextSubnet()), macvlanConf(sb, macParent, nextSubnet())];
    const config = braidConf(sb, delegates);
    const pods = Array.from({ length: 20 }, (_, i) => ({
      containerID: `cpar${i}-${sb.id}`, netns: sb.netns(`p${i}`), ifname: 'eth0', config,
    }));
    const adds = await Promise.all(pods.map((p) => runBraidAsync({ ...p, command: 'ADD' })));
    adds.forEach(ok);
    const addresses = adds.flatMap((r) => (r.json.ips as Array<{ address: string }>).map((a) => a.address));
    expect(addresses).toHaveLength(40);
    expect(new Set(addresses).size).toBe(40);
    for (const p of pods) expect(linksIn(nsName(p.netns)).sort()).toEqual(['eth0', 'net1']);
    expect(hostLocalLeases(sb.ipamDir)).toHaveLength(40);
    expect(sb.cacheFiles()).toHaveLength(20);

    const dels = await Promise.all(pods.map((p) => runBraidAsync({ ...p, command: 'DEL' })));
    dels.forEach(ok);
    for (const p of pods) expect(linksIn(nsName(p.netns))).toEqual([]);
    expect(bridgePorts(bridge)).toEqual([]);
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
    expect(sb.cacheFiles()).toEqual([]);
    expect(lockFiles(sb)).toEqual([]);
  });

  it('leaves a racing ADD and DEL of one container either fully attached with a cache or fully gone', async () => {
    const sb = sandbox();
    const bridge = sb.linkName('br');
    const [macParent] = sb.veth('m');
    const delegates = [bridgeConf(sb, bridge, nextSubnet()), macvlanConf(sb, macParent, nextSubnet())];
    const config = braidConf(sb, delegates);
    for (let round = 0; round < 6; round++) {
      const p = { containerID: `crace${round}-${sb.id}`, netns: sb.netns(`r${round}`), ifname: 'eth0', config };
      // Alternate which one starts first; both race for the container's lock.
      const [add, del] = round % 2 === 0
        ? await Promise.all([runBraidAsync({ ...p, command: 'ADD' }), runBraidAsync({ ...p, command: 'DEL' })])
        : await Promise.all([runBraidAsync({ ...p, command: 'DEL' }), runBraidAsync({ ...p, command: 'ADD' })]).then(([d, a]) => [a, d]);
      ok(add);
      ok(del);
      const links = linksIn(nsName(p.netns)).sort();
      const cached = sb.cacheFiles().includes(p.containerID);
      const leases = hostLocalLeases(sb.ipamDir);
      if (cached) {
        expect(links).toEqual(['eth0', 'net1']);
        expect(leases).toHaveLength(2);
        expect(sb.readCache(p.containerID).attachments.map((a: any) => a.state)).toEqual(['added', 'added']);
      } else {
        expect(links).toEqual([]);
        expect(leases).toEqual([]);
      }
      expect(lockFiles(sb)).toEqual([]);
      ok(runBraid({ ...p, command: 'DEL' }));
      expect(linksIn(nsName(p.netns))).toEqual([]);
      expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
      expect(sb.cacheFiles()).toEqual([]);
    }
  });
});

describe('GC', () => {
  it('tears down cached containers missing from valid-attachments and forwards GC with each delegate\'s own ifnames', () => {
    const sb = sandbox();
    const log = path.join(sb.dir, 'fake.log');
    const bridge = sb.linkName('br');
    const delegates = [
      bridgeConf(sb, bridge, nextSubnet()),
      { cniVersion: '1.1.0', name: 'fakelist', plugins: [{ type: 'fake' }] },
    ];
    const config = braidConf(sb, delegates, { cniVersion: '1.1.0' });
    const keep = { containerID: `cgck-${sb.id}`, netns: sb.netns('keep'), ifname: 'eth0', config, env: { FAKE_LOG: log } };
    const stale = { containerID: `cgcs-${sb.id}`, netns: sb.netns('stale'), ifname: 'eth0', config, env: { FAKE_LOG: log } };
    ok(runBraid({ ...keep, command: 'ADD' }));
    ok(runBraid({ ...stale, command: 'ADD' }));
    expect(hostLocalLeases(sb.ipamDir)).toHaveLength(2);
    expect(sb.cacheFiles().sort()).toEqual([keep.containerID, stale.containerID].sort());
    const before = fakeCalls(log).length;

    const gc = runBraid({
      command: 'GC', env: { FAKE_LOG: log },
      config: { ...config, 'cni.dev/valid-attachments': [{ containerID: keep.containerID, ifname: 'eth0' }] },
    });
    ok(gc);
    const calls = fakeCalls(log).slice(before);
    const dels = calls.filter((c) => c.command === 'DEL');
    expect(dels.map((c) => `${c.env.CNI_CONTAINERID} ${c.env.CNI_IFNAME}`)).toEqual([`${stale.containerID} net1`]);
    const gcs = calls.filter((c) => c.command === 'GC');
    expect(gcs).toHaveLength(1);
    expect(gcs[0].config['cni.dev/valid-attachments']).toEqual([{ containerID: keep.containerID, ifname: 'net1' }]);
    expect(gcs[0].config.name).toBe('fakelist');
    expect(gcs[0].env.CNI_CONTAINERID).toBeUndefined();
    // The stale pod's bridge attachment was DELed (its lease released), the kept pod's was not. GC DELs
    // without the cached netns path, which may by now name another pod's netns: links are not checked here.
    expect(linksIn(nsName(keep.netns))).toEqual(['eth0']); // the fake plugin (net1) creates no link
    expect(hostLocalLeases(sb.ipamDir)).toHaveLength(1);
    expect(sb.cacheFiles()).toEqual([keep.containerID]);

    ok(runBraid({ ...keep, command: 'DEL' }));
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
    expect(sb.cacheFiles()).toEqual([]);
  });

  it('forwards no GC to delegates while a valid container\'s cache is unreadable, yet still tears down stale containers', () => {
    const sb = sandbox();
    const log = path.join(sb.dir, 'fake.log');
    const delegates = [{ cniVersion: '1.1.0', name: 'fakelist', plugins: [{ type: 'fake' }] }];
    const config = braidConf(sb, delegates, { cniVersion: '1.1.0', logLevel: 'verbose' });
    const broken = { containerID: `cgcb-${sb.id}`, netns: sb.netns('broken'), ifname: 'eth0', config, env: { FAKE_LOG: log } };
    const stale = { containerID: `cgcs-${sb.id}`, netns: sb.netns('stale'), ifname: 'eth0', config, env: { FAKE_LOG: log } };
    ok(runBraid({ ...broken, command: 'ADD' }));
    ok(runBraid({ ...stale, command: 'ADD' }));
    fs.writeFileSync(path.join(sb.cniDir, broken.containerID), '{"kind":"braidCacheV1","contain'); // e.g. a reboot mid-write
    fs.writeFileSync(path.join(sb.cniDir, 'multus%2Fleftover'), '{}'); // a foreign file is not a container
    const before = fakeCalls(log).length;

    const gc = runBraid({
      command: 'GC', env: { FAKE_LOG: log },
      config: { ...config, 'cni.dev/valid-attachments': [{ containerID: broken.containerID, ifname: 'eth0' }] },
    });
    ok(gc);
    const calls = fakeCalls(log).slice(before);
    // The stale container was DELed; the delegate got no GC, which would have freed the broken pod's addresses.
    expect(calls.map((c) => `${c.command} ${c.env.CNI_CONTAINERID ?? ''}`)).toEqual([`DEL ${stale.containerID}`]);
    expect(gc.stderr).toContain(`no readable braid cache for valid container(s) ${broken.containerID}`);
    expect(gc.stderr).not.toContain('unknown config keys');
    expect(sb.cacheFiles().sort()).toEqual([broken.containerID, 'multus%2Fleftover'].sort());
  });

  it('reaches a cluster network given by name as ADD would: a NAD of nadDir, with no API call', () => {
    const sb = sandbox();
    const log = path.join(sb.dir, 'fake.log');
    sb.write('nads/clusternet.yaml', [
      'apiVersion: k8s.cni.cncf.io/v1', 'kind: NetworkAttachmentDefinition',
      'metadata: {name: clusternet, namespace: kube-system}',
      `spec: {config: '${JSON.stringify({ cniVersion: '1.1.0', type: 'fake', tag: 'from-nad' })}'}`, '',
    ].join('\n'));
    const config = braidConf(sb, [], { delegates: undefined, clusterNetwork: 'clusternet', nadDir: path.join(sb.dir, 'nads'), cniVersion: '1.1.0' });
    ok(runBraid({ command: 'GC', env: { FAKE_LOG: log }, config: { ...config, 'cni.dev/valid-attachments': [] } }));
    expect(fakeCalls(log).map((c) => `${c.command} ${c.config.name} ${c.config.tag}`)).toEqual(['GC clusternet from-nad']);
  });

  it('refuses GC with code 1 when the config is older than 1.1.0', () => {
    const sb = sandbox();
    const log = path.join(sb.dir, 'fake.log');
    const config = braidConf(sb, [{ cniVersion: '1.0.0', name: 'fakenet', type: 'fake' }], { cniVersion: '1.0.0', 'cni.dev/valid-attachments': [] });
    const msg = failed(runBraid({ command: 'GC', env: { FAKE_LOG: log }, config }), 1);
    expect(msg).toContain('GC');
    expect(fakeCalls(log)).toEqual([]);
  });
});

describe('STATUS and readiness', () => {
  it('forwards STATUS to a 1.1.0 cluster network and succeeds when it does', () => {
    const sb = sandbox();
    const log = path.join(sb.dir, 'fake.log');
    const config = braidConf(sb, [{ cniVersion: '1.1.0', name: 'clusternet', type: 'fake' }], { cniVersion: '1.1.0' });
    const r = runBraid({ command: 'STATUS', env: { FAKE_LOG: log }, config });
    ok(r);
    expect(r.stdout).toBe('');
    const calls = fakeCalls(log);
    expect(calls.map((c) => c.command)).toEqual(['STATUS']);
    expect(calls[0].config.name).toBe('clusternet');
  });

  it('reports 51 when the cluster network says it is degraded', () => {
    const sb = sandbox();
    const log = path.join(sb.dir, 'fake.log');
    const config = braidConf(sb, [{ cniVersion: '1.1.0', name: 'clusternet', type: 'fake', fail: ['STATUS'], failCode: 51 }], { cniVersion: '1.1.0' });
    const msg = failed(runBraid({ command: 'STATUS', env: { FAKE_LOG: log }, config }), 51);
    expect(msg).toContain('STATUS failed on demand');
    expect(fakeCalls(log).map((c) => c.command)).toEqual(['STATUS']);
  });

  it('resolves a cluster network given by name as ADD does: nadDir first, confDir next; with an API only it asks nothing', () => {
    const sb = sandbox();
    const log = path.join(sb.dir, 'fake.log');
    const nadDir = path.join(sb.dir, 'nads');
    sb.write('nads/clusternet.json', {
      apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'clusternet', namespace: 'kube-system' },
      spec: { config: JSON.stringify({ cniVersion: '1.1.0', type: 'fake', tag: 'from-nad' }) },
    });
    sb.write('net.d/10-clusternet.conf', { cniVersion: '1.1.0', name: 'clusternet', type: 'fake', tag: 'from-confdir' });
    const base = braidConf(sb, [], { delegates: undefined, clusterNetwork: 'clusternet', confDir: sb.confDir, cniVersion: '1.1.0' });
    const status = (extra: Record<string, unknown>) => runBraid({ command: 'STATUS', env: { FAKE_LOG: log }, config: { ...base, ...extra } });

    ok(status({ nadDir }));
    ok(status({}));
    expect(fakeCalls(log).map((c) => `${c.command} ${c.config.tag}`)).toEqual(['STATUS from-nad', 'STATUS from-confdir']);

    fs.rmSync(path.join(sb.confDir, '10-clusternet.conf'));
    const kubeconfig = sb.write('kubeconfig', 'apiVersion: v1\nkind: Config\n'); // never read: STATUS makes no API call
    const viaApi = status({ kubeconfig, logLevel: 'verbose' });
    ok(viaApi);
    expect(viaApi.stderr).toContain('not asked');
    expect(failed(status({}), 50)).toContain('"clusternet": no conf with that name');
    expect(fakeCalls(log)).toHaveLength(2);
  });

  it('refuses STATUS with code 1 when the config is older than 1.1.0', () => {
    const sb = sandbox();
    const log = path.join(sb.dir, 'fake.log');
    const config = braidConf(sb, [{ cniVersion: '1.0.0', name: 'clusternet', type: 'fake' }], { cniVersion: '1.0.0' });
    failed(runBraid({ command: 'STATUS', env: { FAKE_LOG: log }, config }), 1);
    expect(fakeCalls(log)).toEqual([]);
  });

  it('fails ADD after readinessTimeout when the readiness file is missing, never waits on DEL, and ADDs once the file exists', () => {
    const sb = sandbox();
    const log = path.join(sb.dir, 'fake.log');
    const bridge = sb.linkName('br');
    const readyFile = path.join(sb.dir, 'ready', 'default-network-is-up');
    const delegates = [bridgeConf(sb, bridge, nextSubnet()), { cniVersion: '1.0.0', name: 'second', type: 'fake' }];
    const netns = sb.netns();
    const call = { containerID: `cready-${sb.id}`, netns, ifname: 'eth0', env: { FAKE_LOG: log } };

    const add = timed({ ...call, command: 'ADD', config: braidConf(sb, delegates, { readinessindicatorfile: readyFile, readinessTimeout: 1 }) });
    const msg = failed(add, 11);
    expect(msg).toContain(readyFile);
    expect(add.ms).toBeGreaterThanOrEqual(900);
    expect(add.ms).toBeLessThan(3000);
    expect(fakeCalls(log)).toEqual([]);
    expect(linksIn(nsName(netns))).toEqual([]);
    expect(hostLinkExists(bridge)).toBe(false);
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
    expect(sb.cacheFiles()).toEqual([]);

    const slowConfig = braidConf(sb, delegates, { readinessindicatorfile: readyFile, readinessTimeout: 30 });
    const del = timed({ ...call, command: 'DEL', config: slowConfig });
    ok(del);
    expect(del.ms).toBeLessThan(3000);

    sb.write('ready/default-network-is-up', 'ok');
    const add2 = runBraid({ ...call, command: 'ADD', config: slowConfig });
    ok(add2);
    expect(linksIn(nsName(netns)).sort()).toEqual(['eth0']); // the fake plugin creates no link
    expect(hostLocalLeases(sb.ipamDir)).toHaveLength(1);
    fs.rmSync(readyFile); // DEL must not depend on it
    ok(runBraid({ ...call, command: 'DEL', config: slowConfig }));
    expect(linksIn(nsName(netns))).toEqual([]);
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
    expect(sb.cacheFiles()).toEqual([]);
  });
});
