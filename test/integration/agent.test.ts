import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startAgentProcess, type AgentProcess } from '../helpers/agent';
import type { ApiCall, ApiServer } from '../helpers/apiserver.mjs';
import { runBraidAsync } from '../helpers/braid';
import { braidConf, ok } from '../helpers/cni';
import { hostLocalLeases, hostOf, inSubnet, linksIn, addressesIn, sandbox, v4SubnetAllocator, type Sandbox } from '../helpers/host';
import { NETWORKS, networkStatusOf, useApiServer } from '../helpers/k8s';

// The resident agent end to end: `dist/braid agent` watching the test kube-apiserver (list+watch with
// resourceVersion, bookmarks, 410 Gone), and the real executable exec'd as a runtime does, asking the
// agent over its unix socket, in real netns with the reference plugins.
// Address range of this file: 10.250.20.0/24 … 10.250.35.0/24.

let api: ApiServer;
useApiServer((s) => { api = s; });

const nextSubnet = v4SubnetAllocator(20, 16);
const NS = 'team-ag';

const fromAgent = (c: ApiCall) => (c.userAgent ?? '').startsWith('braid-agent/');
const fromBraid = (c: ApiCall) => !fromAgent(c);
const isPatch = (c: ApiCall) => c.method === 'PATCH';
const isEvent = (c: ApiCall) => c.method === 'POST' && c.path.endsWith('/events');
const isWatch = (c: ApiCall) => /[?&]watch=(1|true)/.test(c.query);

/** Waits (up to 10 s) until `cond` holds. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One node: its name, a kubeconfig, a cluster network (bridge) and a macvlan parent for NADs, the agent's socket. */
class Node {
  readonly sb: Sandbox = sandbox();
  readonly name = `node-${this.sb.id}`;
  readonly kubeconfig = api.kubeconfig(this.sb.dir);
  readonly bridge = this.sb.linkName('br');
  readonly podSubnet = nextSubnet();
  readonly parent = this.sb.veth('m')[0];
  readonly socket = path.join(this.sb.dir, 'run', 'agent.sock');
  agent?: AgentProcess;
  private pods = 0;

  /** braid's config for this node. */
  conf(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return braidConf(this.sb, {
      kubeconfig: this.kubeconfig, agentSocket: this.socket, kubeRequestTimeout: 2, kubeTimeout: 4, logLevel: 'verbose',
      delegates: [{
        cniVersion: '1.0.0', name: 'podnet', type: 'bridge', bridge: this.bridge,
        ipam: { type: 'host-local', subnet: this.podSubnet, dataDir: this.sb.ipamDir, routes: [{ dst: '0.0.0.0/0', gw: hostOf(this.podSubnet, 1) }] },
      }],
      ...extra,
    });
  }

  /** A macvlan+host-local NAD in the API on this node's parent; returns its subnet. */
  nad(name: string, namespace = NS, annotations?: Record<string, string>): string {
    const subnet = nextSubnet();
    api.addNad(namespace, name, { cniVersion: '1.0.0', type: 'macvlan', master: this.parent, mode: 'bridge', ipam: { type: 'host-local', subnet, dataDir: this.sb.ipamDir } }, annotations);
    return subnet;
  }

  /** Starts the agent for this node and waits until its caches are synced and both watches are open. */
  async startAgent(extra: Record<string, unknown> = {}): Promise<AgentProcess> {
    const watches = api.watches.watchLog.length;
    this.agent = await startAgentProcess(this.sb.dir, this.conf(extra), this.name);
    await this.agent.ready();
    await until(() => api.watches.watchLog.length >= watches + 2, 'the agent opens its two watches');
    return this.agent;
  }

  /** A pod on this node (stored in the API unless `create` is false) with its own netns. */
  pod(networks: string, opts: { create?: boolean } = {}) {
    const n = this.pods++;
    const name = `pod-${this.sb.id}-${n}`;
    const netns = this.sb.netns(`p${n}`);
    const uid = opts.create === false ? `uid-${this.sb.id}-${n}`
      : api.addPod({ metadata: { namespace: NS, name, annotations: networks ? { [NETWORKS]: networks } : {} }, spec: { nodeName: this.name, containers: [{ name: 'c', image: 'pause' }] } }).metadata.uid;
    const containerID = `ag-${this.sb.id}-${n}`;
    const args = `IgnoreUnknown=1;K8S_POD_NAMESPACE=${NS};K8S_POD_NAME=${name};K8S_POD_INFRA_CONTAINER_ID=${containerID};K8S_POD_UID=${uid}`;
    return {
      name, netns, ns: path.basename(netns), uid, containerID,
      run: (command: string, config = this.conf()) => runBraidAsync({ command, containerID, netns, ifname: 'eth0', args, config }),
    };
  }
}

describe('braid agent', () => {
  it('serves an ADD: braid itself makes no API request, the agent makes exactly one PATCH plus the events', async () => {
    const node = new Node();
    const subnet = node.nad('nad-a');
    const pod = node.pod('nad-a');
    await node.startAgent();
    api.resetCalls();
    const r = await pod.run('ADD');
    ok(r);
    expect(r.stderr).not.toContain('direct path');
    expect(api.calls.filter(fromBraid)).toEqual([]);
    const agentCalls = api.calls.filter((c) => fromAgent(c) && !isWatch(c));
    expect(agentCalls.filter(isPatch).map((c) => c.path)).toEqual([`/api/v1/namespaces/${NS}/pods/${pod.name}/status`]);
    expect(agentCalls.filter((c) => !isPatch(c) && !isEvent(c))).toEqual([]); // served from the cache: no GET
    expect(agentCalls.filter(isEvent).map((c) => c.body.message).sort()).toEqual([
      expect.stringMatching(/^Add eth0 \[10\.250\.\d+\.\d+\/24\] from podnet$/),
      expect.stringMatching(new RegExp(`^Add net1 \\[10\\.250\\.\\d+\\.\\d+/24\\] from ${NS}/nad-a$`)),
    ]);
    expect(linksIn(pod.ns).sort()).toEqual(['eth0', 'net1']);
    expect(inSubnet(addressesIn(pod.ns, 'net1')[0], subnet)).toBe(true);
    const status = networkStatusOf(api, NS, pod.name);
    expect(status.map((s) => [s.name, s.interface])).toEqual([['podnet', 'eth0'], [`${NS}/nad-a`, 'net1']]);
    ok(await pod.run('DEL'));
    expect(linksIn(pod.ns)).toEqual([]);
    expect(hostLocalLeases(node.sb.ipamDir)).toEqual([]);
  });

  it('takes the direct path when no agent runs on the node, and logs why', async () => {
    const node = new Node();
    node.nad('nad-a');
    const pod = node.pod('nad-a');
    const r = await pod.run('ADD');
    ok(r);
    expect(r.stderr).toContain(`agent: no socket at ${node.socket}; using the direct path`);
    expect(api.calls.filter(fromBraid).filter(isPatch)).toHaveLength(1);
    expect(linksIn(pod.ns).sort()).toEqual(['eth0', 'net1']);
    ok(await pod.run('DEL'));
  });

  it('serves a NAD created a moment before its pod, before its watch event arrived, with a live GET', async () => {
    const node = new Node();
    await node.startAgent();
    api.watches.deliveryDelayMs = 3000; // the watch lags: only a live read can know the new NAD and pod
    onTestFinished(() => { api.watches.deliveryDelayMs = 0; });
    api.resetCalls();
    const subnet = node.nad('late-nad');
    const pod = node.pod('late-nad');
    const r = await pod.run('ADD');
    ok(r);
    expect(r.stderr).not.toContain('direct path');
    expect(api.calls.filter(fromBraid)).toEqual([]);
    const gets = api.calls.filter((c) => fromAgent(c) && c.method === 'GET' && !isWatch(c)).map((c) => c.path).sort();
    expect(gets).toEqual([
      `/api/v1/namespaces/${NS}/pods/${pod.name}`,
      `/apis/k8s.cni.cncf.io/v1/namespaces/${NS}/network-attachment-definitions/late-nad`,
    ]);
    expect(inSubnet(addressesIn(pod.ns, 'net1')[0], subnet)).toBe(true);
    ok(await pod.run('DEL'));
  });
});
