import { CniError, ErrorCode } from '../cni/errors';
import type { Request } from '../cni/env';
import type { BraidConfig } from '../config/braid-config';
import type { NetworkConfig } from '../config/netconf';
import { gcNetwork, joinErrors, type ValidAttachment } from '../delegate/invoke';
import { podLabel } from '../k8s/pod';
import { log, withLogContext } from '../log';
import { offlineNetworks } from '../resolve/resolve';
import { listCachedContainers, readCache, removeCache, writeCache } from '../store/cache';
import { delegateEnv, withContainerLock } from './common';
import { teardown } from './teardown';

/** Reads `cni.dev/valid-attachments` (or the legacy `cni.dev/attachments`) from the GC request. */
export function validAttachments(doc: Record<string, unknown>): ValidAttachment[] {
  const list = doc['cni.dev/valid-attachments'] ?? doc['cni.dev/attachments'] ?? [];
  if (!Array.isArray(list) || !list.every((a) => typeof a?.containerID === 'string' && typeof a?.ifname === 'string')) {
    throw new CniError(ErrorCode.InvalidConfig, 'cni.dev/valid-attachments must be a list of {containerID, ifname}');
  }
  return list.map((a) => ({ containerID: a.containerID, ifname: a.ifname }));
}

interface KnownNetwork { config: NetworkConfig; valid: ValidAttachment[] }

/**
 * GC: DEL and forget braid's own stale attachments (containers not in the valid list), then pass every
 * delegate network the attachments braid made on it for still-valid containers (its own ifnames, not braid's).
 */
export async function gc(req: Request, config: BraidConfig, doc: Record<string, unknown>): Promise<void> {
  const valid = validAttachments(doc);
  const isValid = (id: string, ifname: string) => valid.some((v) => v.containerID === id && v.ifname === ifname);
  const networks = new Map<string, KnownNetwork>();
  const know = (net: NetworkConfig): KnownNetwork => {
    // Keyed by name: delegates keep their state per network name (host-local's dataDir/<name>), so one GC
    // call per name must carry every valid attachment of that name. The config's version wins over cached ones.
    if (!networks.has(net.name)) networks.set(net.name, { config: net, valid: [] });
    return networks.get(net.name)!;
  };
  const errors: CniError[] = [];
  try {
    const { clusterNetwork, secondaries, apiOnly } = await offlineNetworks(config);
    [clusterNetwork, ...secondaries].forEach((net) => net && know(net));
    if (apiOnly.length > 0) log('verbose', `GC: ${apiOnly.join(', ')}: NADs only the API knows; reached through the cache only`);
  } catch (e) {
    log('error', `GC: cannot load the configured networks: ${(e as Error).message}`);
  }
  const described = new Set<string>(); // valid containers whose attachments braid read from its cache
  for (const id of listCachedContainers(config.cniDir)) {
    const read = readCache(config.cniDir, id);
    if (read.status !== 'ok') {
      if (read.status === 'corrupt') log('error', `GC: cache for container ${id} is corrupt (${read.reason}); left for its DEL`);
      continue;
    }
    const { cache } = read;
    if (isValid(id, cache.ifname)) {
      described.add(id);
      for (const att of cache.attachments) {
        if (att.state !== 'deleted') know(att.config).valid.push({ containerID: id, ifname: att.ifname });
      }
      continue;
    }
    await withContainerLock(config, id, async () => {
      const locked = readCache(config.cniDir, id); // again under the lock: a DEL may have finished meanwhile
      if (locked.status !== 'ok') return;
      // Its lines carry the stale container and its pod, as its own DEL's would.
      const stale = await withLogContext({ container: id, pod: podLabel(locked.cache.args ?? '') }, () => {
        log('verbose', `GC: container ${id} is stale; deleting its attachments`);
        return teardown({ ...req, containerID: id }, config, locked.cache.attachments, '', () => writeCache(config.cniDir, locked.cache));
      });
      errors.push(...stale);
      if (stale.length === 0) removeCache(config.cniDir, id);
      else writeCache(config.cniDir, locked.cache);
    });
  }
  // A valid container braid cannot describe (corrupt cache, one left by Multus) would be missing from
  // every delegate's valid list, and its IPs freed while it runs: then no delegate GC at all.
  const undescribed = valid.filter((v) => !described.has(v.containerID)).map((v) => v.containerID);
  if (undescribed.length > 0) {
    log('error', `GC: no readable braid cache for valid container(s) ${undescribed.join(', ')}; delegate networks are not garbage-collected`);
    networks.clear();
  }
  for (const net of networks.values()) {
    try {
      await gcNetwork(net.config, delegateEnv(req, config, { ifname: '', cniArgs: '' }), net.valid);
    } catch (e) {
      errors.push(new CniError((e as CniError).code ?? ErrorCode.Internal, `GC of network ${JSON.stringify(net.config.name)}: ${(e as Error).message}`));
    }
  }
  if (errors.length > 0) throw joinErrors(errors);
}
