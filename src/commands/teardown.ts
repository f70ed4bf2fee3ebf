import type { CniError } from '../cni/errors';
import type { Request } from '../cni/env';
import type { BraidConfig } from '../config/braid-config';
import { delNetwork } from '../delegate/invoke';
import { removeDeviceInfo } from '../devices/device-info';
import { log } from '../log';
import type { CachedAttachment } from '../store/cache';
import { delegateEnv, wrapNetworkError } from './common';

/**
 * DELs every attachment not yet torn down, last first, continuing past failures.
 * Each one that succeeds is marked 'deleted' in place, and `persist` (when given) records that before the
 * next DEL starts: if braid is killed meanwhile (say a cluster network DEL hangs past the runtime's
 * timeout), the next DEL does not repeat one that succeeded (host-device fails a repeat). Returns the failures.
 */
export async function teardown(
  req: Request, config: BraidConfig, attachments: CachedAttachment[], netns: string, persist?: () => void,
): Promise<CniError[]> {
  const errors: CniError[] = [];
  const pending = [...attachments].reverse().filter((att) => att.state !== 'deleted');
  for (const [i, att] of pending.entries()) {
    try {
      await delNetwork(att.config, att.runtimeConfig, delegateEnv(req, config, att, netns), att.result);
      att.state = 'deleted';
      if (att.deviceInfoFile) removeDeviceInfo(att.deviceInfoFile);
      log('verbose', `Del: ${att.network}:${att.ifname} ok`);
      if (i < pending.length - 1) persist?.(); // after the last one the caller writes or removes the cache itself
    } catch (e) {
      const err = wrapNetworkError('deleting from', att, e);
      log('error', err.message);
      errors.push(err);
    }
  }
  return errors;
}
