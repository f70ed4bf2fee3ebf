import { asCniError, CniError, ErrorCode } from '../cni/errors';
import type { Request } from '../cni/env';
import type { BraidConfig } from '../config/braid-config';
import { statusNetwork } from '../delegate/invoke';
import { log } from '../log';
import { offlineNetworks } from '../resolve/resolve';
import { delegateEnv, waitForReadiness } from './common';

/** STATUS: braid can ADD when the readiness file exists and the cluster network's plugins say they can. */
export async function status(req: Request, config: BraidConfig): Promise<void> {
  try {
    await waitForReadiness(config);
    const { clusterNetwork } = await offlineNetworks(config, { clusterOnly: true });
    if (!clusterNetwork) {
      log('verbose', `Status: cluster network ${JSON.stringify(config.clusterNetwork)} is a NAD only the API knows (read on ADD only); not asked`);
      return;
    }
    const env = delegateEnv(req, config, { ifname: '', cniArgs: '' });
    if ((await statusNetwork(clusterNetwork, env)) === 'skipped') {
      log('verbose', `Status: cluster network ${clusterNetwork.name} is cniVersion ${clusterNetwork.cniVersion} (< 1.1.0); not asked`);
    }
  } catch (e) {
    const err = asCniError(e);
    // STATUS speaks only 50/51: anything else means braid cannot serve ADD.
    const code = err.code === ErrorCode.NotAvailableDegraded ? err.code : ErrorCode.NotAvailable;
    throw new CniError(code, `cluster network not available: ${err.message}`, err.details);
  }
}
