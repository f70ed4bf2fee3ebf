import { CniError, ErrorCode } from '../cni/errors';
import { netnsAddon, type NetnsInterface } from '../native/netns-addon';

/** The interfaces inside a pod netns (through the native helper: no netlink library is loaded). */
export function podInterfaces(netns: string): NetnsInterface[] {
  try {
    return netnsAddon().interfaces(netns);
  } catch (e) {
    throw new CniError(ErrorCode.IoFailure, `cannot list interfaces of netns ${netns}: ${(e as Error).message}`);
  }
}

/**
 * Refuses an interface name that already exists in the pod netns, before its delegate runs. Besides
 * explicit clashes this catches a meta-plugin that (mis)delegates to itself (Multus #1089).
 */
export function assertIfnameFree(netns: string, ifname: string, network: string): void {
  if (podInterfaces(netns).some((i) => i.name === ifname)) {
    throw new CniError(ErrorCode.InvalidConfig, `network ${JSON.stringify(network)}: interface name ${ifname} already exists in netns ${netns}`);
  }
}
