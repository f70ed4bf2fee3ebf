import { spawnSync } from 'node:child_process';
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
}

/** What braid did: exit status, stdout parsed as JSON when possible, stderr. */
export interface BraidOutcome {
  status: number;
  stdout: string;
  stderr: string;
  json: any;
}

/** Runs dist/braid exactly as a runtime does: a fresh environment with CNI_* set and the config on stdin. */
export function runBraid(call: BraidCall): BraidOutcome {
  const env: Record<string, string> = call.rawEnv ?? {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: call.command,
    ...(call.containerID !== undefined ? { CNI_CONTAINERID: call.containerID } : {}),
    ...(call.netns !== undefined ? { CNI_NETNS: call.netns } : {}),
    ...(call.ifname !== undefined ? { CNI_IFNAME: call.ifname } : {}),
    ...(call.args !== undefined ? { CNI_ARGS: call.args } : {}),
    CNI_PATH: call.path ?? `${REFERENCE_PLUGINS}:${FIXTURE_PLUGINS}`,
    ...call.env,
  };
  const input = call.config === undefined ? '' : typeof call.config === 'string' ? call.config : JSON.stringify(call.config);
  const r = spawnSync(BRAID, [], { env, input, encoding: 'utf8', timeout: 120_000 });
  let json: any;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json };
}
