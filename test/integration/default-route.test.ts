import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BRAID, FIXTURE_PLUGINS, parseJson, REFERENCE_PLUGINS, runBraidAsync, type BraidOutcome } from '../helpers/braid';
import { braidConf, ok } from '../helpers/cni';
import { hostLinkExists, hostLocalLeases, ip, linksIn, PodSandbox, subnetAllocator } from '../helpers/host';
import type { ApiServer } from '../helpers/apiserver.mjs';
import { NETWORKS, networkStatusOf, useApiServer } from '../helpers/k8s';

// NAD spec v1.3 `default-route` end to end: the real executable in a real netns, the cluster network
// as bridge+host-local (eth0, with default routes), secondaries as macvlan+static, the pod and its
// NADs in the test kube-apiserver, which also receives network-status. braid moves the family's
// default route to the interface the pod asked for, rewrites the cached results to match the kernel
// (so CHECK passes), and reads `default-route: []` as "no default route on this interface".
// Address range of this file: 10.250.190.0/24 … 10.250.219.0/24 and fd00:250:190::/64 … fd00:250:219::/64.

const NS = 'team-r';

let api: ApiServer;
useApiServer((s) => { api = s; });

/** A fresh subnet pair of this file's range: 10.250.N.0/24 and fd00:250:N::/64. */
const nextSubnet = subnetAllocator(190, 30);

interface Route { dst: string; gateway?: string; dev: string }

/** Default routes of one family in the pod's main table, as `ip -n <ns> -<family> route show default`. */
function defaultRoutes(ns: string, family: 4 | 6): Route[] {
  const out = JSON.parse(ip('-n', ns, `-${family}`, '-j', 'route', 'show', 'default')) as Route[];
  return out.map(({ dst, gateway, dev }) => ({ dst, gateway, dev }));
}

/** Routes of a CNI result that are default routes. */
const defaults = (result: any) => (result.routes ?? []).filter((r: any) => r.dst === '0.0.0.0/0' || r.dst === '::/0');

/** One pod: netns (IPv6 DAD off, so static IPv6 addresses are usable at once), a bridge cluster network, a pod in the API. */
class Pod extends PodSandbox {
  readonly bridge = this.sb.linkName('br');
  readonly kubeconfig = api.kubeconfig(this.sb.dir);
  readonly pod = nextSubnet();
  readonly parents: string[] = [];

  constructor(readonly dualStack: boolean) {
    super('gw-pod', 'dr');
    execFileSync('ip', ['netns', 'exec', this.ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
  }

  /** The pod in the API server, selecting `networks` (JSON). */
  create(networks: unknown[]): void {
    api.addPod({ metadata: { namespace: NS, name: this.name, uid: this.uid, annotations: { [NETWORKS]: JSON.stringify(networks) } } });
  }

  /** A macvlan+static NAD on a fresh host veth parent. */
  macvlanNad(name: string, addresses: Array<{ address: string; gateway?: string }>, routes?: Array<{ dst: string; gw: string }>): void {
    const [parent] = this.sb.veth(`p${this.parents.length}`);
    this.parents.push(parent);
    api.addNad(NS, name, {
      cniVersion: '1.0.0',
      type: 'macvlan',
      master: parent,
      mode: 'bridge',
      ipam: { type: 'static', addresses, ...(routes ? { routes } : {}) },
    });
  }

  conf(): Record<string, unknown> {
    const s = this.pod;
    return braidConf(this.sb, {
      kubeconfig: this.kubeconfig,
      logLevel: 'verbose',
      resultMode: 'merged', // the tests compare every attachment's routes in the result with the kernel's
      delegates: [{
        cniVersion: '1.0.0',
        name: 'podnet',
        type: 'bridge',
        bridge: this.bridge,
        ipam: {
          type: 'host-local',
          dataDir: this.sb.ipamDir,
          ranges: [[{ subnet: s.v4 }], ...(this.dualStack ? [[{ subnet: s.v6 }]] : [])],
          routes: [{ dst: '0.0.0.0/0', gw: s.gw4 }, ...(this.dualStack ? [{ dst: '::/0', gw: s.gw6 }] : [])],
        },
      }],
    });
  }

  run(command: string): Promise<BraidOutcome> {
    return runBraidAsync({
      command,
      containerID: this.containerID,
      netns: this.netns,
      ifname: 'eth0',
      args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${NS};K8S_POD_NAME=${this.name};K8S_POD_UID=${this.uid}`,
      config: this.conf(),
    });
  }

  /** ADD as run() does it, under `strace -f -y` (openat, setns, clone): braid's outcome and strace's log lines. */
  async straced(): Promise<{ outcome: BraidOutcome; trace: string[] }> {
    const log = path.join(this.sb.dir, 'strace.log');
    const env = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: 'ADD', CNI_CONTAINERID: this.containerID, CNI_NETNS: this.netns, CNI_IFNAME: 'eth0',
      CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${NS};K8S_POD_NAME=${this.name};K8S_POD_UID=${this.uid}`,
      CNI_PATH: `${REFERENCE_PLUGINS}:${FIXTURE_PLUGINS}`,
    };
    const child = spawn('strace', ['-f', '-y', '-qq', '-e', 'trace=openat,setns,clone,clone3', '-o', log, BRAID], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.stdin.end(JSON.stringify(this.conf()));
    const status = await new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    return { outcome: { status, stdout, stderr, json: parseJson(stdout) }, trace: fs.readFileSync(log, 'utf8').split('\n') };
  }

  status(): any[] {
    return networkStatusOf(api, NS, this.name);
  }

  /** CHECK passes, then DEL leaves nothing: no interface, no lease, no cache; the parents are still on the host. */
  async checkThenDelete(): Promise<void> {
    const checked = await this.run('CHECK');
    ok(checked);
    expect(checked.stdout).toBe('');
    ok(await this.run('DEL'));
    expect(linksIn(this.ns)).toEqual([]);
    expect(hostLocalLeases(this.sb.ipamDir)).toEqual([]);
    expect(this.sb.cacheFiles()).toEqual([]);
    expect(defaultRoutes(this.ns, 4)).toEqual([]);
    expect(defaultRoutes(this.ns, 6)).toEqual([]);
    for (const parent of this.parents) expect(hostLinkExists(parent)).toBe(true);
  }
}

/** netlink's addon as braid's native cache names it (`netlink-<sha256 prefix>.node`). */
const NETLINK_ADDON = /"[^"]*\/netlink-[0-9a-f]{16}\.node"/;

/**
 * What braid's own process did while its main thread was in the pod's netns (`setns` into
 * /run/netns/<ns> until a `setns` back): the netlink addon opened for dlopen(), threads created.
 * Delegates' processes setns too, so only braid's (strace's first pid) is followed.
 */
function whileInPod(trace: string[], ns: string): { netlinkLoaded: boolean; inPod: string[]; entered: number } {
  const braid = trace[0].split(' ')[0];
  let inside = false;
  let entered = 0;
  let netlinkLoaded = false;
  const inPod: string[] = [];
  for (const line of trace) {
    const [pid] = line.split(' ');
    const isNetlink = /\bopenat\(/.test(line) && NETLINK_ADDON.test(line);
    netlinkLoaded ||= isNetlink;
    if (/\bsetns\(/.test(line) && pid === braid) {
      inside = line.includes(`/run/netns/${ns}>`);
      if (inside) entered++;
    } else if (inside && (isNetlink || (pid === braid && /\bclone3?\(/.test(line)))) {
      inPod.push(line);
    }
  }
  return { netlinkLoaded, inPod, entered };
}

describe('default-route (NAD spec v1.3)', () => {
  it('IPv4: eth0\'s default route is replaced by one via the gateway on net1; results, cache, status and CHECK agree', async () => {
    const p = new Pod(false);
    const net = nextSubnet();
    p.macvlanNad('mv4', [{ address: `${net.host4(10)}/24`, gateway: net.gw4 }]);
    p.create([{ name: 'mv4', 'default-route': [net.gw4] }]);

    const added = await p.run('ADD');
    ok(added);
    expect(defaultRoutes(p.ns, 4)).toEqual([{ dst: 'default', gateway: net.gw4, dev: 'net1' }]);
    expect(linksIn(p.ns).sort()).toEqual(['eth0', 'net1']);

    // The ADD result shows the new default route and not the removed one.
    expect(defaults(added.json)).toEqual([{ dst: '0.0.0.0/0', gw: net.gw4 }]);
    // So does the cache, attachment by attachment.
    const [podnet, mv4] = p.cache().attachments;
    expect(defaults(podnet.result)).toEqual([]);
    expect(defaults(mv4.result)).toEqual([{ dst: '0.0.0.0/0', gw: net.gw4 }]);
    expect(mv4.defaultRoute).toEqual([net.gw4]);
    // network-status: the gateway moved with the route.
    const status = p.status();
    expect(status.map((s) => [s.name, s.interface, s.gateway])).toEqual([
      ['podnet', 'eth0', undefined],
      [`${NS}/mv4`, 'net1', [net.gw4]],
    ]);
    expect(status[0].default).toBe(true);

    await p.checkThenDelete();
  });

  it('IPv6: the v6 default route moves to net1 while eth0 keeps its IPv4 one', async () => {
    const p = new Pod(true);
    const net = nextSubnet();
    p.macvlanNad('mv6', [{ address: `${net.host6(10)}/64`, gateway: net.gw6 }]);
    p.create([{ name: 'mv6', 'default-route': [net.gw6] }]);

    const added = await p.run('ADD');
    ok(added);
    expect(defaultRoutes(p.ns, 6)).toEqual([{ dst: 'default', gateway: net.gw6, dev: 'net1' }]);
    expect(defaultRoutes(p.ns, 4)).toEqual([{ dst: 'default', gateway: p.pod.gw4, dev: 'eth0' }]);

    expect(defaults(added.json)).toEqual([{ dst: '0.0.0.0/0', gw: p.pod.gw4 }, { dst: '::/0', gw: net.gw6 }]);
    const [podnet, mv6] = p.cache().attachments;
    expect(defaults(podnet.result)).toEqual([{ dst: '0.0.0.0/0', gw: p.pod.gw4 }]);
    expect(defaults(mv6.result)).toEqual([{ dst: '::/0', gw: net.gw6 }]);
    expect(p.status().map((s) => [s.name, s.gateway])).toEqual([
      ['podnet', [p.pod.gw4]],
      [`${NS}/mv6`, [net.gw6]],
    ]);

    await p.checkThenDelete();
  });

  it('dual-stack: the IPv4 gateway on net1 and the IPv6 gateway on net2 are handled independently', async () => {
    const p = new Pod(true);
    const a = nextSubnet();
    const b = nextSubnet();
    p.macvlanNad('mv4', [{ address: `${a.host4(10)}/24`, gateway: a.gw4 }, { address: `${a.host6(10)}/64` }]);
    p.macvlanNad('mv6', [{ address: `${b.host4(10)}/24` }, { address: `${b.host6(10)}/64`, gateway: b.gw6 }]);
    p.create([{ name: 'mv4', 'default-route': [a.gw4] }, { name: 'mv6', 'default-route': [b.gw6] }]);

    const added = await p.run('ADD');
    ok(added);
    expect(defaultRoutes(p.ns, 4)).toEqual([{ dst: 'default', gateway: a.gw4, dev: 'net1' }]);
    expect(defaultRoutes(p.ns, 6)).toEqual([{ dst: 'default', gateway: b.gw6, dev: 'net2' }]);
    expect(defaults(added.json)).toEqual([{ dst: '0.0.0.0/0', gw: a.gw4 }, { dst: '::/0', gw: b.gw6 }]);
    expect(p.cache().attachments.map((att: any) => defaults(att.result))).toEqual([
      [],
      [{ dst: '0.0.0.0/0', gw: a.gw4 }],
      [{ dst: '::/0', gw: b.gw6 }],
    ]);
    expect(p.status().map((s) => [s.interface, s.gateway])).toEqual([['eth0', undefined], ['net1', [a.gw4]], ['net2', [b.gw6]]]);

    await p.checkThenDelete();
  });

  it('default-route: [] removes that interface\'s own default routes and leaves eth0\'s in place', async () => {
    const p = new Pod(false);
    const net = nextSubnet();
    // The NAD's IPAM gives net1 an IPv6 default route; the pod asks for none on net1.
    p.macvlanNad('mv', [{ address: `${net.host4(10)}/24` }, { address: `${net.host6(10)}/64` }], [{ dst: '::/0', gw: net.gw6 }]);
    p.create([{ name: 'mv', 'default-route': [] }]);

    const added = await p.run('ADD');
    ok(added);
    expect(defaultRoutes(p.ns, 4)).toEqual([{ dst: 'default', gateway: p.pod.gw4, dev: 'eth0' }]);
    expect(defaultRoutes(p.ns, 6)).toEqual([]);
    expect(defaults(added.json)).toEqual([{ dst: '0.0.0.0/0', gw: p.pod.gw4 }]);
    expect(p.cache().attachments.map((att: any) => defaults(att.result))).toEqual([[{ dst: '0.0.0.0/0', gw: p.pod.gw4 }], []]);
    expect(p.status().map((s) => [s.interface, s.gateway])).toEqual([['eth0', [p.pod.gw4]], ['net1', undefined]]);

    await p.checkThenDelete();
  });

  it('netlink\'s addon is loaded before braid enters the pod netns, and no thread is started in there', async () => {
    const p = new Pod(false);
    const net = nextSubnet();
    p.macvlanNad('mv4', [{ address: `${net.host4(10)}/24`, gateway: net.gw4 }]);
    p.create([{ name: 'mv4', 'default-route': [net.gw4] }]);
    const { outcome, trace } = await p.straced();
    ok(outcome);
    expect(defaultRoutes(p.ns, 4)).toEqual([{ dst: 'default', gateway: net.gw4, dev: 'net1' }]);
    const seen = whileInPod(trace, p.ns);
    expect(seen.netlinkLoaded).toBe(true);
    expect(seen.entered).toBeGreaterThan(0);
    expect(seen.inPod).toEqual([]);
    await p.checkThenDelete();
  });

  it('a pod without default-route never loads netlink', async () => {
    const p = new Pod(false);
    const net = nextSubnet();
    p.macvlanNad('mv4', [{ address: `${net.host4(10)}/24`, gateway: net.gw4 }]);
    p.create([{ name: 'mv4' }]);
    const { outcome, trace } = await p.straced();
    ok(outcome);
    const seen = whileInPod(trace, p.ns);
    expect(seen.netlinkLoaded).toBe(false);
    expect(seen.entered).toBeGreaterThan(0); // the interface-name checks did enter the pod netns
    expect(seen.inPod).toEqual([]);
    await p.checkThenDelete();
  });

  it('two IPv4 gateways fail with code 7 before anything runs', async () => {
    const p = new Pod(false);
    const a = nextSubnet();
    const b = nextSubnet();
    p.macvlanNad('mv-a', [{ address: `${a.host4(10)}/24` }]);
    p.macvlanNad('mv-b', [{ address: `${b.host4(10)}/24` }]);
    p.create([{ name: 'mv-a', 'default-route': [a.gw4] }, { name: 'mv-b', 'default-route': [b.gw4] }]);

    const r = await p.run('ADD');
    expect(r.status).not.toBe(0);
    expect(r.json, r.stdout).toMatchObject({ cniVersion: '1.0.0', code: 7 });
    expect(r.json.msg).toContain('more than one IPv4 gateway');
    expect(r.json.msg).toContain(`${NS}/mv-a (${a.gw4})`);
    expect(r.json.msg).toContain(`${NS}/mv-b (${b.gw4})`);
    expect(linksIn(p.ns)).toEqual([]);
    expect(hostLocalLeases(p.sb.ipamDir)).toEqual([]);
    expect(p.sb.cacheFiles()).toEqual([]);
    expect(hostLinkExists(p.bridge)).toBe(false); // the cluster network's plugin never ran
    expect(api.calls.filter((c) => c.method === 'PATCH')).toEqual([]);
    ok(await p.run('DEL'));
  });
});
