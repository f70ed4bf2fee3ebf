import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runBraid, runBraidAsync, type BraidCall, type BraidOutcome } from './braid';
import { braidConf } from './cni';
import { ip, nsName, sandbox, type Sandbox } from './host';
import { POD_ANNOTATIONS } from './k8s';

/** One pod sandbox on a ClusterlessNode: netns, names, and the CNI_ARGS a runtime sends for it. */
export interface NodePod {
  netns: string;
  /** The netns name, for `ip -n`. */
  ns: string;
  name: string;
  namespace: string;
  containerID: string;
  args: string;
}

/**
 * A node in clusterless mode: NAD manifests in `nadDir`, and the runtime handing braid each pod's
 * annotations through the io.kubernetes.cri.pod-annotations capability, as containerd and CRI-O do.
 */
export class ClusterlessNode {
  readonly sb: Sandbox = sandbox();
  readonly nadDir = path.join(this.sb.dir, 'nads');
  private pods = 0;

  constructor() {
    fs.mkdirSync(this.nadDir);
  }

  /** Writes a NAD manifest (YAML or JSON text, as `kubectl apply` takes it) into nadDir. */
  manifest(file: string, text: string): void {
    fs.writeFileSync(path.join(this.nadDir, file), text);
  }

  /** A new pod sandbox (netns) in `namespace`. */
  pod(namespace = 'default'): NodePod {
    const tag = `p${this.pods++}`;
    const netns = this.sb.netns(tag);
    const name = `pod-${this.sb.id}-${tag}`;
    const containerID = `ctr-${this.sb.id}-${tag}`;
    const args = `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${name};K8S_POD_INFRA_CONTAINER_ID=${containerID};K8S_POD_UID=uid-${tag}`;
    return { netns, ns: nsName(netns), name, namespace, containerID, args };
  }

  /** braid's config for this node: the sandbox's dirs, nadDir, the pod-annotations capability, plus `keys`. */
  conf(keys: Record<string, unknown> = {}): Record<string, unknown> {
    return braidConf(this.sb, { nadDir: this.nadDir, capabilities: { [POD_ANNOTATIONS]: true }, ...keys });
  }

  /** Runs braid for `pod` as the runtime does; `annotations` become runtimeConfig's pod annotations, `env` is added to braid's environment. */
  run(command: string, pod: NodePod, config: Record<string, unknown>, annotations: Record<string, string> = {}, env: Record<string, string> = {}): BraidOutcome {
    return runBraid(this.call(command, pod, config, annotations, env));
  }

  /** run() without blocking the event loop, for tests that serve braid from this process (a kubelet). */
  runAsync(command: string, pod: NodePod, config: Record<string, unknown>, annotations: Record<string, string> = {}, env: Record<string, string> = {}): Promise<BraidOutcome> {
    return runBraidAsync(this.call(command, pod, config, annotations, env));
  }

  private call(command: string, pod: NodePod, config: Record<string, unknown>, annotations: Record<string, string>, env: Record<string, string>): BraidCall {
    const runtimeConfig = { ...((config.runtimeConfig as Record<string, unknown>) ?? {}), [POD_ANNOTATIONS]: annotations };
    return { command, containerID: pod.containerID, netns: pod.netns, ifname: 'eth0', args: pod.args, config: { ...config, runtimeConfig }, env };
  }
}

/** A sysctl's value inside a netns (`net.ipv4.conf.eth0.arp_filter`). */
export function sysctlIn(ns: string, key: string): string {
  return execFileSync('ip', ['netns', 'exec', ns, 'cat', `/proc/sys/${key.replace(/\./g, '/')}`], { encoding: 'utf8' }).trim();
}

/** The IPv4 default route's gateway inside a netns, or undefined. */
export function defaultGateway4(ns: string): string | undefined {
  const routes = JSON.parse(ip('-n', ns, '-j', 'route', 'show', 'default')) as Array<{ gateway?: string }>;
  return routes[0]?.gateway;
}
