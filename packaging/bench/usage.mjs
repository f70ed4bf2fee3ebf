// CPU, memory and socket facts from /proc: what a process tree costs beyond its wall time.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

// Fields of /proc/<pid>/stat after the command name (which may hold spaces): index 0 is field 3.
function statFields(pid) {
  const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/**
 * CPU ms (user+sys) of this process's children that have been waited for: each exec'd braid with the
 * plugins it waited for, once it exits. In-process test servers are not counted.
 */
export function childrenCpuMs() {
  const f = statFields('self');
  return (Number(f[13]) + Number(f[14])) * TICK_MS;
}

/**
 * CPU ms a running process (every thread) has used so far, the agent's share: from schedstat, in ns,
 * since a few ms per request would vanish in /proc/<pid>/stat's 10 ms ticks.
 */
export function processCpuMs(pid) {
  let ns = 0;
  for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {} // a thread that just exited
  }
  return ns / 1e6;
}

/** A running process's peak RSS so far (VmHWM), in MiB. */
export function processPeakRssMiB(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Peak RSS in MiB of one process tree (`file` and what it waits for), via getrusage(RUSAGE_CHILDREN) in a python wrapper. */
export function peakRssMiB(file, childEnv, input = '', args = []) {
  const wrapper = 'import resource,subprocess,sys\nsubprocess.run(sys.argv[1:],input=sys.stdin.buffer.read(),stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)\nprint(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)';
  const r = spawnSync('python3', ['-c', wrapper, file, ...args], { env: childEnv, input, encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.trim()) / 1024 : NaN;
}

/** Local TCP ports of the sockets `pid` holds open (to tell its API connections from an exec'd braid's). */
export function localPorts(pid) {
  const inodes = new Set();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = fs.readlinkSync(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/);
      if (m) inodes.add(m[1]);
    } catch {}
  }
  const ports = new Set();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && inodes.has(cols[9])) ports.add(parseInt(cols[1].split(':')[1], 16));
    }
  }
  return ports;
}
