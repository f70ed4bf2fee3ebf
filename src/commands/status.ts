import { asCniError, CniError, ErrorCode } from '../cni/errors';
import type { Request } from '../cni/env';
import type { BraidConfig } from '../config/braid-config';
import { findNetworkByName, resolveNetworkFromDisk, type NetworkConfig } from '../config/netconf';
import { statusNetwork } from '../delegate/invoke';
import { log } from '../log';
import { configuredNetworks } from '../resolve/resolve';
import { delegateEnv, waitForReadiness } from './common';

/** STATUS: braid can ADD when the readiness file exists and the cluster network's plugins say they can. */
export async function status(req: Request, config: BraidConfig): Promise<void> {
  try {
    await waitForReadiness(config);
    const clusterNetwork = await clusterNetworkForStatus(config);
    if (!clusterNetwork) {
      log('verbose', `Status: cluster network ${JSON.stringify(config.clusterNetwork)} is not on disk (a NAD in the API, read only on ADD); not asked`);
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

// The cluster network as ADD would pick it, without the API (STATUS is frequent and must stay cheap):
// a name is a NAD of nadDir, else a conf in confDir. undefined: a name only the API can resolve.
async function clusterNetworkForStatus(config: BraidConfig): Promise<NetworkConfig | undefined> {
  const name = config.clusterNetwork;
  if (!name || name.includes('/')) return configuredNetworks(config).clusterNetwork.config;
  const hasApi = config.kubeconfig !== '' || process.env.KUBERNETES_SERVICE_HOST !== undefined;
  if (!hasApi && config.nadDir) {
    const { networkFromNad, openNadDir } = await import('../resolve/nads');
    const nad = await (await openNadDir(config.nadDir)).getNad(config.multusNamespace, name);
    if (nad) return networkFromNad(nad, config).config;
  }
  if (hasApi && !findNetworkByName(config.confDir, name, config.cniVersion)) return undefined;
  return resolveNetworkFromDisk(name, config.confDir, config.cniVersion); // or the "no conf with that name" error
}
