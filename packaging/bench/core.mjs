// Section 1: start-up and braid's own overhead against the plugins exec'd directly.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { BRAID, check, env, fmt, measure, median, NODE22, PLUGINS, run, table, verdict } from './world.mjs';
import { peakRssMiB } from './usage.mjs';

/** Prints VERSION/ADD/DEL against node's start and the direct plugins, the overhead ratios and peak RSS. */
export async function coreSection(w) {
  console.log('\n### Start-up and overhead (3-network pod: bridge, macvlan, host-device)\n');
  const delegates = [
    w.cluster,
    { cniVersion: '1.0.0', name: 'storage', type: 'macvlan', master: w.links.macvlanA, mode: 'bridge', ipam: w.ipam('10.250.2.0/24') },
    { cniVersion: '1.0.0', name: 'dataplane', type: 'host-device', device: w.links.hostDevice, ipam: { type: 'static', addresses: [{ address: '10.250.3.10/24' }] } },
  ];
  const ifnames = ['eth0', 'net1', 'net2'];
  const conf = w.braidConf({ delegates });
  const directResults = [];
  const core = await measure({
    'node22 -e 0': () => check(spawnSync(NODE22, ['-e', '0'], { env }), 'node'),
    'braid VERSION': () => run(BRAID, { ...env, CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}'),
    'braid ADD (3 networks)': () => run(BRAID, w.cniEnv('ADD', 'eth0'), conf),
    'braid DEL (3 networks)': () => run(BRAID, w.cniEnv('DEL', 'eth0'), conf),
    // As libcni does for ≥ 0.4.0 (and braid from its cache), DEL carries the ADD result as prevResult.
    'direct ADD (3 plugins)': () => delegates.forEach((d, i) => { directResults[i] = JSON.parse(run(path.join(PLUGINS, d.type), w.cniEnv('ADD', ifnames[i]), JSON.stringify(d))); }),
    'direct DEL (3 plugins)': () => [2, 1, 0].forEach((i) => run(path.join(PLUGINS, delegates[i].type), w.cniEnv('DEL', ifnames[i]), JSON.stringify({ ...delegates[i], prevResult: directResults[i] }))),
  });
  table(core);
  const node = median(core['node22 -e 0']);
  const version = median(core['braid VERSION']);
  // Overhead per round (braid − direct, over that round's node start), then the median of the rounds:
  // arms of one round run back to back, so the machine's drift over the run cancels out.
  const overhead = (op) => {
    const [braid, direct, nodes] = [core[`braid ${op} (3 networks)`], core[`direct ${op} (3 plugins)`], core['node22 -e 0']];
    return { ms: median(braid.map((b, i) => b - direct[i])), ratio: median(braid.map((b, i) => (b - direct[i]) / nodes[i])) };
  };
  const addOverhead = overhead('ADD');
  const delOverhead = overhead('DEL');
  console.log('\n| ratio (median over rounds) | value | target |');
  console.log('|---|---|---|');
  console.log(`| braid VERSION / node22 -e 0 | ${(version / node).toFixed(2)}× | ≤ 1.15× (${verdict(version / node <= 1.15)}) |`);
  console.log(`| braid ADD overhead (braid − direct ≈ ${fmt(addOverhead.ms)} ms) / node22 -e 0 | ${addOverhead.ratio.toFixed(2)}× | < 1.5× (${verdict(addOverhead.ratio < 1.5)}) |`);
  console.log(`| braid DEL overhead (braid − direct ≈ ${fmt(delOverhead.ms)} ms) / node22 -e 0 | ${delOverhead.ratio.toFixed(2)}× | < 1.5× (${verdict(delOverhead.ratio < 1.5)}) |`);

  const rss = {
    'node22 -e 0': median([1, 2, 3].map(() => peakRssMiB(NODE22, env, '', ['-e', '0']))),
    'braid VERSION': median([1, 2, 3].map(() => peakRssMiB(BRAID, { ...env, CNI_COMMAND: 'VERSION' }, '{}'))),
    'braid ADD/DEL (3 networks)': median([1, 2, 3].map(() => Math.max(peakRssMiB(BRAID, w.cniEnv('ADD', 'eth0'), conf), peakRssMiB(BRAID, w.cniEnv('DEL', 'eth0'), conf)))),
  };
  console.log('\n| process | peak RSS MiB (median of 3) |');
  console.log('|---|---|');
  for (const [name, v] of Object.entries(rss)) console.log(`| ${name} | ${fmt(v)} |`);
}
