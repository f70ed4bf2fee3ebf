import fs = require('node:fs');
import { CniError, ErrorCode } from '../cni/errors';

/** Device IDs per resource name for one pod. */
export type DeviceMap = Map<string, string[]>;

/** Adds IDs to a resource's list, keeping each once. */
export function addDevices(map: DeviceMap, resource: string, ids: string[]): void {
  const list = map.get(resource) ?? [];
  for (const id of ids) if (!list.includes(id)) list.push(id);
  map.set(resource, list);
}

/**
 * Devices of a pod from the kubelet's device-manager checkpoint (`kubelet_internal_checkpoint`, JSON),
 * matched by pod UID. `DeviceIDs` is a per-NUMA-node map in current kubelets and a list in older ones.
 */
export function checkpointDevices(file: string, podUID: string): DeviceMap {
  let doc: { Data?: { PodDeviceEntries?: Array<{ PodUID?: string; ResourceName?: string; DeviceIDs?: unknown }> } };
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CniError(ErrorCode.IoFailure, `kubelet checkpoint ${file}: ${(e as Error).message}`);
  }
  const map: DeviceMap = new Map();
  for (const entry of doc.Data?.PodDeviceEntries ?? []) {
    if (entry.PodUID !== podUID || !entry.ResourceName) continue;
    const ids = Array.isArray(entry.DeviceIDs) ? entry.DeviceIDs : Object.values((entry.DeviceIDs ?? {}) as Record<string, string[]>).flat();
    addDevices(map, entry.ResourceName, ids.filter((id): id is string => typeof id === 'string'));
  }
  return map;
}
