import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { FIXTURE_PLUGINS, REFERENCE_PLUGINS, runBraid, runBraidTool, type BraidOutcome } from './braid';
import { PodSandbox, type TestSubnet } from './host';
import { NETWORKS, POD_ANNOTATIONS } from './k8s';

/**
 * A clusterless node for the operator tools: a braid conflist on disk (bridge cluster network), NAD
 * manifests in a nadDir (macvlan on a host veth, ptp), a pod manifest, and ADD/DEL exactly as containerd
 * runs them: CNI_ARGS with the pod, its annotations in runtimeConfig.
 */
export class PodNode extends PodSandbox {
  readonly bridge = this.sb.linkName('br');
  readonly parent = this.sb.veth('m')[0];
  readonly nadDir = path.join(this.sb.dir, 'nads');
  readonly configFile = path.join(this.sb.confDir, '00-braid.conflist');
  readonly podFile = path.join(this.sb.dir, 'pod.yaml');
  /** CNI_ARGS as containerd sends them for this pod (and as braid plan assumes by default). */
  readonly cniArgs: string;
  private conflist: Record<string, any>;

  constructor(readonly subnets: { pod: TestSubnet; macvlan: TestSubnet; ptp: TestSubnet }, braid: Record<string, unknown> = {}) {
    super('tools', 'tools');
    this.cniArgs = `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${this.name};K8S_POD_INFRA_CONTAINER_ID=${this.containerID};K8S_POD_UID=${this.uid}`;
    fs.mkdirSync(this.nadDir);
    this.nad('macvlan-gw', {
      cniVersion: '1.0.0', type: 'macvlan', master: this.parent, mode: 'bridge', capabilities: { mac: true },
      ipam: { type: 'host-local', subnet: subnets.macvlan.v4, gateway: subnets.macvlan.gw4, dataDir: this.sb.ipamDir },
    });
    this.nad('ptp-b', { cniVersion: '1.0.0', type: 'ptp', ipam: { type: 'host-local', subnet: subnets.ptp.v4, dataDir: this.sb.ipamDir } });
    this.conflist = {
      cniVersion: '1.0.0', name: 'braid-net',
      plugins: [{
        type: 'braid', capabilities: { [POD_ANNOTATIONS]: true }, nadDir: this.nadDir, cniDir: this.sb.cniDir, binDir: REFERENCE_PLUGINS,
        delegates: [{
          cniVersion: '1.0.0', name: 'podnet', type: 'bridge', bridge: this.bridge, isGateway: true,
          ipam: { type: 'host-local', subnet: subnets.pod.v4, dataDir: this.sb.ipamDir, routes: [{ dst: '0.0.0.0/0' }] },
        }],
        ...braid,
      }],
    };
    fs.writeFileSync(this.configFile, JSON.stringify(this.conflist, null, 2));
  }

  /** Writes a NAD manifest (namespace default) into nadDir. */
  nad(name: string, config: Record<string, unknown>): void {
    const manifest = { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name }, spec: { config: JSON.stringify(config) } };
    fs.writeFileSync(path.join(this.nadDir, `${name}.yaml`), yaml.dump(manifest));
  }

  /** Writes the pod manifest with this networks annotation; returns the annotations. */
  pod(networks: unknown): Record<string, string> {
    const annotations = { [NETWORKS]: typeof networks === 'string' ? networks : JSON.stringify(networks) };
    fs.writeFileSync(this.podFile, yaml.dump({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: this.name, namespace: 'default', uid: this.uid, annotations },
      spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
    }));
    return annotations;
  }

  /** The config braid gets on stdin from libcni: the braid plugin with the list's name and cniVersion, runtimeConfig filled. */
  private stdin(annotations: Record<string, string>): Record<string, unknown> {
    return { ...this.conflist.plugins[0], name: this.conflist.name, cniVersion: this.conflist.cniVersion, runtimeConfig: { [POD_ANNOTATIONS]: annotations } };
  }

  /** CNI ADD of this pod, as containerd runs it. */
  add(annotations: Record<string, string>): BraidOutcome {
    return runBraid({ command: 'ADD', containerID: this.containerID, netns: this.netns, ifname: 'eth0', args: this.cniArgs, path: `${REFERENCE_PLUGINS}:${FIXTURE_PLUGINS}`, config: this.stdin(annotations) });
  }

  /** CNI DEL of this pod (no annotations needed: braid works from its cache). */
  del(): BraidOutcome {
    return runBraid({ command: 'DEL', containerID: this.containerID, netns: this.netns, ifname: 'eth0', args: this.cniArgs, path: `${REFERENCE_PLUGINS}:${FIXTURE_PLUGINS}`, config: this.stdin({}) });
  }

  /** Runs a braid subcommand with `--output json` and CNI_PATH set as on the node. */
  tool(args: string[]): BraidOutcome {
    return runBraidTool([...args, '-o', 'json'], { CNI_PATH: `${REFERENCE_PLUGINS}:${FIXTURE_PLUGINS}` });
  }
}
