import { CniError, ErrorCode } from '../cni/errors';
import type { Request } from '../cni/env';
import type { BraidConfig } from '../config/braid-config';
import { statusNetwork } from '../delegate/invoke';
import { log } from '../log';
import { configuredNetworks } from '../resolve/resolve';
import { delegateEnv, waitForReadiness } from './common';

/** STATUS: braid can ADD when the readiness file exists and the cluster network's plugins say they can. */
export async function status(req: Request, config: BraidConfig): Promise<void> {
  try {
    await waitForReadiness(config);
    const { clusterNetwork } = configuredNetworks(config);
    const env = delegateEnv(req, config, { ifname: '', cniArgs: '' });
    if ((await statusNetwork(clusterNetwork.config, env)) === 'skipped') {
      log('verbose', `Status: cluster network ${clusterNetwork.config.name} is cniVersion ${clusterNetwork.config.cniVersion} (< 1.1.0); not asked`);
    }
  } catch (e) {
    const err = e instanceof CniError ? e : new CniError(ErrorCode.Internal, String(e));
    // STATUS speaks only 50/51: anything else means braid cannot serve ADD.
    const code = err.code === ErrorCode.NotAvailableDegraded ? err.code : ErrorCode.NotAvailable;
    throw new CniError(code, `cluster network not available: ${err.message}`, err.details);
  }
}
