import { CniError, ErrorCode } from '../cni/errors';
import type { Request } from '../cni/env';
import { parseResult, renderResult, type Result } from '../cni/result';
import type { BraidConfig } from '../config/braid-config';
import { findPlugin } from '../delegate/find';
import { addNetwork } from '../delegate/invoke';
import { log } from '../log';
import { resolveAttachments } from '../resolve/resolve';
import { mergeResults } from '../result/merge';
import { readCache, removeCache, writeCache, type ContainerCache } from '../store/cache';
import { delegateEnv, newCache, pluginDirs, waitForReadiness, withContainerLock, wrapNetworkError } from './common';
import { reportStatus } from './report';
import { teardown } from './teardown';

/** ADD: resolve → plan → cache → delegate in order (rolling back on failure) → merged result in the caller's version. */
export async function add(req: Request, config: BraidConfig): Promise<Record<string, unknown>> {
  await waitForReadiness(config);
  const { plan, pod, api } = await resolveAttachments(req, config);
  // Every plugin must exist before anything runs: a missing one fails the ADD with nothing to undo.
  const dirs = pluginDirs(config, req);
  for (const att of plan) {
    try {
      for (const plugin of att.config.plugins) findPlugin(plugin.type as string, dirs);
    } catch (e) {
      throw wrapNetworkError('adding container to', att, e);
    }
  }
  return withContainerLock(config, req.containerID, async () => {
    const previous = readCache(config.cniDir, req.containerID);
    if (previous.status === 'ok' && previous.cache.attachments.some((a) => a.state !== 'deleted')) {
      throw new CniError(ErrorCode.InvalidConfig, `container ${req.containerID} already has attachments; DEL it before adding again`);
    }
    const cache = newCache(req, config, plan.map((a) => ({ ...a, state: 'planned' })));
    writeCache(config.cniDir, cache); // before any delegate runs: a crash from here on leaves a cache DEL can finish from
    const results: Result[] = [];
    for (const att of cache.attachments) {
      try {
        const result = await addNetwork(att.config, att.runtimeConfig, delegateEnv(req, config, att));
        results.push(parseResult(result, att.config.cniVersion));
        att.result = result;
        att.state = 'added';
        log('verbose', `Add: ${att.network}:${att.ifname} ${JSON.stringify(result)}`);
      } catch (e) {
        const failure = wrapNetworkError('adding container to', att, e);
        await rollBack(req, config, cache, failure);
        throw failure;
      }
    }
    writeCache(config.cniDir, cache);
    // network-status goes to pods that exist, outside systemNamespaces (compared by namespace, unlike Multus #1205).
    if (api && pod?.exists && !config.systemNamespaces.includes(pod.ref.namespace)) {
      try {
        await reportStatus(config, api, pod, cache.attachments);
      } catch (e) {
        // Nothing half-reported: without its status the pod gets no attachments at all.
        const failure = e instanceof CniError ? e : new CniError(ErrorCode.Internal, String(e));
        await rollBack(req, config, cache, failure);
        throw failure;
      }
    }
    const returned = config.resultMode === 'clusterNetwork' ? results[0] : mergeResults(results, config.cniVersion);
    return renderResult(returned, config.cniVersion);
  });
}

// Spec §4 and NAD spec §7.2: DEL the failed attachment and every earlier one, last first
// (all of them when the status write failed after every delegate succeeded).
async function rollBack(req: Request, config: BraidConfig, cache: ContainerCache, failure: CniError): Promise<void> {
  log('error', `${failure.message}; rolling back`);
  const failed = cache.attachments.findIndex((a) => a.state === 'planned');
  const attempted = failed < 0 ? cache.attachments : cache.attachments.slice(0, failed + 1);
  const errors = await teardown(req, config, attempted, req.netns);
  for (const att of cache.attachments.slice(attempted.length)) att.state = 'deleted'; // never started: nothing to undo
  if (errors.length === 0) removeCache(config.cniDir, req.containerID);
  else writeCache(config.cniDir, cache); // the runtime's DEL retries only what is still standing
}
