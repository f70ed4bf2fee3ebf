import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';

/** The built executable under test (npm test builds it first). */
export const BRAID = path.resolve(__dirname, '../../dist/braid');
/** Debian's reference plugins. */
export const REFERENCE_PLUGINS = '/usr/lib/cni';
/** Test-only plugins (fake). */
export const FIXTURE_PLUGINS = path.resolve(__dirname, '../fixtures/plugins');

/** How to call braid: the CNI_* values, the config on stdin and any extra environment. */
export interface BraidCall {
  command: string;
  containerID?: string;
  netns?: string;
  ifname?: string;
  args?: string;
  path?: string;
  /** Object configs are JSON-encoded; strings are sent as they are. */
  config?: unknown;
  env?: Record<string, string>;
  /** Replace the whole environment instead of setting CNI_* from the fields above. */
  rawEnv?: Record<string, string>;
  /**
   * Run braid (and so its delegates) in this netns (a name) instead of the host's: what a delegate does
   * to the host side, such as portmap's iptables chains, then stays in a netns the test deletes.
   */
  hostNetns?: string;
}

/** What braid did: exit status, stdout parsed as JSON when possible, stderr. */
export interface BraidOutcome {
  status: number;
  stdout: string;
  stderr: string;
  json: any;
}

/** The environment a runtime gives braid for `call`: a fresh one with CNI_* set, or `call.rawEnv` as it is. */
function braidEnv(call: BraidCall): Record<string, string> {
  return call.rawEnv ?? {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: call.command,
    ...(call.containerID !== undefined ? { CNI_CONTAINERID: call.containerID } : {}),
    ...(call.netns !== undefined ? { CNI_NETNS: call.netns } : {}),
    ...(call.ifname !== undefined ? { CNI_IFNAME: call.ifname } : {}),
    ...(call.args !== undefined ? { CNI_ARGS: call.args } : {}),
    CNI_PATH: call.path ?? `${REFERENCE_PLUGINS}:${FIXTURE_PLUGINS}`,
    ...call.env,
  };
}

/** What braid gets on stdin for `call`: nothing, the config string as it is, or the config JSON-encoded. */
function braidInput(call: BraidCall): string {
  return call.config === undefined ? '' : typeof call.config === 'string' ? call.config : JSON.stringify(call.config);
}

/** A process's stdout parsed as one JSON document, or undefined when it is not one. */
export function parseJson(stdout: string): any {
  try {
    return JSON.parse(stdout);
  } catch {
    return undefined;
  }
}

// The executable and arguments that start braid for `call`: braid itself, or braid under `ip netns exec`.
function braidCommand(call: BraidCall): [string, string[]] {
  return call.hostNetns ? ['ip', ['netns', 'exec', call.hostNetns, BRAID]] : [BRAID, []];
}

/** Runs dist/braid exactly as a runtime does: a fresh environment with CNI_* set and the config on stdin. */
export function runBraid(call: BraidCall): BraidOutcome {
  const [file, args] = braidCommand(call);
  const r = spawnSync(file, args, { env: braidEnv(call), input: braidInput(call), encoding: 'utf8', timeout: 120_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json: parseJson(r.stdout) };
}

/** runBraid without blocking the event loop (test servers in this process, racing braids), timed; kills braid after 90 s. */
export function runBraidAsync(call: BraidCall): Promise<BraidOutcome & { ms: number }> {
  const env = braidEnv(call);
  const input = braidInput(call);
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const [file, args] = braidCommand(call);
    const child = spawn(file, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.stdin.on('error', () => { /* braid may exit before reading everything */ });
    child.on('error', (e) => { clearTimeout(killer); reject(e); });
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ status: code ?? -1, stdout, stderr, json: parseJson(stdout), ms: Date.now() - start });
    });
    child.stdin.end(input);
  });
}

/** Runs dist/braid as an operator does at a shell: arguments, no CNI_* variables (unless `env` sets them). */
export function runBraidTool(args: string[], env: Record<string, string> = {}, input = ''): BraidOutcome {
  const r = spawnSync(BRAID, args, {
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env }, input, encoding: 'utf8', timeout: 120_000,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json: parseJson(r.stdout) };
}
