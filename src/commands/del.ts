import { asCniError, CniError } from '../cni/errors';
import type { Request } from '../cni/env';
import { requireNetworks, type BraidConfig } from '../config/braid-config';
import { joinErrors } from '../delegate/invoke';
import { removeDeviceInfo } from '../devices/device-info';
import { log } from '../log';
import { readCache, removeCache, writeCache, type CachedAttachment } from '../store/cache';
import { netnsForDel, newCache, withContainerLock } from './common';
import { teardown } from './teardown';

/** DEL: tear down from the cache (idempotent, netns may be gone); a corrupt cache falls back to the config. */
export async function del(req: Request, config: BraidConfig): Promise<void> {
  const netns = netnsForDel(req.netns);
  await withContainerLock(config, req.containerID, async () => {
    const read = readCache(config.cniDir, req.containerID);
    if (read.status === 'missing') {
      // The cache is written before the first delegate runs, so no cache means braid attached nothing.
      log('verbose', `no cache for container ${req.containerID}: nothing to delete`);
      return;
    }
    const attachments = read.status === 'ok' ? read.cache.attachments : await attachmentsFromConfig(req, config, read.reason);
    const persist = read.status === 'ok' ? () => writeCache(config.cniDir, read.cache) : undefined;
    const errors = await teardown(req, config, attachments, netns, persist);
    if (errors.length > 0 && config.retryDeleteOnError) {
      // Keep what is still standing so the runtime's next DEL retries only that (Multus retryDeleteOnError).
      writeCache(config.cniDir, read.status === 'ok' ? { ...read.cache, attachments } : newCache(req, config, attachments));
    } else {
      // No retry will come from braid's side (Multus default): nothing of this container may stay behind.
      for (const att of attachments) if (att.deviceInfoFile) removeDeviceInfo(att.deviceInfoFile);
      removeCache(config.cniDir, req.containerID);
    }
    if (errors.length > 0) throw joinErrors(errors);
  });
}

// Never a silent success (Multus #1087): say so loudly and DEL what the current config describes. If even
// that cannot be resolved, fail naming both, keeping the cache so a DEL after the config is fixed works.
async function attachmentsFromConfig(req: Request, config: BraidConfig, reason: string): Promise<CachedAttachment[]> {
  const corrupt = `cache for container ${req.containerID} is corrupt (${reason})`;
  log('error', `${corrupt}; best-effort DEL from the current config`);
  try {
    requireNetworks(config); // DEL reads its config leniently: only this path needs the networks
    const { resolveAttachments } = await import('../resolve/resolve'); // only here: DEL from a sound cache never resolves
    return (await resolveAttachments(req, config)).plan.map((a) => ({ ...a, state: 'added' }));
  } catch (e) {
    const err = asCniError(e);
    throw new CniError(err.code, `${corrupt}, and the current config gives nothing to DEL from: ${err.message}`, err.details);
  }
}
