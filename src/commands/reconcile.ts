import fs = require('node:fs');
import { asCniError } from '../cni/errors';
import { ipFamily } from '../cni/ip';
import type { Request } from '../cni/env';
import type { BraidConfig } from '../config/braid-config';
import { log } from '../log';
import { assertIfnameFree } from '../netns/interfaces';
import { attachmentKey, diffNetworks } from '../plan/dynamic';
import { buildPlan, type Attachment } from '../plan/plan';
import { POD_ANNOTATIONS_CAPABILITY, resolveInputs, type PodContext } from '../resolve/resolve';
import { NETWORKS_ANNOTATION } from '../selection/networks';
import type { InputSource } from '../resolve/source';
import type { StatusWriter } from '../k8s/status-writer';
import { readCache, runtimeArgs, writeCache, type CachedAttachment, type ContainerCache, type HistoryEntry } from '../store/cache';
import { applyDefaultRoutes, attach } from './add';
import { withContainerLock, wrapNetworkError } from './common';
import { reportStatus, type PodEvent } from './report';
import { teardown } from './teardown';

/** A running pod as the agent's watch sees it. */
export interface WatchedPod {
  namespace: string;
  name: string;
  uid: string;
  annotations: Record<string, string>;
}

/** What one reconcile did: "network ifname" keys per outcome, or why it did nothing. */
export interface ReconcileOutcome {
  containerID: string;
  removed: string[];
  added: string[];
  failed: string[];
  skipped?: string;
}

const HISTORY_LIMIT = 50;

/**
 * Brings a running pod's secondary networks in line with its current networks annotation, under the
 * container's lock: DELs what it no longer selects (last first), then ADDs what is new, writing the
 * cache after every step so the runtime's DEL or the next reconcile can finish from any crash. A new
 * attachment that fails is rolled back alone. Then one network-status write and the events. `source` is
 * where the inputs come from (the agent passes its own caches); by default, as for ADD.
 */
export async function reconcile(config: BraidConfig, containerID: string, pod: WatchedPod, source?: InputSource): Promise<ReconcileOutcome> {
  return withContainerLock(config, containerID, async () => {
    const outcome: ReconcileOutcome = { containerID, removed: [], added: [], failed: [] };
    const read = readCache(config.cniDir, containerID);
    if (read.status !== 'ok') return { ...outcome, skipped: `no intact cache (${read.status})` };
    const cache = read.cache;
    if (!cache.netns || !fs.existsSync(cache.netns)) return { ...outcome, skipped: `netns ${cache.netns || '(none)'} is gone` };
    const req: Request = { command: 'ADD', containerID, netns: cache.netns, ifname: cache.ifname, args: runtimeArgs(cache), path: cache.path ?? [] };
    const context: PodContext = { ref: { namespace: pod.namespace, name: pod.name, uid: pod.uid, infraContainerID: '' }, annotations: pod.annotations, exists: true, uid: pod.uid };
    const report = async (writer: StatusWriter | undefined, events: PodEvent[]): Promise<void> => {
      if (writer && !config.systemNamespaces.includes(pod.namespace)) {
        await reportStatus(config, writer, context, cache.netns, cache.attachments.filter((a) => a.state === 'added'), events);
      }
    };
    let change: Change;
    try {
      change = await planChange(req, config, cache, pod, source);
    } catch (e) {
      // Nothing changes (a bad element, a missing NAD, isolation): the pod keeps what it has, and is told why.
      await report(source?.status, [failed('the networks annotation', asCniError(e).message)]).catch(() => undefined);
      throw e;
    }
    const { status, removed, toAdd } = change;
    const applied = pod.annotations[NETWORKS_ANNOTATION] ?? '';
    if (removed.length === 0 && toAdd.length === 0) {
      if (cache.networks !== applied) writeCache(config.cniDir, { ...cache, networks: applied });
      return outcome;
    }
    const events: PodEvent[] = [];
    const save = (): void => writeCache(config.cniDir, cache);
    await removeAttachments(req, config, cache, removed, outcome, events, save);
    await restoreDisplacedRoutes(req, cache, removed, toAdd).catch((e) => events.push(failed('restoring the default route', asCniError(e).message)));
    for (const att of toAdd) await addAttachment(req, config, cache, att, outcome, events, save);
    if (outcome.added.length > 0 && toAdd.some((a) => a.defaultRoute)) {
      await applyDefaultRoutes(req, cache).catch((e) => events.push(failed('default-route', asCniError(e).message)));
    }
    if (outcome.failed.length === 0) cache.networks = applied; // else the periodic resync tries again
    save();
    await report(status, events);
    return outcome;
  });
}

/** What a reconcile must do, and where its status goes. */
interface Change { status?: StatusWriter; removed: CachedAttachment[]; toAdd: Attachment[] }

// The new selection resolved exactly as ADD resolves it, the watched pod's annotations standing in for the
// runtime's, and diffed against the cache.
async function planChange(req: Request, config: BraidConfig, cache: ContainerCache, pod: WatchedPod, source?: InputSource): Promise<Change> {
  const podConfig: BraidConfig = { ...config, cniVersion: cache.cniVersion, runtimeConfig: { [POD_ANNOTATIONS_CAPABILITY]: pod.annotations } };
  const { input, status } = await resolveInputs(req, podConfig, source ? { source } : {});
  const diff = diffNetworks(cache.attachments, input);
  const toAdd = buildPlan(diff.input).filter((a) => !a.clusterNetwork && !diff.kept.has(attachmentKey(a)));
  return { status, removed: diff.removed, toAdd };
}

// A detached default-route owner takes its route along: the routes it had displaced come back (on the
// interfaces still there), unless another attachment owns that family now.
async function restoreDisplacedRoutes(req: Request, cache: ContainerCache, removed: CachedAttachment[], toAdd: Attachment[]): Promise<void> {
  const families = (atts: Array<Pick<Attachment, 'defaultRoute'>>) => new Set(atts.flatMap((a) => (a.defaultRoute ?? []).map(ipFamily)));
  const owned = families([...cache.attachments, ...toAdd]);
  const orphaned = [...families(removed.filter((a) => a.state === 'deleted'))].filter((f) => !owned.has(f));
  if (orphaned.length === 0) return;
  const present = new Set(cache.attachments.map((a) => a.ifname));
  const back = (cache.displacedRoutes ?? []).filter((r) => orphaned.includes(ipFamily(r.gateway)) && present.has(r.ifname));
  cache.displacedRoutes = (cache.displacedRoutes ?? []).filter((r) => !orphaned.includes(ipFamily(r.gateway)));
  if (back.length > 0) await applyDefaultRoutes(req, cache, { owners: back, cleared: [] });
}

function failed(what: string, message: string): PodEvent {
  return { reason: 'NetworkReconcileFailed', message: `${what}: ${message}`, type: 'Warning' };
}

function record(cache: ContainerCache, entry: Omit<HistoryEntry, 'time'>): void {
  cache.history = [...(cache.history ?? []), { time: new Date().toISOString(), ...entry }].slice(-HISTORY_LIMIT);
}

// DEL last first; what failed stays cached as it was, for the runtime's DEL or the next reconcile.
async function removeAttachments(
  req: Request, config: BraidConfig, cache: ContainerCache, removed: CachedAttachment[], outcome: ReconcileOutcome, events: PodEvent[], save: () => void,
): Promise<void> {
  if (removed.length === 0) return;
  const errors = await teardown(req, config, removed, req.netns, save);
  for (const att of [...removed].reverse()) {
    const key = attachmentKey(att);
    if (att.state === 'deleted') {
      outcome.removed.push(key);
      record(cache, { action: 'removed', network: att.network, ifname: att.ifname });
      events.push({ reason: 'RemovedInterface', message: `Remove ${att.ifname} from ${att.network}` });
    } else {
      const error = errors.find((e) => e.message.includes(`(${att.ifname})`))?.message ?? 'DEL failed';
      outcome.failed.push(key);
      record(cache, { action: 'remove-failed', network: att.network, ifname: att.ifname, error });
      events.push(failed(`removing ${att.ifname} (${att.network})`, error));
    }
  }
  cache.attachments = cache.attachments.filter((a) => a.state !== 'deleted');
  save();
}

// One new attachment: cached as planned before its delegates run; on failure undone alone.
async function addAttachment(
  req: Request, config: BraidConfig, cache: ContainerCache, planned: Attachment, outcome: ReconcileOutcome, events: PodEvent[], save: () => void,
): Promise<void> {
  const att: CachedAttachment = { ...planned, state: 'planned' };
  const key = attachmentKey(att);
  try {
    if (att.resourceName) {
      // The kubelet assigns devices when it admits the pod; a running pod has none spare to give.
      throw wrapNetworkError('adding container to', att, new Error(`a network with a resourceName (${att.resourceName}) cannot be attached to a running pod; recreate the pod`));
    }
    if (cache.attachments.some((a) => a.ifname === att.ifname)) {
      throw wrapNetworkError('adding container to', att, new Error(`interface name ${att.ifname} is still held by an attachment braid could not remove`));
    }
    assertIfnameFree(req.netns, att.ifname, att.network);
  } catch (e) {
    outcome.failed.push(key);
    record(cache, { action: 'add-failed', network: att.network, ifname: att.ifname, error: asCniError(e).message });
    events.push(failed(`adding ${att.ifname} (${att.network})`, asCniError(e).message));
    return;
  }
  cache.attachments.push(att);
  save();
  try {
    await attach(req, config, att);
    save();
    outcome.added.push(key);
    record(cache, { action: 'added', network: att.network, ifname: att.ifname });
    const ips = ((att.result?.ips ?? []) as Array<{ address: string }>).map((ip) => ip.address).join(',');
    events.push({ reason: 'AddedInterface', message: `Add ${att.ifname} [${ips}] from ${att.network}` });
  } catch (e) {
    const error = asCniError(e).message;
    log('error', `${error}; rolling back ${att.ifname} alone`);
    const undo = await teardown(req, config, [att], req.netns);
    if (undo.length === 0) cache.attachments = cache.attachments.filter((a) => a !== att);
    outcome.failed.push(key);
    record(cache, { action: 'add-failed', network: att.network, ifname: att.ifname, error });
    events.push(failed(`adding ${att.ifname} (${att.network})`, error));
    save();
  }
}
