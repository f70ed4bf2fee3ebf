import { CniError, ErrorCode } from '../cni/errors';
import type { Request } from '../cni/env';
import type { BraidConfig } from '../config/braid-config';
import { checkNetwork, joinErrors } from '../delegate/invoke';
import { log } from '../log';
import { readCache } from '../store/cache';
import { delegateEnv, withContainerLock, wrapNetworkError } from './common';

/** CHECK: every attachment (but the auxiliary chain) is checked by its own delegates against its cached ADD result. */
export async function check(req: Request, config: BraidConfig): Promise<void> {
  await withContainerLock(config, req.containerID, async () => {
    const read = readCache(config.cniDir, req.containerID);
    if (read.status === 'missing') throw new CniError(ErrorCode.UnknownContainer, `no attachments cached for container ${req.containerID}`);
    if (read.status === 'corrupt') throw new CniError(ErrorCode.DecodeFailure, `cache for container ${req.containerID} is corrupt: ${read.reason}`);
    const errors: CniError[] = [];
    for (const att of read.cache.attachments) {
      if (att.state !== 'added' || !att.result) {
        errors.push(new CniError(ErrorCode.InvalidConfig, `network ${JSON.stringify(att.network)} (${att.ifname}) is not attached (state ${att.state})`));
        continue;
      }
      if (att.auxiliary) {
        // Its plugins adjust interfaces others made; tuning's CHECK looks for a link named CNI_IFNAME, which the chain never creates.
        log('verbose', `Check: ${att.network}:${att.ifname} skipped (auxiliary chain)`);
        continue;
      }
      try {
        const outcome = await checkNetwork(att.config, att.runtimeConfig, delegateEnv(req, config, att), att.result);
        if (outcome === 'skipped') log('verbose', `Check: ${att.network}:${att.ifname} skipped (cniVersion ${att.config.cniVersion} or disableCheck)`);
      } catch (e) {
        errors.push(wrapNetworkError('checking', att, e));
      }
    }
    if (errors.length > 0) throw joinErrors(errors);
  });
}
