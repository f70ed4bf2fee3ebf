import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { REFERENCE_PLUGINS, runBraid, type BraidOutcome } from '../helpers/braid';
import { braidConf, failed, ok } from '../helpers/cni';
import { addressesIn, hostLocalLeases, linksIn, PodSandbox } from '../helpers/host';

// One bad manifest in nadDir fails only the pods that select a NAD it holds, naming the file; every
// other pod on the node still gets its networks. Real bridge (eth0) and macvlan (net1) in real netns.
// Addresses: 10.250.237.0/24 - 10.250.238.0/24.

const ANNOTATIONS = 'io.kubernetes.cri.pod-annotations';
let pod: PodSandbox;
let nadDir: string;
let parent: string;

beforeEach(() => {
  pod = new PodSandbox('naddir', 'ctr-naddir');
  [parent] = pod.sb.veth('m');
  nadDir = path.join(pod.sb.dir, 'nads');
  fs.mkdirSync(nadDir);
  fs.writeFileSync(path.join(nadDir, 'a-good.yaml'), `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: good
spec:
  config: '{"cniVersion": "1.0.0", "type": "macvlan", "master": "${parent}", "mode": "bridge", "ipam": {"type": "host-local", "subnet": "10.250.238.0/24", "dataDir": "${pod.sb.ipamDir}"}}'
`);
  // A stray tab in the indentation: not YAML.
  fs.writeFileSync(path.join(nadDir, 'b-broken.yaml'), 'apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\nmetadata:\n\tname: broken\nspec:\n  config: "{}"\n');
});

/** ADD or DEL of the pod, whose networks annotation (through the pod-annotations capability) is `networks`. */
function call(command: 'ADD' | 'DEL', networks: string): BraidOutcome {
  const config = braidConf(pod.sb, {
    binDir: REFERENCE_PLUGINS, nadDir,
    capabilities: { [ANNOTATIONS]: true },
    runtimeConfig: { [ANNOTATIONS]: { 'k8s.v1.cni.cncf.io/networks': networks } },
    delegates: [{
      cniVersion: '1.0.0', name: 'podnet', type: 'bridge', bridge: pod.sb.linkName('br'),
      ipam: { type: 'host-local', subnet: '10.250.237.0/24', dataDir: pod.sb.ipamDir },
    }],
  });
  return runBraid({
    command, containerID: pod.containerID, netns: pod.netns, ifname: 'eth0', path: REFERENCE_PLUGINS, config,
    args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod.name}`,
  });
}

describe('a manifest in nadDir that is not valid YAML', () => {
  it('does not stop a pod selecting another NAD: eth0 and net1 are attached', () => {
    ok(call('ADD', 'good'));
    expect(linksIn(pod.ns).sort()).toEqual(['eth0', 'net1']);
    expect(addressesIn(pod.ns, 'net1')).toEqual([expect.stringMatching(/^10\.250\.238\.\d+\/24$/)]);
    ok(call('DEL', 'good'));
    expect(linksIn(pod.ns)).toEqual([]);
    expect(hostLocalLeases(pod.sb.ipamDir)).toEqual([]);
  });

  it('fails a pod selecting a NAD it holds with code 6 naming the file, before anything is attached', () => {
    const msg = failed(call('ADD', 'good, broken'), 6);
    expect(msg).toContain('NetworkAttachmentDefinition default/broken');
    expect(msg).toContain(`nadDir manifest ${path.join(nadDir, 'b-broken.yaml')} cannot be parsed`);
    expect(linksIn(pod.ns)).toEqual([]);
    expect(hostLocalLeases(pod.sb.ipamDir)).toEqual([]);
    expect(pod.sb.cacheFiles()).toEqual([]);
  });

  it('still reports a NAD that no manifest mentions as not found (code 7), not as the bad file', () => {
    const msg = failed(call('ADD', 'missing'), 7);
    expect(msg).toContain('default/missing not found');
    expect(msg).not.toContain('b-broken.yaml');
    expect(linksIn(pod.ns)).toEqual([]);
  });
});
