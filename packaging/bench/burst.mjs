// A node starting 100 pods at once: every ADD in parallel, 2 NADs each, at 10 ms of API latency.
import { childrenCpuMs, processCpuMs } from './usage.mjs';
import { fmt, median, runAsync, timed } from './world.mjs';

const PODS = Number(process.env.BENCH_BURST_PODS ?? 100);
const ROUNDS = Number(process.env.BENCH_BURST_RUNS ?? 2);

/**
 * Times a burst of PODS concurrent ADDs per arm (the last pod's networks ready), alternating arms over
 * ROUNDS rounds; DELs after each burst are not timed. Returns the median burst ms by arm key, and `pods`.
 */
export async function burstSection(w, arms, api, nodeName, agent) {
  const pods = Array.from({ length: PODS }, (_, i) => {
    const name = `burst-${i}`;
    api.addPod({ metadata: { name, namespace: 'bench', uid: `uid-${name}`, annotations: { 'k8s.v1.cni.cncf.io/networks': 'nad-a, nad-b' } }, spec: { nodeName, containers: [{ name: 'c', image: 'pause' }] } });
    return { name, netns: w.netns(`bb-${process.pid}-${i}`) };
  });
  const burstArms = arms.filter((a) => a.server === api);
  api.latencyMs = 10;
  const samples = Object.fromEntries(burstArms.map((a) => [a.key, []]));
  const cpu = Object.fromEntries(burstArms.map((a) => [a.key, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const arm of burstArms) {
      const call = (command, p) => runAsync(arm.braid, w.cniEnv(command, 'eth0',
        `IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=${p.name};K8S_POD_INFRA_CONTAINER_ID=c-${p.name};K8S_POD_UID=uid-${p.name}`, p.netns, `c-${p.name}`), arm.conf);
      const cpu0 = childrenCpuMs();
      const agentCpu0 = agent && arm.agent ? processCpuMs(agent.pid) : 0;
      samples[arm.key].push(await timed(() => Promise.all(pods.map((p) => call('ADD', p)))));
      const agentCpu = agent && arm.agent ? processCpuMs(agent.pid) - agentCpu0 : 0;
      cpu[arm.key].push((childrenCpuMs() - cpu0 + agentCpu) / PODS);
      await Promise.all(pods.map((p) => call('DEL', p)));
    }
  }
  api.latencyMs = 0;
  console.log(`\n| burst of ${PODS} concurrent 2-NAD pod ADDs, 10 ms API latency (median of ${ROUNDS}) | last pod ready after, ms | CPU ms per ADD (braid trees + agent share) |`);
  console.log('|---|---|---|');
  const out = { pods: PODS };
  for (const arm of burstArms) {
    out[arm.key] = median(samples[arm.key]);
    console.log(`| ${arm.name} | ${fmt(out[arm.key])} | ${fmt(median(cpu[arm.key]))} |`);
  }
  return out;
}
