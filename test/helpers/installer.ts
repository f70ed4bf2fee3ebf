import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { onTestFinished } from 'vitest';
import { BRAID } from './braid';
import type { Sandbox } from './host';

/** A fake host as the DaemonSet's container sees it: <dir>/host/{opt/cni/bin,etc/cni/net.d}, plus a service-account dir. */
export interface FakeHost {
  hostRoot: string;
  binDir: string;
  confDir: string;
  saDir: string;
  readiness: string;
}

/** Creates the fake host's dirs under a sandbox. */
export function fakeHost(sb: Sandbox): FakeHost {
  const hostRoot = path.join(sb.dir, 'host');
  const h = {
    hostRoot,
    binDir: path.join(hostRoot, 'opt/cni/bin'),
    confDir: path.join(hostRoot, 'etc/cni/net.d'),
    saDir: path.join(sb.dir, 'serviceaccount'),
    readiness: path.join(sb.dir, 'run/ready'),
  };
  fs.mkdirSync(h.binDir, { recursive: true });
  fs.mkdirSync(h.confDir, { recursive: true });
  return h;
}

/** A running `braid install`, its stderr collected. */
export interface RunningInstaller {
  child: ChildProcess;
  stderr: () => string;
  /** Sends SIGTERM and resolves to the exit code once it has exited. */
  stop: () => Promise<number | null>;
}

/** Starts `dist/braid install` with the fake host's dirs, a fast poll, `extra` flags and `env`; killed after the test. */
export function startInstaller(h: FakeHost, extra: string[] = [], env: Record<string, string> = {}): RunningInstaller {
  const args = ['install', '--cni-bin-dir', h.binDir, '--cni-conf-dir', h.confDir, '--host-root', h.hostRoot,
    '--service-account-dir', h.saDir, '--readiness-file', h.readiness, '--poll-interval', '0.1', ...extra];
  const child = spawn(BRAID, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  // 'close', not 'exit': by then all of stderr has been read.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  onTestFinished(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  return {
    child,
    stderr: () => stderr,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Polls `check` every 50 ms until it returns true; fails naming `what` (and the installer's log) after 30 s. */
export async function eventually(what: string, check: () => boolean, inst?: RunningInstaller): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${inst ? `\ninstaller log:\n${inst.stderr()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The parsed JSON of a file, or undefined while it is missing or being replaced. */
export function readJson(file: string): any {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}
