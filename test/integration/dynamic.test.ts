import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_NS, AgentNode, until, type NodePod } from '../helpers/agent-node';
import type { ApiServer } from '../helpers/apiserver.mjs';
import { runBraidTool } from '../helpers/braid';
import { ok } from '../helpers/cni';
import { addressesIn, hostLocalLeases, hostOf, inSubnet, ip, linksIn, v4SubnetAllocator } from '../helpers/host';
import { NETWORKS, networkStatusOf, useApiServer } from '../helpers/k8s';

// Dynamic networks end to end: `dist/braid agent` with dynamicNetworks watches the test kube-apiserver;
// a running pod (ADDed by the real executable, as a runtime does) gains and loses interfaces in its real
// netns when its networks annotation is edited through the API, as `kubectl annotate` does.
// Address range of this file: 10.250.150.0/24 … 10.250.169.0/24.

let api: ApiServer;
useApiServer((s) => { api = s; });

const nextSubnet = v4SubnetAllocator(150, 20);
const NS = AGENT_NS;


/** A merge-patch of the pod's networks annotation over HTTPS with the server's token, as kubectl annotate sends it. */
function annotate(namespace: string, name: string, networks: string): Promise<number> {
  const body = JSON.stringify({ metadata: { annotations: { [NETWORKS]: networks } } });
  const url = new URL(`/api/v1/namespaces/${namespace}/pods/${name}`, api.url);
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      method: 'PATCH', ca: fs.readFileSync(api.caFile), agent: false,
      headers: { Authorization: `Bearer ${api.token}`, 'Content-Type': 'application/merge-patch+json', 'Content-Length': Buffer.byteLength(body) },
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
    req.on('error', reject);
    req.end(body);
  });
}

/** An agent node with dynamicNetworks on and one running pod, created in the API and ADDed as the runtime does. */
class Node extends AgentNode {
  private running?: NodePod;

  constructor() {
    super(api, nextSubnet);
  }

  override conf(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return super.conf({ dynamicNetworks: true, ...extra });
  }

  /** A NAD whose macvlan+host-local is followed by more plugins in one chain; returns its subnet. */
  chainNad(name: string, then: Array<Record<string, unknown>>): string {
    const subnet = nextSubnet();
    const macvlan = { type: 'macvlan', master: this.parent, mode: 'bridge', ipam: { type: 'host-local', subnet, dataDir: this.sb.ipamDir } };
    api.addNad(NS, name, { cniVersion: '1.0.0', name, plugins: [macvlan, ...then] });
    return subnet;
  }

  get p(): NodePod {
    return this.running!;
  }

  /** Creates the pod in the API and ADDs it as the runtime does. */
  async runPod(networks: string, extra: Record<string, unknown> = {}): Promise<void> {
    this.running = this.pod(networks);
    ok(await this.run('ADD', extra));
  }

  run(command: string, extra: Record<string, unknown> = {}) {
    return this.p.run(command, this.conf(extra));
  }

  /** Waits (up to `ms`) until `cond` holds; the error says what did not happen and what the agent logged. */
  async until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
    await until(cond, what, ms).catch((e: Error) => { throw new Error(`${e.message}; agent log:\n${this.agent?.stderr().slice(-3000)}`); });
  }

  links(): string[] {
    return linksIn(this.p.ns).sort();
  }

  /** [network, interface] pairs of the pod's network-status. */
  status(): string[][] {
    return networkStatusOf(api, NS, this.p.name).map((s) => [s.name, s.interface]);
  }

  /** The container's cache file (undefined once DEL removed it). */
  cache(): any {
    const file = path.join(this.sb.cniDir, this.p.containerID);
    return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
  }

  eventMessages(reason: string): string[] {
    return api.events().filter((e) => e.reason === reason && e.involvedObject?.name === this.p.name).map((e) => String(e.message));
  }
}

describe('dynamic networks', () => {
  it('a NAD added to a running pod\'s annotation is attached with its IP and listed in network-status', async () => {
    const node = new Node();
    node.nad('nad-a');
    const subnetB = node.nad('nad-b');
    await node.startAgent();
    await node.runPod('nad-a');
    expect(node.links()).toEqual(['eth0', 'net1']);
    const eth0 = addressesIn(node.p.ns, 'eth0');
    api.resetCalls();
    expect(await annotate(NS, node.p.name, 'nad-a, nad-b')).toBe(200);
    await node.until(() => node.links().includes('net2'), 'net2 appears in the pod');
    expect(inSubnet(addressesIn(node.p.ns, 'net2')[0], subnetB)).toBe(true);
    expect(addressesIn(node.p.ns, 'eth0')).toEqual(eth0);
    await node.until(() => node.status().length === 3, 'network-status lists three networks');
    expect(node.status()).toEqual([['podnet', 'eth0'], [`${NS}/nad-a`, 'net1'], [`${NS}/nad-b`, 'net2']]);
    // The reconcile read the NADs from the agent's cache (no GET, no ask of its own socket) and wrote once.
    const reconcileCalls = api.calls.filter((c) => !/[?&]watch=/.test(c.query) && !(c.method === 'PATCH' && c.path === `/api/v1/namespaces/${NS}/pods/${node.p.name}`));
    expect(reconcileCalls.filter((c) => c.method !== 'POST').map((c) => `${c.method} ${c.path} ${c.userAgent}`)).toEqual([
      expect.stringMatching(new RegExp(`^PATCH /api/v1/namespaces/${NS}/pods/${node.p.name}/status braid-agent/`)),
    ]);
    expect(node.eventMessages('AddedInterface')).toContainEqual(expect.stringMatching(new RegExp(`^Add net2 \\[10\\.250\\.\\d+\\.\\d+/24\\] from ${NS}/nad-b$`)));
    expect(node.cache().history.map((h: any) => [h.action, h.network, h.ifname])).toEqual([['added', `${NS}/nad-b`, 'net2']]);
    const inspected = runBraidTool(['inspect', '--config', node.agent!.configFile, node.p.containerID]);
    expect(inspected.status).toBe(0);
    expect(inspected.stdout).toMatch(new RegExp(`history:\\n\\s+\\S+ added net2 \\(${NS}/nad-b\\)`));
    ok(await node.run('DEL'));
    expect(node.links()).toEqual([]);
    expect(hostLocalLeases(node.sb.ipamDir)).toEqual([]);
  });

  it('a NAD removed from the annotation is detached: interface gone, lease freed, dropped from network-status, net2 not renamed', async () => {
    const node = new Node();
    const subnetA = node.nad('nad-a');
    node.nad('nad-b');
    await node.startAgent();
    await node.runPod('nad-a, nad-b');
    const net2 = addressesIn(node.p.ns, 'net2');
    expect(hostLocalLeases(node.sb.ipamDir).filter((l) => inSubnet(l.split('/')[1], subnetA))).toHaveLength(1);
    expect(await annotate(NS, node.p.name, 'nad-b')).toBe(200);
    await node.until(() => !node.links().includes('net1'), 'net1 is gone');
    expect(node.links()).toEqual(['eth0', 'net2']);
    expect(addressesIn(node.p.ns, 'net2')).toEqual(net2);
    expect(hostLocalLeases(node.sb.ipamDir).filter((l) => inSubnet(l.split('/')[1], subnetA))).toEqual([]);
    await node.until(() => node.status().length === 2, 'network-status drops nad-a');
    expect(node.status()).toEqual([['podnet', 'eth0'], [`${NS}/nad-b`, 'net2']]);
    expect(node.eventMessages('RemovedInterface')).toEqual([`Remove net1 from ${NS}/nad-a`]);
    ok(await node.run('DEL'));
    expect(hostLocalLeases(node.sb.ipamDir)).toEqual([]);
  });

  it('one edit that swaps a NAD for another removes the old and attaches the new under the freed name', async () => {
    const node = new Node();
    node.nad('nad-a');
    const subnetC = node.nad('nad-c');
    await node.startAgent();
    await node.runPod('nad-a');
    expect(await annotate(NS, node.p.name, 'nad-c')).toBe(200);
    await node.until(() => node.status().some(([n]) => n === `${NS}/nad-c`), 'network-status lists nad-c');
    expect(node.links()).toEqual(['eth0', 'net1']);
    expect(inSubnet(addressesIn(node.p.ns, 'net1')[0], subnetC)).toBe(true);
    expect(node.status()).toEqual([['podnet', 'eth0'], [`${NS}/nad-c`, 'net1']]);
    expect(hostLocalLeases(node.sb.ipamDir)).toHaveLength(2);
    ok(await node.run('DEL'));
    expect(hostLocalLeases(node.sb.ipamDir)).toEqual([]);
  });

  it('a new NAD whose chain fails half-way is rolled back alone: its interface and lease are gone, the others stay, a Warning event says why', async () => {
    const node = new Node();
    node.nad('nad-a');
    const subnetBad = node.chainNad('nad-bad', [{ type: 'fake', fail: ['ADD'] }]); // macvlan gets made, then the chain fails
    await node.startAgent();
    await node.runPod('nad-a');
    const before = { net1: addressesIn(node.p.ns, 'net1'), eth0: addressesIn(node.p.ns, 'eth0') };
    expect(await annotate(NS, node.p.name, 'nad-a, nad-bad')).toBe(200);
    await node.until(() => node.eventMessages('NetworkReconcileFailed').length > 0, 'a NetworkReconcileFailed event');
    expect(node.eventMessages('NetworkReconcileFailed')[0]).toContain(`adding net2 (${NS}/nad-bad)`);
    expect(node.links()).toEqual(['eth0', 'net1']);
    expect({ net1: addressesIn(node.p.ns, 'net1'), eth0: addressesIn(node.p.ns, 'eth0') }).toEqual(before);
    expect(hostLocalLeases(node.sb.ipamDir).filter((l) => inSubnet(l.split('/')[1], subnetBad))).toEqual([]);
    const cache = node.cache();
    expect(cache.attachments.map((a: any) => [a.ifname, a.state])).toEqual([['eth0', 'added'], ['net1', 'added']]);
    expect(cache.history.map((h: any) => h.action)).toEqual(['add-failed']);
    ok(await node.run('DEL'));
    expect(hostLocalLeases(node.sb.ipamDir)).toEqual([]);
  });

  it('detaching the NAD that owned the default route gives the cluster network its default route back', async () => {
    const node = new Node();
    node.nad('nad-a');
    const subnetGw = node.nad('nad-gw');
    await node.startAgent();
    await node.runPod(JSON.stringify([{ name: 'nad-a' }, { name: 'nad-gw', 'default-route': [hostOf(subnetGw, 1)] }]));
    const defaults = () => ip('-n', node.p.ns, '-4', 'route', 'show', 'default').trim();
    expect(defaults()).toBe(`default via ${hostOf(subnetGw, 1)} dev net2`);
    expect(await annotate(NS, node.p.name, 'nad-a')).toBe(200);
    await node.until(() => !node.links().includes('net2'), 'net2 is gone');
    await node.until(() => defaults() !== '', 'a default route again');
    expect(defaults()).toMatch(new RegExp(`^default via ${hostOf(node.podSubnet, 1).replace(/\./g, '\\.')} dev eth0( |$)`));
    const eth0 = node.cache().attachments.find((a: any) => a.ifname === 'eth0');
    expect(eth0.result.routes).toContainEqual({ dst: '0.0.0.0/0', gw: hostOf(node.podSubnet, 1) });
    expect(node.cache().displacedRoutes ?? []).toEqual([]);
    await node.until(() => node.status().length === 2, 'network-status drops nad-gw');
    expect(networkStatusOf(api, NS, node.p.name)[0]).toMatchObject({ name: 'podnet', interface: 'eth0', default: true, gateway: [hostOf(node.podSubnet, 1)] });
    ok(await node.run('DEL'));
    expect(hostLocalLeases(node.sb.ipamDir)).toEqual([]);
  });

  it('two quick edits end in the state of the last one', async () => {
    const node = new Node();
    node.nad('nad-a');
    node.nad('nad-b');
    const subnetC = node.nad('nad-c');
    await node.startAgent();
    await node.runPod('nad-a');
    expect(await annotate(NS, node.p.name, 'nad-a, nad-b')).toBe(200);
    expect(await annotate(NS, node.p.name, 'nad-c')).toBe(200);
    await node.until(() => JSON.stringify(node.status()) === JSON.stringify([['podnet', 'eth0'], [`${NS}/nad-c`, 'net1']]), 'network-status shows only nad-c');
    expect(node.links()).toEqual(['eth0', 'net1']);
    expect(inSubnet(addressesIn(node.p.ns, 'net1')[0], subnetC)).toBe(true);
    expect(hostLocalLeases(node.sb.ipamDir)).toHaveLength(2);
    ok(await node.run('DEL'));
    expect(hostLocalLeases(node.sb.ipamDir)).toEqual([]);
  });

  it('a runtime DEL racing a reconcile waits for it and tears down what it added: nothing leaks', async () => {
    const node = new Node();
    node.chainNad('nad-slow', [{ type: 'slow' }]);
    await node.startAgent();
    await node.runPod('');
    expect(await annotate(NS, node.p.name, 'nad-slow')).toBe(200);
    await node.until(() => node.cache()?.attachments.some((a: any) => a.ifname === 'net1' && a.state === 'planned'), 'the reconcile is adding net1');
    ok(await node.run('DEL'));
    expect(node.cache()).toBeUndefined();
    expect(node.links()).toEqual([]);
    expect(hostLocalLeases(node.sb.ipamDir)).toEqual([]);
  });

  it('an agent killed mid-reconcile converges after its restart: no leak, no duplicate interface', async () => {
    const node = new Node();
    const subnetSlow = node.chainNad('nad-slow', [{ type: 'slow' }]);
    const agent = await node.startAgent();
    await node.runPod('');
    expect(await annotate(NS, node.p.name, 'nad-slow')).toBe(200);
    await node.until(() => node.links().includes('net1'), 'macvlan created net1 while the chain still runs');
    agent.signal('SIGKILL');
    await agent.exited;
    expect(node.cache().attachments.find((a: any) => a.ifname === 'net1').state).toBe('planned');
    await node.startAgent();
    await node.until(() => node.cache()?.attachments.find((a: any) => a.ifname === 'net1')?.state === 'added', 'the restarted agent finishes net1', 30_000);
    expect(node.links()).toEqual(['eth0', 'net1']);
    expect(hostLocalLeases(node.sb.ipamDir).filter((l) => inSubnet(l.split('/')[1], subnetSlow))).toHaveLength(1);
    expect(node.cache().history.map((h: any) => h.action)).toEqual(['removed', 'added']);
    ok(await node.run('DEL'));
    expect(node.links()).toEqual([]);
    expect(hostLocalLeases(node.sb.ipamDir)).toEqual([]);
  });

  it('reconciles follow the config file as it is now: namespaceIsolation turned on later refuses another namespace\'s NAD', async () => {
    const node = new Node();
    node.nad('nad-a');
    api.addNad('other-ns', 'foreign', { cniVersion: '1.0.0', type: 'macvlan', master: node.parent, mode: 'bridge', ipam: { type: 'host-local', subnet: nextSubnet(), dataDir: node.sb.ipamDir } });
    const agent = await node.startAgent();
    await node.runPod('nad-a');
    fs.writeFileSync(agent.configFile, JSON.stringify(node.conf({ namespaceIsolation: true })));
    expect(await annotate(NS, node.p.name, 'nad-a, other-ns/foreign')).toBe(200);
    await node.until(() => node.eventMessages('NetworkReconcileFailed').length > 0 || node.links().includes('net2'), 'the reconcile of the edit');
    expect(node.links()).toEqual(['eth0', 'net1']);
    expect(node.eventMessages('NetworkReconcileFailed')[0]).toMatch(/^the networks annotation: namespace isolation enabled.*other-ns/);
    expect(agent.stderr()).toContain('dynamic networks: re-read');
    ok(await node.run('DEL'));
  });

  it('with dynamicNetworks false an edited annotation changes nothing', async () => {
    const node = new Node();
    node.nad('nad-a');
    node.nad('nad-b');
    await node.startAgent({ dynamicNetworks: false });
    await node.runPod('nad-a', { dynamicNetworks: false });
    const status = node.status();
    expect(await annotate(NS, node.p.name, 'nad-b')).toBe(200);
    await new Promise((r) => setTimeout(r, 1500));
    expect(node.links()).toEqual(['eth0', 'net1']);
    expect(node.status()).toEqual(status);
    expect(node.eventMessages('RemovedInterface')).toEqual([]);
    expect(node.cache().history).toBeUndefined();
    ok(await node.run('DEL'));
  });
});
