import type { Request } from '../cni/env';
import type { BraidConfig } from '../config/braid-config';
import { joinErrors } from '../delegate/invoke';
import { log } from '../log';
import { resolveAttachments } from '../resolve/resolve';
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
    let attachments: CachedAttachment[];
    if (read.status === 'ok') {
      attachments = read.cache.attachments;
    } else {
      // Never a silent success (Multus #1087): say so loudly and DEL what the config describes.
      log('error', `cache for container ${req.containerID} is corrupt (${read.reason}); best-effort DEL from the current config`);
      attachments = (await resolveAttachments(req, config)).plan.map((a) => ({ ...a, state: 'added' }));
    }
    const errors = await teardown(req, config, attachments, netns);
    if (errors.length > 0 && config.retryDeleteOnError) {
      // Keep what is still standing so the runtime's next DEL retries only that (Multus retryDeleteOnError).
      writeCache(config.cniDir, read.status === 'ok' ? { ...read.cache, attachments } : newCache(req, config, attachments));
    } else {
      removeCache(config.cniDir, req.containerID);
    }
    if (errors.length > 0) throw joinErrors(errors);
  });
}
