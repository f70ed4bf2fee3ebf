import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REFERENCE_PLUGINS } from './braid';

// Debian's containerd (1.6+) and runc on a private config, socket, root, state and runc root under a
// temp dir. containerd 1.6 still writes a few things to fixed host paths: shim sockets under
// /run/containerd/s and libcni's result cache under /var/lib/cni. It therefore runs in its own mount
// namespace with temp dirs bind-mounted over /run and /var/lib, so the host's containerd state and
// /var/lib/cni are never touched, and every mount it makes (overlay rootfs, netns) dies with it.
// In that namespace /etc and /opt get a throwaway overlay, and the test's CNI dirs are bind-mounted
// at /etc/cni/net.d and /opt/cni/bin: containerd, braid and a DaemonSet-style container see a node's
// layout, while the host's /etc and /opt stay as they are.

const ROOT = path.resolve(__dirname, '../..');
/** The containerd config example the tests load, with {{placeholders}} for private paths. */
export const CONTAINERD_CONFIG_EXAMPLE = path.join(ROOT, 'conf-examples/containerd-config.toml');

/** Makes `dir` a node's CNI bin dir: the reference plugins (symlinked), plus braid when given. */
export function nodeBinDir(dir: string, braid?: string): string {
  fs.mkdirSync(dir);
  for (const p of fs.readdirSync(REFERENCE_PLUGINS)) fs.symlinkSync(path.join(REFERENCE_PLUGINS, p), path.join(dir, p));
  if (braid) fs.copyFileSync(braid, path.join(dir, 'braid'));
  return dir;
}

/** What the private containerd's CRI plugin is configured with. */
export interface ContainerdOptions {
  /** Test dirs that containerd (and what it runs) sees as /opt/cni/bin and /etc/cni/net.d. */
  cniBinDir: string;
  cniConfDir: string;
  /** The CRI plugin's sandbox_image (import it before the first RunPodSandbox). */
  sandboxImage: string;
}

/** A running private containerd; stop() ends every process it started and removes its dirs and cgroups. */
export class Containerd {
  /** Unique per instance: the temp dir's suffix, the ctr namespace and the cgroup parent's name. */
  readonly id = `braid-${Math.random().toString(36).slice(2, 8)}`;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), `${this.id}-ctrd-`));
  readonly socket = path.join(this.dir, 'containerd.sock');
  /** What containerd sees as /var/lib: libcni's result cache is under cni/results here. */
  readonly varLib = path.join(this.dir, 'host-var-lib');
  /** What containerd sees as /run (and /var/run). */
  readonly run = path.join(this.dir, 'host-run');
  /** The CNI dirs containerd sees at /opt/cni/bin and /etc/cni/net.d (set by start()). */
  private cniDirs = { bin: '', conf: '' };
  /** The cgroup parent to give pod sandboxes (LinuxPodSandboxConfig.cgroup_parent), removed on stop(). */
  readonly cgroupParent = `/${this.id}`;
  private child?: ChildProcess;

  private constructor() {}

  /** Starts containerd from the config example and waits until it answers on its socket. */
  static async start(options: ContainerdOptions): Promise<Containerd> {
    const c = new Containerd();
    try {
      await c.boot(options);
    } catch (err) {
      await c.stop();
      throw new Error(`${(err as Error).message}\ncontainerd log:\n${c.log()}`);
    }
    return c;
  }

  private async boot(options: ContainerdOptions): Promise<void> {
    const run = this.run;
    this.cniDirs = { bin: options.cniBinDir, conf: options.cniConfDir };
    const overlays = ['etc-upper', 'etc-work', 'opt-upper', 'opt-work'].map((d) => path.join(this.dir, d));
    for (const d of [run, this.varLib, path.join(this.dir, 'fifo'), ...overlays]) fs.mkdirSync(d, { mode: 0o700 });
    const config = fs.readFileSync(CONTAINERD_CONFIG_EXAMPLE, 'utf8')
      .replaceAll('{{dir}}', this.dir)
      .replaceAll('{{sandbox_image}}', options.sandboxImage)
      .replace('[plugins."io.containerd.grpc.v1.cri"]\n', `$&${lacksSysResource() ? '    restrict_oom_score_adj = true\n' : ''}`);
    if (config.includes('{{')) throw new Error(`unreplaced placeholder in ${CONTAINERD_CONFIG_EXAMPLE}`);
    const configFile = path.join(this.dir, 'config.toml');
    fs.writeFileSync(configFile, config);
    const log = fs.openSync(path.join(this.dir, 'containerd.log'), 'a');
    // unshare execs sh, which execs containerd: the child's PID is containerd's.
    const script = [
      'mount --bind "$1" /run', 'mount --bind "$2" /var/lib',
      'mount -t overlay overlay -o "lowerdir=/etc,upperdir=$4,workdir=$5" /etc',
      'mount -t overlay overlay -o "lowerdir=/opt,upperdir=$6,workdir=$7" /opt',
      'mkdir -p /etc/cni/net.d /opt/cni/bin', 'mount --bind "$8" /etc/cni/net.d', 'mount --bind "$9" /opt/cni/bin',
      'exec containerd --config "$3"',
    ].join(' && ');
    this.child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script,
      'sh', run, this.varLib, configFile, ...overlays, options.cniConfDir, options.cniBinDir], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    const deadline = Date.now() + 30_000;
    while (spawnSync('ctr', ['--address', this.socket, 'version'], { stdio: 'ignore', timeout: 5_000 }).status !== 0) {
      if (this.child.exitCode !== null) throw new Error(`containerd exited with ${this.child.exitCode}`);
      if (Date.now() > deadline) throw new Error('containerd did not answer within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Runs `ctr` against this containerd in `namespace` (default: this instance's own) and returns stdout. */
  ctr(args: string[], namespace = this.id): string {
    return execFileSync('ctr', ['--address', this.socket, '--namespace', namespace, ...args], {
      encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  /**
   * Where a path of the node as containerd sees it (a DaemonSet's hostPath) lives for the test:
   * /opt/cni/bin, /etc/cni/net.d, and anything under /var/lib or /run (/var/run).
   */
  nodePath(p: string): string {
    const rules: Array<[string, string]> = [['/opt/cni/bin', this.cniDirs.bin], ['/etc/cni/net.d', this.cniDirs.conf],
      ['/var/lib', this.varLib], ['/var/run', this.run], ['/run', this.run]];
    for (const [prefix, dir] of rules) if (p === prefix || p.startsWith(`${prefix}/`)) return path.join(dir, p.slice(prefix.length));
    throw new Error(`${p}: not a node path this containerd keeps private`);
  }

  /** ctr's client-side stdio FIFOs go here instead of the host's /run/containerd/fifo. */
  get fifoDir(): string {
    return path.join(this.dir, 'fifo');
  }

  /** containerd's own log so far. */
  log(): string {
    try {
      return fs.readFileSync(path.join(this.dir, 'containerd.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /**
   * Ends every process this containerd started (container inits from the task state dir, shims by
   * the socket address on their command line), then containerd itself, by PID; removes the cgroups
   * under this instance's name and the temp dir. Safe to call on any path, more than once.
   */
  async stop(): Promise<void> {
    const started = [...this.taskPids(), ...pidsNaming(this.socket)];
    for (const pid of started) killPid(pid);
    const child = this.child;
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    // Reaped, and out of their cgroups, before the cgroups go.
    await waitGone([...started, ...pidsNaming(this.socket)]);
    removeCgroups(this.id);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Container init PIDs recorded by the runc shims (init.pid), still running in one of our cgroups. */
  private taskPids(): number[] {
    const tasks = path.join(this.dir, 'state/io.containerd.runtime.v2.task');
    if (!fs.existsSync(tasks)) return [];
    return fs.readdirSync(tasks).flatMap((ns) => fs.readdirSync(path.join(tasks, ns)).map((id) => path.join(tasks, ns, id, 'init.pid')))
      .filter((f) => fs.existsSync(f))
      .map((f) => Number(fs.readFileSync(f, 'utf8').trim()))
      .filter((pid) => pid > 0 && readProc(pid, 'cgroup').includes(this.id));
  }
}

/**
 * True when this process may not lower oom_score_adj (no CAP_SYS_RESOURCE, as in some CI sandboxes).
 * runc would then fail to give the sandbox kubelet's -998; containerd's rootless setting
 * restrict_oom_score_adj clamps it to containerd's own score instead. A real node has the capability.
 */
function lacksSysResource(): boolean {
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
  return (BigInt(`0x${capEff}`) & (1n << 24n)) === 0n;
}

/** The text of /proc/<pid>/<file>, or '' when the process is gone. */
function readProc(pid: number, file: string): string {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, 'latin1');
  } catch {
    return '';
  }
}

/** PIDs whose command line contains `needle` (our private socket path: unique to this instance). */
function pidsNaming(needle: string): number[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number)
    .filter((pid) => pid !== process.pid && readProc(pid, 'cmdline').split('\0').includes(needle));
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch { /* already gone */ }
}

/** Waits (up to 10 s) until none of `pids` exists. */
async function waitGone(pids: number[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (pids.some((pid) => fs.existsSync(`/proc/${pid}`)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

/** Removes /sys/fs/cgroup/<hierarchy>/<name> and everything below it (only empty cgroups can go). */
function removeCgroups(name: string): void {
  const base = '/sys/fs/cgroup';
  const roots = fs.existsSync(path.join(base, 'cgroup.controllers')) ? [base] : fs.readdirSync(base).map((h) => path.join(base, h));
  for (const root of roots) {
    const top = path.join(root, name);
    if (!fs.existsSync(top)) continue;
    const dirs: string[] = [];
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
      dirs.push(d);
    };
    walk(top);
    for (const d of dirs) {
      try {
        fs.rmdirSync(d);
      } catch { /* a process is still in it: reported by the leak check of the test that made it */ }
    }
  }
}
