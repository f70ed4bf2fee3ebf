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
 * Each one that succeeds is marked 'deleted' in place, so a later DEL skips it. Returns the failures.
 */
export async function teardown(req: Request, config: BraidConfig, attachments: CachedAttachment[], netns: string): Promise<CniError[]> {
  const errors: CniError[] = [];
  for (const att of [...attachments].reverse()) {
    if (att.state === 'deleted') continue;
    try {
      await delNetwork(att.config, att.runtimeConfig, delegateEnv(req, config, att, netns), att.result);
      att.state = 'deleted';
      if (att.deviceInfoFile) removeDeviceInfo(att.deviceInfoFile);
      log('verbose', `Del: ${att.network}:${att.ifname} ok`);
    } catch (e) {
      const err = wrapNetworkError('deleting from', att, e);
      log('error', err.message);
      errors.push(err);
    }
  }
  return errors;
}
