import { CniError, ErrorCode } from '../cni/errors';
import type { Request } from '../cni/env';
import { parseResult, renderResult } from '../cni/result';
import type { BraidConfig } from '../config/braid-config';
import { findPlugin } from '../delegate/find';
import { addNetwork } from '../delegate/invoke';
import { readDeviceInfo, stageDeviceInfo } from '../devices/device-info';
import { log } from '../log';
import { assertIfnameFree } from '../netns/interfaces';
import { defaultRouteChange, resultAfterChange } from '../plan/default-route';
import type { Attachment } from '../plan/plan';
import { resolveAttachments, type Resolution } from '../resolve/resolve';
import { mergeResults } from '../result/merge';
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
  checkPlugins(resolution.plan, pluginDirs(config, req));
  return withContainerLock(config, req.containerID, async () => {
    const previous = readCache(config.cniDir, req.containerID);
    if (previous.status === 'ok' && previous.cache.attachments.some((a) => a.state !== 'deleted')) {
      throw new CniError(ErrorCode.InvalidConfig, `container ${req.containerID} already has attachments; DEL it before adding again`);
    }
    const cache = newCache(req, config, resolution.plan.map((a) => ({ ...a, state: 'planned' })));
    writeCache(config.cniDir, cache); // before any delegate runs: a crash from here on leaves a cache DEL can finish from
    for (const att of cache.attachments) {
      try {
        await attach(req, config, att);
      } catch (e) {
        throw await rollBack(req, config, cache, wrapNetworkError('adding container to', att, e));
      }
    }
    try {
      await finish(req, config, cache, resolution);
    } catch (e) {
      // Nothing half-done: a pod whose routes or status could not be set gets no attachments at all.
      throw await rollBack(req, config, cache, e instanceof CniError ? e : new CniError(ErrorCode.Internal, String(e)));
    }
    writeCache(config.cniDir, cache);
    const results = cache.attachments.map((a) => parseResult(a.result, a.config.cniVersion));
    const returned = config.resultMode === 'clusterNetwork' ? results[0] : mergeResults(results, config.cniVersion);
    return renderResult(returned, config.cniVersion);
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

async function attach(req: Request, config: BraidConfig, att: CachedAttachment): Promise<void> {
  assertIfnameFree(req.netns, att.ifname, att.network);
  if (att.deviceID && att.deviceInfoFile) stageDeviceInfo(config.deviceInfoDir, att.resourceName ?? '', att.deviceID, att.deviceInfoFile);
  const result = await addNetwork(att.config, att.runtimeConfig, delegateEnv(req, config, att));
  parseResult(result, att.config.cniVersion); // a result braid cannot read fails this attachment, not a later step
  att.result = result;
  att.state = 'added';
  if (att.deviceID && att.deviceInfoFile) att.deviceInfo = readDeviceInfo(att.deviceInfoFile, att.deviceID, config.pciDevicesDir);
  log('verbose', `Add: ${att.network}:${att.ifname} ${JSON.stringify(result)}`);
}

// After every delegate succeeded: default routes in the netns (results rewritten to match, so CHECK and
// status agree with the kernel), then network-status for pods that exist outside systemNamespaces
// (compared by namespace, unlike Multus #1205).
async function finish(req: Request, config: BraidConfig, cache: ContainerCache, { pod, api }: Resolution): Promise<void> {
  const change = defaultRouteChange(cache.attachments);
  if (change) {
    const { applyDefaultRoutes } = await import('../netns/routes');
    await applyDefaultRoutes(req.netns, change);
    for (const att of cache.attachments) att.result = resultAfterChange(att, att.result!, change);
  }
  if (api && pod?.exists && !config.systemNamespaces.includes(pod.ref.namespace)) {
    await reportStatus(config, api, pod, req.netns, cache.attachments);
  }
}

// Spec §4 and NAD spec §7.2: DEL the failed attachment and every earlier one, last first (all of them
// when a step after the delegates failed). Returns the error to throw.
async function rollBack(req: Request, config: BraidConfig, cache: ContainerCache, failure: CniError): Promise<CniError> {
  log('error', `${failure.message}; rolling back`);
  const failed = cache.attachments.findIndex((a) => a.state === 'planned');
  const attempted = failed < 0 ? cache.attachments : cache.attachments.slice(0, failed + 1);
  const errors = await teardown(req, config, attempted, req.netns);
  for (const att of cache.attachments.slice(attempted.length)) att.state = 'deleted'; // never started: nothing to undo
  if (errors.length === 0) removeCache(config.cniDir, req.containerID);
  else writeCache(config.cniDir, cache); // the runtime's DEL retries only what is still standing
  return failure;
}
