import { asCniError, CniError, ErrorCode } from '../cni/errors';
import { convertResult } from '../cni/result';
import { atLeast } from '../cni/version';
import type { NetworkConfig } from '../config/netconf';
import { runPlugin } from './exec';
import { findPlugin } from './find';
import { log, passPluginStderr, type LogFields } from '../log';
import { elapsedMs, startTimer } from '../timing';

/** The CNI_* values and limits delegate calls run with. */
export interface DelegateEnv {
  containerID: string;
  netns: string;
  ifname: string;
  cniArgs: string;
  /** binDir then CNI_PATH: searched for plugins, and passed on as the delegates' CNI_PATH. */
  pluginDirs: string[];
  timeoutMs: number;
}

/** A runtimeConfig filtered to the keys a plugin's `capabilities` enable (libcni rule). */
export function capabilityArgs(plugin: Record<string, unknown>, runtimeConfig: Record<string, unknown>): Record<string, unknown> {
  const caps = (plugin.capabilities ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(runtimeConfig)) {
    if (caps[key] === true) out[key] = value;
  }
  return out;
}

/** The exact JSON one plugin of a list receives: the plugin with the list's name and cniVersion injected. */
export function pluginRequest(
  net: NetworkConfig,
  plugin: Record<string, unknown>,
  runtimeConfig: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, name: net.name, cniVersion: net.cniVersion, ...extra };
  const rc = capabilityArgs(plugin, runtimeConfig);
  if (Object.keys(rc).length > 0) conf.runtimeConfig = rc;
  return conf;
}

function delegateError(type: string, stdout: string, stderr: string): CniError {
  const text = stdout.trim();
  if (text !== '') {
    try {
      const e = JSON.parse(text) as { code?: unknown; msg?: unknown; details?: unknown };
      if (typeof e.code === 'number') {
        return new CniError(e.code, `plugin ${type}: ${String(e.msg ?? '')}`, typeof e.details === 'string' ? e.details : '');
      }
    } catch {
      // not an error object: report the raw output below
    }
  }
  const why = stderr.trim() || text;
  return new CniError(ErrorCode.Internal, why ? `plugin ${type}: netplugin failed: ${JSON.stringify(why)}` : `plugin ${type}: netplugin failed with no error message`);
}

async function invoke(command: string, plugin: Record<string, unknown>, request: Record<string, unknown>, env: DelegateEnv): Promise<string> {
  const type = plugin.type as string;
  const file = findPlugin(type, env.pluginDirs);
  const perOp = command === 'STATUS' || command === 'GC'
    ? { CNI_CONTAINERID: undefined, CNI_NETNS: undefined, CNI_IFNAME: undefined, CNI_ARGS: undefined }
    : { CNI_CONTAINERID: env.containerID, CNI_NETNS: env.netns, CNI_IFNAME: env.ifname, CNI_ARGS: env.cniArgs };
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...perOp, CNI_COMMAND: command, CNI_PATH: env.pluginDirs.join(':') };
  for (const k of Object.keys(perOp)) if (childEnv[k] === undefined) delete childEnv[k];
  const about = (): LogFields => ({ command, plugin: type, network: request.name, ...(childEnv.CNI_IFNAME ? { ifname: env.ifname } : {}) });
  log('debug', 'delegate stdin', () => ({ ...about(), stdin: request })); // redacted by the log
  const started = startTimer();
  let out;
  try {
    out = await runPlugin(file, { env: childEnv, stdin: JSON.stringify(request), timeoutMs: env.timeoutMs });
  } catch (e) {
    // Killed at delegateTimeout, or not runnable: no exit code, but the call and its time are still shown.
    log('verbose', 'delegate call', () => ({ ...about(), exitCode: null, durationMs: elapsedMs(started), error: (e as Error).message }));
    throw e;
  }
  const durationMs = elapsedMs(started);
  log('verbose', 'delegate call', () => ({ ...about(), exitCode: out.exitCode, durationMs }));
  if (out.stderr) passPluginStderr(out.stderr, out.exitCode !== 0, about()); // spec §4: the delegate's stderr goes to ours
  if (out.exitCode !== 0) throw delegateError(type, out.stdout, out.stderr);
  return out.stdout;
}

/** What Multus's passthru plugin prints: an empty result, the prevResult a chain of tuning-like plugins starts from. */
export function passthroughResult(cniVersion: string): Record<string, unknown> {
  return atLeast(cniVersion, '0.3.0') ? { cniVersion, interfaces: [], ips: [], routes: [], dns: {} } : { cniVersion, dns: {} };
}

/**
 * ADD: runs the list's plugins in order, chaining prevResult (starting from `prevResult` when given);
 * returns the final result in the list's cniVersion.
 */
export async function addNetwork(net: NetworkConfig, runtimeConfig: Record<string, unknown>, env: DelegateEnv, prevResult?: Record<string, unknown>): Promise<Record<string, unknown>> {
  let prev = prevResult;
  for (const plugin of net.plugins) {
    const request = pluginRequest(net, plugin, runtimeConfig, prev ? { prevResult: prev } : {});
    const stdout = await invoke('ADD', plugin, request, env);
    let raw: unknown;
    try {
      raw = JSON.parse(stdout);
    } catch {
      throw new CniError(ErrorCode.DecodeFailure, `plugin ${String(plugin.type)}: ADD printed no valid result: ${JSON.stringify(stdout.slice(0, 200))}`);
    }
    prev = convertResult(raw, net.cniVersion, net.cniVersion);
  }
  return prev!;
}

/** DEL: runs the list's plugins in reverse, continuing past failures; throws one error listing them all. */
export async function delNetwork(
  net: NetworkConfig,
  runtimeConfig: Record<string, unknown>,
  env: DelegateEnv,
  cachedResult?: Record<string, unknown>,
): Promise<void> {
  const extra = cachedResult && atLeast(net.cniVersion, '0.4.0') ? { prevResult: convertResult(cachedResult, net.cniVersion, net.cniVersion) } : {};
  const errors: CniError[] = [];
  for (const plugin of [...net.plugins].reverse()) {
    try {
      await invoke('DEL', plugin, pluginRequest(net, plugin, runtimeConfig, extra), env);
    } catch (e) {
      errors.push(asCniError(e));
    }
  }
  if (errors.length > 0) throw joinErrors(errors);
}

/** CHECK: runs the list's plugins in order with the cached result; lists below 0.4.0 or with disableCheck are skipped. */
export async function checkNetwork(
  net: NetworkConfig,
  runtimeConfig: Record<string, unknown>,
  env: DelegateEnv,
  cachedResult: Record<string, unknown>,
): Promise<'checked' | 'skipped'> {
  if (net.disableCheck || !atLeast(net.cniVersion, '0.4.0')) return 'skipped';
  const prevResult = convertResult(cachedResult, net.cniVersion, net.cniVersion);
  for (const plugin of net.plugins) {
    await invoke('CHECK', plugin, pluginRequest(net, plugin, runtimeConfig, { prevResult }), env);
  }
  return 'checked';
}

/** STATUS: asks every plugin of a ≥ 1.1.0 list, stopping at the first failure (libcni). */
export async function statusNetwork(net: NetworkConfig, env: DelegateEnv): Promise<'checked' | 'skipped'> {
  if (!atLeast(net.cniVersion, '1.1.0')) return 'skipped';
  for (const plugin of net.plugins) await invoke('STATUS', plugin, pluginRequest(net, plugin, {}), env);
  return 'checked';
}

/** One attachment a runtime still uses, as GC's `cni.dev/valid-attachments` lists it. */
export interface ValidAttachment { containerID: string; ifname: string }

/** GC: sends the valid attachments to every plugin of a ≥ 1.1.0 list (unless disableGC), continuing past failures. */
export async function gcNetwork(net: NetworkConfig, env: DelegateEnv, valid: ValidAttachment[]): Promise<'collected' | 'skipped'> {
  if (net.disableGC || !atLeast(net.cniVersion, '1.1.0')) return 'skipped';
  const extra = { 'cni.dev/valid-attachments': valid, 'cni.dev/attachments': valid };
  const errors: CniError[] = [];
  for (const plugin of net.plugins) {
    try {
      await invoke('GC', plugin, pluginRequest(net, plugin, {}, extra), env);
    } catch (e) {
      errors.push(asCniError(e));
    }
  }
  if (errors.length > 0) throw joinErrors(errors);
  return 'collected';
}

/** Joins several errors into one: the first one's code, every message. */
export function joinErrors(errors: CniError[]): CniError {
  if (errors.length === 1) return errors[0];
  return new CniError(errors[0].code, errors.map((e) => e.message).join('; '), errors.map((e) => e.details).filter(Boolean).join('; '));
}
