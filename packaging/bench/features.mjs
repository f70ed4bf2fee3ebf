// Section 3: what plain pods pay for device IDs and netns operations, against a baseline build.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildBaseline } from './baseline.mjs';
import { POD_ARGS } from './k8s.mjs';
import { BRAID, fmt, measure, median, run, runAsync, table, verdict } from './world.mjs';

/** The revision plain-pod ADDs are compared against (before the SR-IOV and netns work). */
const BASELINE = process.env.BENCH_BASELINE ?? '346e416';

/** A dir holding `fast`, a trivial delegate, so arms differ only in what braid itself does. */
export function fastPluginDir(w) {
  const dir = path.join(w.state, 'fastbin');
  if (fs.existsSync(dir)) return dir;
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'fast'), '#!/bin/sh\ncat >/dev/null\n[ "$CNI_COMMAND" = ADD ] && echo "{\\"cniVersion\\":\\"1.0.0\\",\\"interfaces\\":[{\\"name\\":\\"$CNI_IFNAME\\",\\"sandbox\\":\\"$CNI_NETNS\\"}],\\"ips\\":[{\\"interface\\":0,\\"address\\":\\"10.250.6.2/24\\"}]}"\nexit 0\n', { mode: 0o755 });
  return dir;
}

/** Starts the kubelet pod-resources test server (stopped at cleanup) assigning each of `pods` (in bench) one VF of `resource`; undefined without the helper. */
export async function benchKubelet(w, resource, pods = ['pod-1']) {
  const { startKubelet } = await import('../../test/helpers/kubelet.mjs').catch(() => ({}));
  if (!startKubelet) return undefined;
  const kubelet = await startKubelet({
    dir: fs.mkdtempSync(path.join(w.state, 'kubelet-')),
    pods: pods.map((name, i) => ({ name, namespace: 'bench', containers: [{ name: 'c', devices: [{ resourceName: resource, deviceIds: [`0000:03:02.${i + 1}`] }] }] })),
  });
  w.onCleanup(() => kubelet.stop());
  return kubelet;
}

/** Prints plain-pod ADD+DEL against the baseline and the extra cost of resourceName and default-route pods. */
export async function featuresSection(w) {
  console.log('\n### What plain pods pay for device IDs and netns operations\n');
  const baseline = buildBaseline(BASELINE);
  const plainConf = w.braidConf({ delegates: [w.cluster, { cniVersion: '1.0.0', name: 'storage', type: 'macvlan', master: w.links.macvlanA, mode: 'bridge', ipam: w.ipam('10.250.2.0/24') }] });
  const fastDir = fastPluginDir(w);
  const nadDir = path.join(w.state, 'nads');
  fs.mkdirSync(nadDir);
  const nadYaml = (name, extra = '') => `apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\nmetadata:\n  name: ${name}\n  namespace: bench\n${extra}spec:\n  config: '{"cniVersion":"1.0.0","type":"fast"}'\n`;
  fs.writeFileSync(path.join(nadDir, 'plain.yaml'), nadYaml('plain'));
  fs.writeFileSync(path.join(nadDir, 'vf.yaml'), nadYaml('vf', '  annotations:\n    k8s.v1.cni.cncf.io/resourceName: intel.com/sriov_bench\n'));
  const kubelet = await benchKubelet(w, 'intel.com/sriov_bench');
  const podConf = (networks) => w.braidConf({
    binDir: fastDir, delegates: [{ cniVersion: '1.0.0', name: 'cluster', type: 'fast' }], nadDir,
    kubeletSocket: kubelet?.socket ?? path.join(w.state, 'kubelet.sock'), deviceInfoDir: path.join(w.state, 'devinfo'),
    capabilities: { 'io.kubernetes.cri.pod-annotations': true },
    runtimeConfig: { 'io.kubernetes.cri.pod-annotations': { 'k8s.v1.cni.cncf.io/networks': networks } },
  });
  const fastEnv = (command) => ({ ...w.cniEnv(command, 'eth0', POD_ARGS), CNI_PATH: fastDir });
  const plainPod = (braid) => () => { run(braid, w.cniEnv('ADD', 'eth0'), plainConf); run(braid, w.cniEnv('DEL', 'eth0'), plainConf); };
  const nadPod = (networks) => async () => { await runAsync(BRAID, fastEnv('ADD'), podConf(networks)); run(BRAID, fastEnv('DEL'), podConf('plain')); };
  const arms = { 'macvlan-only pod ADD+DEL (this build)': plainPod(BRAID) };
  if (baseline) arms[`macvlan-only pod ADD+DEL (baseline ${BASELINE})`] = plainPod(baseline);
  arms['NAD pod ADD (no resourceName)'] = nadPod('plain');
  if (kubelet) arms['NAD pod ADD (resourceName: kubelet gRPC)'] = nadPod('vf');
  arms['NAD pod ADD (default-route: netlink)'] = nadPod('[{"name":"plain","default-route":[]}]');
  const feat = await measure(arms);
  table(feat);
  const plain = median(feat['macvlan-only pod ADD+DEL (this build)']);
  if (baseline) {
    const before = median(feat[`macvlan-only pod ADD+DEL (baseline ${BASELINE})`]);
    console.log(`\nmacvlan-only pod, this build / baseline: ${(plain / before).toFixed(3)}× (target ≤ 1.05×: ${verdict(plain / before <= 1.05)})`);
  }
  const nadPlain = median(feat['NAD pod ADD (no resourceName)']);
  if (kubelet) console.log(`extra cost of a resourceName pod (gRPC load + pod-resources Get): ${fmt(median(feat['NAD pod ADD (resourceName: kubelet gRPC)']) - nadPlain)} ms`);
  console.log(`extra cost of a default-route pod (netlink load + route changes): ${fmt(median(feat['NAD pod ADD (default-route: netlink)']) - nadPlain)} ms`);
}
