import * as path from 'node:path';
import type { ApiCall, ApiServer } from './apiserver.mjs';
import { startAgentProcess, type AgentProcess } from './agent';
import { runBraidAsync, type BraidOutcome } from './braid';
import { braidConf } from './cni';
import { hostOf, sandbox, type Sandbox } from './host';
import { NETWORKS } from './k8s';

/** The namespace of the agent tests' pods and NADs. */
export const AGENT_NS = 'team-ag';

/** True for a request the agent made (its User-Agent is braid-agent/<version>). */
export const fromAgent = (c: ApiCall): boolean => (c.userAgent ?? '').startsWith('braid-agent/');
/** True for a request an exec'd braid made. */
export const fromBraid = (c: ApiCall): boolean => !fromAgent(c);
/** True for a watch request. */
export const isWatch = (c: ApiCall): boolean => /[?&]watch=(1|true)/.test(c.query);

/** Waits (up to `ms`, default 10 s) until `cond` holds. */
export async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One pod of an AgentNode: its sandbox names and a runner for braid. */
export interface NodePod {
  name: string;
  netns: string;
  /** The netns name, for `ip -n`. */
  ns: string;
  uid: string;
  containerID: string;
  run(command: string, config?: Record<string, unknown>, env?: Record<string, string>): Promise<BraidOutcome & { ms: number }>;
}

/**
 * One node of the agent tests: a name, a kubeconfig for `api`, a cluster network (bridge+host-local), a
 * macvlan parent for NADs, and the agent's socket; everything goes with the test's sandbox.
 */
export class AgentNode {
  readonly sb: Sandbox = sandbox();
  readonly name = `node-${this.sb.id}`;
  readonly kubeconfig: string;
  readonly bridge = this.sb.linkName('br');
  readonly podSubnet: string;
  readonly parent = this.sb.veth('m')[0];
  readonly socket = path.join(this.sb.dir, 'run', 'agent.sock');
  agent?: AgentProcess;
  private pods = 0;

  constructor(private readonly api: ApiServer, private readonly nextSubnet: () => string) {
    this.kubeconfig = api.kubeconfig(this.sb.dir);
    this.podSubnet = nextSubnet();
  }

  /** braid's config for this node, plus `extra`. */
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
  nad(name: string, namespace = AGENT_NS, annotations?: Record<string, string>): string {
    const subnet = this.nextSubnet();
    this.api.addNad(namespace, name, { cniVersion: '1.0.0', type: 'macvlan', master: this.parent, mode: 'bridge', ipam: { type: 'host-local', subnet, dataDir: this.sb.ipamDir } }, annotations);
    return subnet;
  }

  /** Starts the agent (config: conf(extra)) and waits until its caches are synced and both watches are open. */
  async startAgent(extra: Record<string, unknown> = {}): Promise<AgentProcess> {
    const watches = this.api.watches.watchLog.length;
    this.agent = await startAgentProcess(this.sb.dir, this.conf(extra), this.name);
    await this.agent.ready();
    await until(() => this.api.watches.watchLog.length >= watches + 2, 'the agent opens its two watches');
    return this.agent;
  }

  /** A pod on this node selecting `networks` (stored in the API unless `create` is false), with its own netns. */
  pod(networks: string, opts: { create?: boolean } = {}): NodePod {
    const n = this.pods++;
    const name = `pod-${this.sb.id}-${n}`;
    const netns = this.sb.netns(`p${n}`);
    const uid = opts.create === false ? `uid-${this.sb.id}-${n}` : this.api.addPod({
      metadata: { namespace: AGENT_NS, name, annotations: networks ? { [NETWORKS]: networks } : {} },
      spec: { nodeName: this.name, containers: [{ name: 'c', image: 'pause' }] },
    }).metadata.uid;
    const containerID = `ag-${this.sb.id}-${n}`;
    const args = `IgnoreUnknown=1;K8S_POD_NAMESPACE=${AGENT_NS};K8S_POD_NAME=${name};K8S_POD_INFRA_CONTAINER_ID=${containerID};K8S_POD_UID=${uid}`;
    return {
      name, netns, ns: path.basename(netns), uid, containerID,
      run: (command, config = this.conf(), env = {}) => runBraidAsync({ command, containerID, netns, ifname: 'eth0', args, config, env }),
    };
  }
}
