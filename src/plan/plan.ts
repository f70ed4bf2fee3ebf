import { CniError, ErrorCode } from '../cni/errors';
import { validIfname } from '../cni/env';
import type { NetworkConfig } from '../config/netconf';

/** One network to attach to the pod: everything a delegate call needs, fixed before any delegate runs. */
export interface Attachment {
  /** The name used in logs, errors and status: the conf name (or ns/nad for a NAD). */
  network: string;
  ifname: string;
  config: NetworkConfig;
  /** runtimeConfig offered to the plugins; each plugin receives only the keys its capabilities enable. */
  runtimeConfig: Record<string, unknown>;
  /** CNI_ARGS for this attachment's delegates. */
  cniArgs: string;
  clusterNetwork: boolean;
}

/** A network chosen for the pod, before interface naming. */
export interface Selection {
  config: NetworkConfig;
  /** Defaults to the config's name. */
  network?: string;
  /** An explicitly requested interface name. */
  ifname?: string;
}

/** The inputs planning needs. */
export interface PlanInput {
  clusterNetwork: Selection;
  secondaries: Selection[];
  /** CNI_IFNAME from the runtime: the cluster network's interface. */
  ifname: string;
  /** The runtime's own runtimeConfig: reaches the cluster network only (NAD spec §7.5). */
  runtimeConfig: Record<string, unknown>;
  cniArgs: string;
}

/** Orders and names the attachments: cluster network first as CNI_IFNAME, then net1..netN by position. */
export function buildPlan(input: PlanInput): Attachment[] {
  const all = [input.clusterNetwork, ...input.secondaries];
  const owner = new Map<string, string>();
  return all.map((sel, index) => {
    const clusterNetwork = index === 0;
    const network = sel.network ?? sel.config.name;
    const ifname = clusterNetwork ? input.ifname : sel.ifname ?? `net${index}`;
    if (!validIfname(ifname)) {
      throw new CniError(ErrorCode.InvalidConfig, `network ${JSON.stringify(network)}: invalid interface name ${JSON.stringify(ifname)}`);
    }
    const previous = owner.get(ifname);
    if (previous !== undefined) {
      throw new CniError(ErrorCode.InvalidConfig,
        `network ${JSON.stringify(network)}: interface name ${ifname} is already used by network ${JSON.stringify(previous)}`);
    }
    owner.set(ifname, network);
    return {
      network,
      ifname,
      config: sel.config,
      runtimeConfig: clusterNetwork ? input.runtimeConfig : {},
      cniArgs: input.cniArgs,
      clusterNetwork,
    };
  });
}
