import addonBytes from '../generated/braid_netns.node';
import { loadEmbeddedAddon } from './addon';

declare const __NETNS_ADDON_SHA256__: string;

/** One interface inside a netns as the helper reports it; `mac` only for Ethernet (6 bytes) and IPoIB (20 bytes) links. */
export interface NetnsInterface { name: string; index: number; mac?: string; mtu?: number }

/** braid's pod-netns helper (src/native/netns.c). */
export interface NetnsAddon {
  /** Calls `fn` with the calling thread inside the netns at `path` (sockets made there stay there). */
  runInNetns<T>(path: string, fn: () => T): T;
  /** Every interface of the netns at `path`. */
  interfaces(path: string): NetnsInterface[];
}

/** Loads the pod-netns helper (about 0.3 ms). */
export function netnsAddon(): NetnsAddon {
  return loadEmbeddedAddon('braid-netns', addonBytes, __NETNS_ADDON_SHA256__);
}
