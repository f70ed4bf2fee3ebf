import { defaultRouteFamily } from '../cni/ip';
import type { DNS, Result } from '../cni/result';

/** The pod annotation braid writes after ADD. */
export const NETWORK_STATUS_ANNOTATION = 'k8s.v1.cni.cncf.io/network-status';

/** One network-status entry, with Multus's field names and order (nad client NetworkStatus). */
export interface NetworkStatus {
  name: string;
  interface?: string;
  ips?: string[];
  mac?: string;
  mtu?: number;
  default?: boolean;
  dns: DNS;
  'device-info'?: Record<string, unknown>;
  gateway?: string[];
}

const bare = (cidr: string) => cidr.split('/')[0];

/**
 * Status entries for one attachment, as Multus writes them: one per sandbox interface, IPs without
 * prefix, `gateway` from the result's default routes, `dns` always present; exactly one entry of the
 * cluster network is `default`. `links` (the netns's interfaces by name) fills a missing mac or mtu.
 */
export function statusEntries(
  network: string,
  ifname: string,
  result: Result,
  clusterNetwork: boolean,
  deviceInfo?: Record<string, unknown>,
  links: ReadonlyMap<string, { mac?: string; mtu?: number }> = new Map(),
): NetworkStatus[] {
  const interfaces = result.interfaces ?? [];
  const sandboxed = interfaces.map((iface, index) => ({ iface, index })).filter((x) => x.iface.sandbox);
  const gateways = (result.routes ?? []).filter((r) => defaultRouteFamily(r.dst) !== undefined && r.gw).map((r) => r.gw!);
  const dns: DNS = result.dns ? { ...result.dns } : {};
  const ips = result.ips ?? [];
  // For the cluster network: the interface of the first IP with a gateway, else the first entry.
  const gwIp = ips.find((ip) => ip.gateway && ip.interface !== undefined);
  const defaultAt = clusterNetwork ? Math.max(gwIp ? sandboxed.findIndex((s) => s.index === gwIp.interface) : 0, 0) : -1;
  // Field order as Multus writes it, so the annotation reads the same byte for byte.
  const entry = (k: number, name: string | undefined, mac: string | undefined, mtu: number | undefined, addrs: string[]): NetworkStatus => ({
    name: network,
    ...(name ? { interface: name } : {}),
    ...(addrs.length ? { ips: addrs } : {}),
    ...(mac ? { mac } : {}),
    ...(mtu ? { mtu } : {}),
    ...(k === defaultAt ? { default: true } : {}),
    dns,
    ...(deviceInfo ? { 'device-info': deviceInfo } : {}),
    ...(gateways.length ? { gateway: gateways } : {}),
  });
  if (sandboxed.length === 0) {
    // A result without a sandbox interface (e.g. a DPDK VF): still report the attachment (NAD spec §5.1.1).
    const link = links.get(ifname);
    return [entry(0, ifname, link?.mac, link?.mtu, ips.map((ip) => bare(ip.address)))];
  }
  return sandboxed.map(({ iface, index }, k) => {
    const own = ips.filter((ip) => ip.interface === index || (ip.interface === undefined && k === sandboxed.length - 1));
    const link = links.get(iface.name);
    return entry(k, iface.name, iface.mac ?? link?.mac, iface.mtu ?? link?.mtu, own.map((ip) => bare(ip.address)));
  });
}
