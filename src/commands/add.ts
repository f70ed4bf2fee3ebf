import { asCniError, CniError, ErrorCode } from '../cni/errors';
import type { Request } from '../cni/env';
import { parseResult, renderResult } from '../cni/result';
import type { BraidConfig } from '../config/braid-config';
import { findPlugin } from '../delegate/find';
import { addNetwork, passthroughResult } from '../delegate/invoke';
import { readDeviceInfo, stageDeviceInfo } from '../devices/device-info';
import { log } from '../log';
import { assertIfnameFree } from '../netns/interfaces';
import { defaultRouteChange, resultAfterChange } from '../plan/default-route';
import { undeclaredWarning, type Attachment } from '../plan/plan';
import { resolveAttachments, type Resolution } from '../resolve/resolve';
import { mergeResults } from '../result/merge';
import { effectiveResultMode } from '../result/mode';
import { NETWORKS_ANNOTATION } from '../selection/networks';
import { readCache, removeCache, writeCache, type CachedAttachment, type ContainerCache } from '../store/cache';
import { delegateEnv, newCache, pluginDirs, waitForReadiness, withContainerLock, wrapNetworkError } from './common';
import { reportStatus } from './report';
import { teardown } from './teardown';

/**
 * ADD: resolve → plan → cache → delegate in order (rolling back on failure) → pod-netns fixes →
 * network-status → merged result in the caller's cniVersion.
 */
export async function add(req: Request, config: BraidConfig): Promise<Record<string, unknown>> {
  await waitForReadiness(config);
  const resolution = await resolveAttachments(req, config);
  for (const att of resolution.plan) for (const key of att.undeclared ?? []) log('warning', undeclaredWarning(att.network, key));
  checkPlugins(resolution.plan, pluginDirs(config, req));
  return withContainerLock(config, req.containerID, async () => {
    const previous = readCache(config.cniDir, req.containerID);
    if (previous.status === 'ok' && previous.cache.attachments.some((a) => a.state !== 'deleted')) {
      throw new CniError(ErrorCode.InvalidConfig, `container ${req.containerID} already has attachments; DEL it before adding again`);
    }
    const cache = newCache(req, config, resolution.plan.map((a) => ({ ...a, state: 'planned' })));
    if (resolution.pod?.exists) cache.networks = resolution.pod.annotations[NETWORKS_ANNOTATION] ?? '';
    writeCache(config.cniDir, cache); // before any delegate runs: a crash from here on leaves a cache DEL can finish from
    let started = 0; // attachments whose delegates were invoked: exactly what a rollback must undo
    try {
      for (const att of cache.attachments) {
        // A name already in the netns is refused before the delegate runs, so the rollback leaves that interface alone.
        if (!att.auxiliary) assertIfnameFree(req.netns, att.ifname, att.network); // the auxiliary chain creates no interface
        started++;
        await attach(req, config, att);
      }
      await applyDefaultRoutes(req, cache);
      const rendered = addResult(config, cache, req.args); // may fail (e.g. no IP for a 0.2.0 caller), so before the status write
      await reportToCluster(req, config, cache, resolution);
      writeCache(config.cniDir, cache);
      return rendered;
    } catch (e) {
      // Nothing half-done: a pod whose delegates, routes, status or result failed gets no attachments at all.
      throw await rollBack(req, config, cache, started, asCniError(e));
    }
  });
}

// Every plugin must exist before anything runs: a missing one fails the ADD with nothing to undo.
function checkPlugins(plan: Attachment[], dirs: string[]): void {
  for (const att of plan) {
    try {
      for (const plugin of att.config.plugins) findPlugin(plugin.type as string, dirs);
    } catch (e) {
      throw wrapNetworkError('adding container to', att, e);
    }
  }
}

/** Runs one attachment's delegates (ADD), recording its result and device-info in `att`. */
export async function attach(req: Request, config: BraidConfig, att: CachedAttachment): Promise<void> {
  try {
    if (att.deviceID && att.deviceInfoFile) stageDeviceInfo(config.deviceInfoDir, att.resourceName ?? '', att.deviceID, att.deviceInfoFile);
    // braid is the auxiliary chain's passthru: its plugins start from an empty prevResult.
    const start = att.auxiliary ? passthroughResult(att.config.cniVersion) : undefined;
    const result = await addNetwork(att.config, att.runtimeConfig, delegateEnv(req, config, att), start);
    parseResult(result, att.config.cniVersion); // a result braid cannot read fails this attachment, not a later step
    att.result = result;
    att.state = 'added';
    if (att.deviceID && att.deviceInfoFile) att.deviceInfo = readDeviceInfo(att.deviceInfoFile, att.deviceID, config.pciDevicesDir);
  } catch (e) {
    throw wrapNetworkError('adding container to', att, e);
  }
  log('verbose', `Add: ${att.network}:${att.ifname} ${JSON.stringify(att.result)}`);
}

// After every delegate succeeded: default routes in the netns, results rewritten to match so that CHECK
// and network-status agree with the kernel.
/**
 * Applies a default-route change (by default, what the attachments request) in the netns and rewrites their
 * results to match; the routes it displaced are remembered in the cache, so they can come back when their
 * owner is detached from a running pod.
 */
export async function applyDefaultRoutes(req: Request, cache: ContainerCache, change = defaultRouteChange(cache.attachments)): Promise<void> {
  if (!change) return;
  const routes = await import('../netns/routes');
  const displaced = await routes.applyDefaultRoutes(req.netns, change);
  if (displaced.length > 0) cache.displacedRoutes = [...(cache.displacedRoutes ?? []), ...displaced];
  for (const att of cache.attachments) att.result = resultAfterChange(att, att.result!, change);
}

// The ADD result in the caller's cniVersion: every attachment merged, or the cluster network's alone.
function addResult(config: BraidConfig, cache: ContainerCache, cniArgs: string): Record<string, unknown> {
  const results = cache.attachments.map((a) => parseResult(a.result, a.config.cniVersion));
  const mode = effectiveResultMode(config.resultMode, cniArgs);
  const returned = mode === 'clusterNetwork' ? results[0] : mergeResults(results, config.cniVersion);
  return renderResult(returned, config.cniVersion);
}

// network-status for pods that exist outside systemNamespaces (compared by namespace, unlike Multus #1205).
async function reportToCluster(req: Request, config: BraidConfig, cache: ContainerCache, { pod, status }: Resolution): Promise<void> {
  if (status && pod?.exists && !config.systemNamespaces.includes(pod.ref.namespace)) {
    await reportStatus(config, status, pod, req.netns, cache.attachments);
  }
}

// Spec §4 and NAD spec §7.2: DEL the first `started` attachments (the failed one included), last first.
// Returns the error to throw.
async function rollBack(req: Request, config: BraidConfig, cache: ContainerCache, started: number, failure: CniError): Promise<CniError> {
  log('error', `${failure.message}; rolling back`);
  for (const att of cache.attachments.slice(started)) att.state = 'deleted'; // never started: nothing to undo
  const errors = await teardown(req, config, cache.attachments, req.netns, () => writeCache(config.cniDir, cache));
  if (errors.length === 0) removeCache(config.cniDir, req.containerID);
  else writeCache(config.cniDir, cache); // the runtime's DEL retries only what is still standing
  return failure;
}
