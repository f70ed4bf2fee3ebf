// npm run bench: whole-process timings of the built executable, side by side in one run, as ratios.
// Arms are alternated run by run so machine noise hits all of them alike. Run as root (netns).
// NODE_EXTRA_CA_CERTS is removed from every child's environment: it triples node 20's start-up.
//   BENCH_RUNS=<n>              runs per arm in sections 1-3 (default 30)
//   BENCH_SECTIONS=<list>       comma-separated subset of core,k8s,features,agent (default all)
//   BENCH_BASELINE=<git rev>    braid build to compare plain-pod ADDs against (default: before SR-IOV/netns work)
//   BENCH_THIN_BASELINE=<rev>   today's thin path, for the agent section (default: before one connection per ADD)
//   BENCH_AGENT_RUNS=<n>        ADDs per arm and latency in the agent section (default 20)
//   BENCH_BURST_PODS=<n>, BENCH_BURST_RUNS=<n>  the concurrent burst (default 100 pods, 2 rounds)
import * as fs from 'node:fs';
import * as os from 'node:os';
import { agentSection } from './bench/agent.mjs';
import { coreSection } from './bench/core.mjs';
import { featuresSection } from './bench/features.mjs';
import { k8sSection } from './bench/k8s.mjs';
import { BRAID, createWorld, RUNS, WARMUP } from './bench/world.mjs';

const SECTIONS = { core: coreSection, k8s: k8sSection, features: featuresSection, agent: agentSection };
const chosen = (process.env.BENCH_SECTIONS ?? Object.keys(SECTIONS).join(',')).split(',').map((s) => s.trim()).filter(Boolean);
for (const s of chosen) if (!SECTIONS[s]) throw new Error(`BENCH_SECTIONS: unknown section ${JSON.stringify(s)} (known: ${Object.keys(SECTIONS).join(', ')})`);
if (!fs.existsSync(BRAID)) throw new Error('dist/braid is missing: npm run build first');

const world = createWorld();
try {
  console.log(`\nbraid bench: ${RUNS} runs per arm after ${WARMUP} warm-ups, arms alternated; ${os.cpus().length} cores; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; NODE_EXTRA_CA_CERTS unset`);
  for (const s of chosen) await SECTIONS[s](world);
  console.log(`\nload average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
} finally {
  world.cleanup();
}
