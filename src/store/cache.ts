import fs = require('node:fs');
import path = require('node:path');
import { validContainerID } from '../cni/env';
import type { Attachment } from '../plan/plan';
import { safeFileName, writeFileAtomic } from './files';

/** Where an attachment stands; DEL skips the ones already torn down. */
export type AttachmentState = 'planned' | 'added' | 'deleted';

/** An attachment as cached: the plan entry, its state and its ADD result (in the network's cniVersion). */
export interface CachedAttachment extends Attachment {
  state: AttachmentState;
  result?: Record<string, unknown>;
  /** The device-info read back after ADD (network-status `device-info`). */
  deviceInfo?: Record<string, unknown>;
}

/** Everything DEL, CHECK and GC need, written before the first delegate runs. */
export interface ContainerCache {
  kind: 'braidCacheV1';
  containerID: string;
  netns: string;
  /** CNI_IFNAME braid was called with (its own attachment for the runtime). */
  ifname: string;
  /** The cniVersion braid was called with. */
  cniVersion: string;
  /** CNI_ARGS as the runtime gave them to ADD (absent in caches of older builds). */
  args?: string;
  /** The pod's networks annotation these attachments were planned from (ADD, or the last clean reconcile). */
  networks?: string;
  /** CNI_PATH as the runtime gave it to ADD: where a later reconcile finds the delegates. */
  path?: string[];
  attachments: CachedAttachment[];
  /** Default routes a `default-route` owner replaced (interface and gateway), restored if the owner is detached. */
  displacedRoutes?: Array<{ ifname: string; gateway: string }>;
  /** What dynamic-network reconciles did to this container, oldest first (bounded). */
  history?: HistoryEntry[];
}

/** One change a dynamic-network reconcile made (or failed to make) to a running pod. */
export interface HistoryEntry {
  time: string;
  action: 'added' | 'removed' | 'add-failed' | 'remove-failed';
  network: string;
  ifname: string;
  error?: string;
}

/** The outcome of reading a cache file. */
export type CacheRead =
  | { status: 'ok'; cache: ContainerCache }
  | { status: 'missing' }
  | { status: 'corrupt'; reason: string };

/** Path of the cache file for a container: `<cniDir>/<containerID>` as Multus keeps it. */
export function cachePath(cniDir: string, containerID: string): string {
  return path.join(cniDir, safeFileName(containerID));
}

function isCache(doc: unknown): doc is ContainerCache {
  const c = doc as ContainerCache;
  return typeof c === 'object' && c !== null && c.kind === 'braidCacheV1' && typeof c.containerID === 'string'
    && Array.isArray(c.attachments)
    && c.attachments.every((a) => typeof a?.ifname === 'string' && Array.isArray(a?.config?.plugins)
      && ['planned', 'added', 'deleted'].includes(a.state));
}

/** Reads a container's cache, telling a missing file from a corrupt or truncated one. */
export function readCache(cniDir: string, containerID: string): CacheRead {
  let text: string;
  try {
    text = fs.readFileSync(cachePath(cniDir, containerID), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing' };
    return { status: 'corrupt', reason: (e as Error).message };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { status: 'corrupt', reason: `invalid JSON (${text.length} bytes): ${(e as Error).message}` };
  }
  if (!isCache(doc)) return { status: 'corrupt', reason: 'not a braid cache (unexpected structure)' };
  if (doc.containerID !== containerID) return { status: 'corrupt', reason: `cache belongs to container ${doc.containerID}` };
  return { status: 'ok', cache: doc };
}

/** Writes a container's cache atomically (0600 file in a 0700 dir). */
export function writeCache(cniDir: string, cache: ContainerCache): void {
  writeFileAtomic(cachePath(cniDir, cache.containerID), JSON.stringify(cache));
}

/** Removes a container's cache; a missing file is fine. */
export function removeCache(cniDir: string, containerID: string): void {
  fs.rmSync(cachePath(cniDir, containerID), { force: true });
}

/** Container IDs that have a cache file in `cniDir` (temp files, lock dir and foreign files excluded). */
export function listCachedContainers(cniDir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(cniDir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.filter((e) => e.isFile() && !e.name.endsWith('.tmp') && validContainerID(e.name)).map((e) => e.name);
}

/** The CNI_ARGS the runtime gave ADD (older caches: the cluster network's, which extends them). */
export function runtimeArgs(cache: ContainerCache): string {
  return cache.args ?? cache.attachments.find((a) => a.clusterNetwork)?.cniArgs ?? '';
}
