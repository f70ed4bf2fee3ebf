import type { Request } from '../cni/env';
import type { BraidConfig } from '../config/braid-config';
import { normalizeNetwork, resolveNetworkFromDisk } from '../config/netconf';
import { buildPlan, type Attachment, type Selection } from '../plan/plan';

/** The networks the config names: the cluster network, then further inline delegates, then defaultNetworks. */
export function configuredNetworks(config: BraidConfig): { clusterNetwork: Selection; secondaries: Selection[] } {
  const inline = config.clusterNetwork ? [] : (config.delegates ?? []).map((d, i) => ({
    config: normalizeNetwork(d, `delegates[${i}]`, config.cniVersion),
  }));
  const clusterNetwork = config.clusterNetwork
    ? { config: resolveNetworkFromDisk(config.clusterNetwork, config.confDir, config.cniVersion) }
    : inline[0];
  const defaults = config.defaultNetworks.map((ref) => ({ config: resolveNetworkFromDisk(ref, config.confDir, config.cniVersion) }));
  return { clusterNetwork, secondaries: [...inline.slice(1), ...defaults] };
}

/** Gathers the inputs for this invocation and turns them into the ordered attachment plan. */
export function resolveAttachments(req: Request, config: BraidConfig): Attachment[] {
  const { clusterNetwork, secondaries } = configuredNetworks(config);
  return buildPlan({ clusterNetwork, secondaries, ifname: req.ifname, runtimeConfig: config.runtimeConfig, cniArgs: req.args });
}
