// Section 4: the thin path (today's build before its connection work, and this build) against the
// resident agent, for the same 2-NAD pod at 0 and 10 ms of API latency, arms alternated in one run.
import * as path from 'node:path';
import { hasAgent, startBenchAgent } from './agent-process.mjs';
import { buildBaseline } from './baseline.mjs';
import { burstSection } from './burst.mjs';
import { benchKubelet } from './features.mjs';
import { benchApiServer } from './k8s.mjs';
import { childrenCpuMs, localPorts, peakRssMiB, processCpuMs, processPeakRssMiB } from './usage.mjs';
import { BRAID, fmt, median, runAsync, timed, verdict, WARMUP } from './world.mjs';

/** Today's thin path: the last build before one-connection-per-invocation and TLS resumption. */
const THIN_BASELINE = process.env.BENCH_THIN_BASELINE ?? '630a286~1';
const RUNS = Number(process.env.BENCH_AGENT_RUNS ?? 20);
const NODE_NAME = 'bench-node';
const RESOURCE = 'intel.com/sriov_bench';
const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
const podArgs = (name) => `IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=${name};K8S_POD_INFRA_CONTAINER_ID=bench-pod;K8S_POD_UID=uid-${name}`;

// The resourceName variant of the bench pod: nad-a and nad-vf, whose NAD names a device-plugin resource.
function addVfPod(w, api) {
  api.addNad('bench', 'nad-vf', { cniVersion: '1.0.0', type: 'macvlan', master: w.links.macvlanB, mode: 'bridge', ipam: w.ipam('10.250.7.0/24') },
    { 'k8s.v1.cni.cncf.io/resourceName': RESOURCE });
  api.addPod({ metadata: { name: 'pod-vf', namespace: 'bench', uid: 'uid-pod-vf', annotations: { 'k8s.v1.cni.cncf.io/networks': 'nad-a, nad-vf' } }, spec: { nodeName: NODE_NAME, containers: [{ name: 'c', image: 'pause' }] } });
}

/** The arms: braid builds and configs, each with the server it talks to and whether the agent serves it. */
async function makeArms(w) {
  const api = await benchApiServer(w);
  const h1 = await benchApiServer(w, { http1Only: true });
  for (const s of [api, h1]) addVfPod(w, s);
  const kubelet = await benchKubelet(w, RESOURCE, ['pod-1', 'pod-vf']);
  const base = { delegates: [w.cluster], kubeletSocket: kubelet?.socket ?? path.join(w.state, 'kubelet.sock'), deviceInfoDir: path.join(w.state, 'devinfo') };
  const kubeconfig = (s) => s.kubeconfig(w.state, { name: `kubeconfig-${s.port}` });
  // The thin arms point agentSocket at nothing: the fallback, as when no agent runs.
  const thin = (s) => w.braidConf({ ...base, kubeconfig: kubeconfig(s), agentSocket: path.join(w.state, 'no-agent.sock') });
  const arms = [];
  const before = buildBaseline(THIN_BASELINE);
  if (before) arms.push({ name: `thin, before (${THIN_BASELINE})`, key: 'before', braid: before, conf: w.braidConf({ ...base, kubeconfig: kubeconfig(api) }), server: api });
  arms.push({ name: 'thin, this build', key: 'thin', braid: BRAID, conf: thin(api), server: api });
  arms.push({ name: 'thin, this build, HTTP/1.1-only server', key: 'thin-h1', braid: BRAID, conf: thin(h1), server: h1 });
  let agent;
  if (hasAgent()) {
    const agentConf = { ...base, kubeconfig: kubeconfig(api), agentSocket: path.join(w.state, 'agent', 'agent.sock') };
    agent = await startBenchAgent(w, JSON.parse(w.braidConf(agentConf)), NODE_NAME);
    arms.push({ name: 'agent', key: 'agent', braid: BRAID, conf: w.braidConf(agentConf), server: api, agent: true });
  } else {
    console.log('(this build has no `braid agent`: thin arms only)\n');
  }
  return { arms, agent, servers: [api, h1] };
}

// One ADD of `pod` (then its DEL, untimed): wall ms, CPU of braid's tree, the agent's CPU meanwhile,
// and the requests and TLS handshakes of the exec'd process (the agent's own connections told apart by port).
async function addOnce(w, arm, agent, pod) {
  const args = podArgs(pod);
  arm.server.resetCalls();
  const agentCpu0 = agent ? processCpuMs(agent.pid) : 0;
  const cpu0 = childrenCpuMs();
  const ms = await timed(() => runAsync(arm.braid, w.cniEnv('ADD', 'eth0', args), arm.conf));
  const cpu = childrenCpuMs() - cpu0;
  const agentPorts = agent ? localPorts(agent.pid) : new Set();
  const own = arm.server.calls.filter((c) => !agentPorts.has(c.remotePort));
  const conns = arm.server.connections.filter((c) => !agentPorts.has(c.remotePort));
  await runAsync(arm.braid, w.cniEnv('DEL', 'eth0', args), arm.conf);
  // Up to the end of the DEL (which asks the agent nothing), so work the agent finishes after answering counts too.
  const agentCpu = agent && arm.agent ? processCpuMs(agent.pid) - agentCpu0 : 0;
  return { ms, cpu, agentCpu, requests: own.length, handshakes: conns.length, resumed: conns.filter((c) => c.resumed).length };
}

/** Runs every arm for `pods` at `latency`, alternated round by round; returns samples by arm key and pod. */
async function rounds(w, arms, agent, servers, latency, pods) {
  for (const s of servers) s.latencyMs = latency;
  const samples = {};
  for (let i = 0; i < WARMUP + RUNS; i++) {
    for (const arm of arms) {
      for (const pod of pods) {
        const r = await addOnce(w, arm, agent, pod);
        if (i >= WARMUP) (samples[`${arm.key}/${pod}`] ??= []).push(r);
      }
    }
  }
  return samples;
}

const summary = (s) => ({
  wall: median(s.map((x) => x.ms)),
  cpu: mean(s.map((x) => x.cpu)),
  agentCpu: mean(s.map((x) => x.agentCpu)),
  requests: Math.max(...s.map((x) => x.requests)),
  handshakes: Math.max(...s.map((x) => x.handshakes)),
  resumed: Math.min(...s.map((x) => x.resumed)),
});

/** Prints the thin and agent rows side by side at 0 and 10 ms, the resourceName pod's extra cost, the burst and the target verdicts. */
export async function agentSection(w) {
  console.log(`\n### Thin path against the resident agent: the 2-NAD pod (${RUNS} ADDs per arm and latency, events on)\n`);
  const { arms, agent, servers } = await makeArms(w);
  const results = {};
  for (const latency of [0, 10]) results[latency] = await rounds(w, arms, agent, servers, latency, latency === 0 ? ['pod-1', 'pod-vf'] : ['pod-1']);
  for (const s of servers) s.latencyMs = 0;
  const rss = Object.fromEntries(arms.map((arm) => [arm.key, median([1, 2, 3].map(() => {
    const v = peakRssMiB(arm.braid, w.cniEnv('ADD', 'eth0', podArgs('pod-1')), arm.conf);
    peakRssMiB(arm.braid, w.cniEnv('DEL', 'eth0', podArgs('pod-1')), arm.conf);
    return v;
  }))]));
  console.log('| arm | API latency | ADD wall ms (median) | CPU ms per ADD: braid tree | + agent share | total | peak RSS MiB | API requests by the exec\'d braid | its TLS handshakes (resumed) |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  const sum = {};
  for (const latency of [0, 10]) {
    for (const arm of arms) {
      const s = (sum[`${arm.key}@${latency}`] = summary(results[latency][`${arm.key}/pod-1`]));
      console.log(`| ${arm.name} | ${latency} ms | ${fmt(s.wall)} | ${fmt(s.cpu)} | ${arm.agent ? fmt(s.agentCpu) : '–'} | ${fmt(s.cpu + s.agentCpu)} | ${fmt(rss[arm.key])} | ${s.requests} | ${s.handshakes} (${s.resumed}) |`);
    }
  }
  if (agent) console.log(`\nThe agent's own peak RSS: ${fmt(processPeakRssMiB(agent.pid))} MiB.`);
  // The resourceName pod's extra cost: per round, ADD(pod-vf) − ADD(pod-1) of the same arm, then the median.
  console.log('\n| arm | resourceName pod extra ADD wall ms (median of paired differences, 0 ms latency) |');
  console.log('|---|---|');
  const extra = {};
  for (const arm of arms) {
    const [plain, vf] = [results[0][`${arm.key}/pod-1`], results[0][`${arm.key}/pod-vf`]];
    extra[arm.key] = median(vf.map((x, i) => x.ms - plain[i].ms));
    console.log(`| ${arm.name} | ${fmt(extra[arm.key])} |`);
  }
  const burst = await burstSection(w, arms, servers[0], NODE_NAME, agent);
  verdicts(sum, results[10], extra, burst, arms);
}

// Wall ratios are the median of per-round ratios: the arms of a round run back to back, so the
// machine's drift over the run (other work starting and stopping) cancels out.
function verdicts(sum, at10, extra, burst, arms) {
  const has = (k) => arms.some((a) => a.key === k);
  const wallRatio = (a, b) => median(at10[`${a}/pod-1`].map((x, i) => x.ms / at10[`${b}/pod-1`][i].ms));
  const rows = [];
  const ratio = (label, value, target, ok) => rows.push(`| ${label} | ${value} | ${target} (${verdict(ok)}) |`);
  if (has('before')) {
    const r = wallRatio('thin', 'before');
    ratio('thin ADD wall, this build / before (10 ms)', `${r.toFixed(2)}×`, '≤ 0.85×', r <= 0.85);
    rows.push(`| thin CPU per ADD, this build / before (10 ms) | ${(sum['thin@10'].cpu / sum['before@10'].cpu).toFixed(2)}× | (no target) |`);
  }
  if (has('agent') && has('before')) {
    const [b, a] = [sum['before@10'], sum['agent@10']];
    const r = wallRatio('agent', 'before');
    ratio('agent ADD wall / thin before (10 ms)', `${r.toFixed(2)}×`, '≤ 0.7×', r <= 0.7);
    ratio('agent CPU per ADD (tree + agent share) / thin before (10 ms)', `${((a.cpu + a.agentCpu) / b.cpu).toFixed(2)}×`, '≤ 0.5×', (a.cpu + a.agentCpu) / b.cpu <= 0.5);
  }
  if (has('agent')) {
    const a = sum['agent@10'];
    ratio('agent: TLS handshakes / API requests of the exec\'d braid', `${a.handshakes} / ${a.requests}`, '0 / 0', a.handshakes === 0 && a.requests === 0);
    ratio('agent: resourceName pod extra cost', `${fmt(extra.agent)} ms`, '< 20 ms', extra.agent < 20);
    if (burst.before !== undefined) ratio(`burst of ${burst.pods} ADDs, agent / thin before`, `${(burst.agent / burst.before).toFixed(2)}×`, '≤ 0.6×', burst.agent / burst.before <= 0.6);
    if (burst.thin !== undefined) rows.push(`| burst of ${burst.pods} ADDs, agent / thin this build | ${(burst.agent / burst.thin).toFixed(2)}× | (for reference) |`);
  }
  console.log('\n| target (issue 9; wall ratios are medians of per-round ratios) | value | target |');
  console.log('|---|---|---|');
  for (const r of rows) console.log(r);
}
