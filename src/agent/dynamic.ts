import fs = require('node:fs');
import { loadBraidConfigFile } from '../cli/config-file';
import { reconcile, type ReconcileOutcome } from '../commands/reconcile';
import { runDelegatesAsynchronously } from '../delegate/exec';
import type { BraidConfig } from '../config/braid-config';
import { podFromCniArgs, type PodObject } from '../k8s/pod';
import { log } from '../log';
import type { InputSource } from '../resolve/source';
import { NETWORKS_ANNOTATION } from '../selection/networks';
import { listCachedContainers, readCache, runtimeArgs, type ContainerCache } from '../store/cache';
import type { Lister } from './store';

/** The dynamic-networks loop of a running agent. */
export interface DynamicNetworks {
  /** Waits for the reconciles in flight, then stops. */
  stop(): Promise<void>;
}

/** How often every pod on the node is checked again (failed attachments are retried then). */
export const RESYNC_MS = 60_000;

/** A running container of a pod, with the pod UID its ADD was given. */
interface PodContainer { cache: ContainerCache; uid: string }

// The running containers braid attached, by pod (namespace/name): caches whose CNI_ARGS name a pod and
// whose sandbox netns still exists.
function indexCaches(cniDir: string): Map<string, PodContainer[]> {
  const byPod = new Map<string, PodContainer[]>();
  for (const id of listCachedContainers(cniDir)) {
    const read = readCache(cniDir, id);
    if (read.status !== 'ok' || !read.cache.netns || !fs.existsSync(read.cache.netns)) continue;
    const ref = podFromCniArgs(runtimeArgs(read.cache));
    if (!ref) continue;
    const key = `${ref.namespace}/${ref.name}`;
    byPod.set(key, [...(byPod.get(key) ?? []), { cache: read.cache, uid: ref.uid }]);
  }
  return byPod;
}

// Nothing to do when the cache was planned from this very annotation and holds no half-added attachment.
function upToDate(cache: ContainerCache, pod: PodObject): boolean {
  return cache.networks === (pod.metadata.annotations?.[NETWORKS_ANNOTATION] ?? '') && cache.attachments.every((a) => a.state !== 'planned');
}

function describe(pod: PodObject, o: ReconcileOutcome): string {
  const parts = [
    o.removed.length > 0 ? `removed ${o.removed.join(', ')}` : '',
    o.added.length > 0 ? `added ${o.added.join(', ')}` : '',
    o.failed.length > 0 ? `FAILED ${o.failed.join(', ')}` : '',
  ].filter(Boolean);
  return `dynamic networks: pod ${pod.metadata.namespace}/${pod.metadata.name} container ${o.containerID.slice(0, 12)}: ${parts.join('; ') || 'no change'}`;
}

/**
 * Reconciles the secondary networks of this node's running pods whenever their networks annotation
 * changes, on start-up (the cache tells what changed while the agent was down) and every RESYNC_MS.
 * One pod is reconciled at a time per pod; an edit during a reconcile is reconciled again afterwards.
 */
export function startDynamicNetworks(currentConfig: () => BraidConfig, pods: Lister<PodObject>, source: InputSource, resyncMs = RESYNC_MS): DynamicNetworks {
  runDelegatesAsynchronously(); // the agent keeps answering ADDs while a reconcile's delegate runs
  const queue = new Map<string, { dirty: boolean; since: number; done: Promise<void> }>();
  // One scan of cniDir serves every pod queued before it (a resync reads each cache once, not once per pod).
  let index: { at: number; byPod: Map<string, PodContainer[]> } | undefined;
  const containersOf = (key: string, since: number): PodContainer[] => {
    if (!index || index.at < since) index = { at: Date.now(), byPod: indexCaches(currentConfig().cniDir) };
    return index.byPod.get(key) ?? [];
  };
  const run = async (key: string): Promise<void> => {
    const entry = queue.get(key)!;
    while (entry.dirty) {
      entry.dirty = false;
      const since = entry.since;
      const [namespace, name] = key.split('/');
      const pod = pods.get(namespace, name);
      if (!pod) break;
      const uid = pod.metadata.uid ?? '';
      // A cache of a pod recreated under the same name (another UID) is not this pod's.
      const mine = containersOf(key, since).filter((c) => !uid || !c.uid || c.uid === uid).map((c) => c.cache);
      for (const cache of mine.filter((c) => !upToDate(c, pod))) {
        try {
          const outcome = await reconcile(currentConfig(), cache.containerID, {
            namespace, name, uid: pod.metadata.uid ?? '', annotations: pod.metadata.annotations ?? {},
          }, source);
          if (!outcome.skipped) log(outcome.failed.length > 0 ? 'error' : 'verbose', describe(pod, outcome), { pod: key, container: cache.containerID });
        } catch (e) {
          log('error', `dynamic networks: pod ${key} container ${cache.containerID.slice(0, 12)}: ${(e as Error).message}`, { pod: key, container: cache.containerID });
        }
      }
    }
    queue.delete(key);
  };
  const enqueue = (pod: PodObject): void => {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const entry = queue.get(key);
    if (entry) {
      entry.dirty = true;
      entry.since = Date.now();
      return;
    }
    const fresh = { dirty: true, since: Date.now(), done: Promise.resolve() };
    queue.set(key, fresh);
    fresh.done = run(key);
  };
  const unsubscribe = pods.subscribe((ev) => {
    if (ev.type === 'deleted') return; // the runtime's DEL tears it down
    const before = ev.old?.metadata.annotations?.[NETWORKS_ANNOTATION];
    if (ev.type === 'added' || before !== ev.object.metadata.annotations?.[NETWORKS_ANNOTATION]) enqueue(ev.object);
  });
  for (const pod of pods.list()) enqueue(pod);
  const timer = setInterval(() => { for (const pod of pods.list()) enqueue(pod); }, resyncMs);
  timer.unref();
  return {
    async stop() {
      unsubscribe();
      clearInterval(timer);
      await Promise.allSettled([...queue.values()].map((e) => e.done));
    },
  };
}

/**
 * The agent's config as it is now: re-read when its file changed (the installer rewrites it when the
 * options change, e.g. namespaceIsolation), so reconciles follow the rules exec'd ADDs follow. A file
 * that no longer parses keeps the last good config, with an error logged.
 */
export function configReader(file: string | undefined, initial: BraidConfig): () => BraidConfig {
  let current = initial;
  let seen = file ? mtimeOf(file) : 0;
  return () => {
    if (!file) return current;
    const mtime = mtimeOf(file);
    if (mtime === seen) return current;
    seen = mtime;
    try {
      current = loadBraidConfigFile(file);
      log('warning', `dynamic networks: re-read ${file}`);
    } catch (e) {
      log('error', `dynamic networks: ${file} no longer loads (${(e as Error).message}); keeping the last good config`);
    }
    return current;
  };
}

function mtimeOf(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}
