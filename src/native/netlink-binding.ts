import addonBytes from 'netlink/prebuilds/linux-x64/node.napi.node';
import { loadEmbeddedAddon } from './addon';

declare const __NETLINK_ADDON_SHA256__: string;

/** netlink's N-API addon; packaging/build.mjs rewires netlink's node-gyp-build call to this. */
export function load(): { NativeNetlink: unknown } {
  return loadEmbeddedAddon('netlink', addonBytes, __NETLINK_ADDON_SHA256__);
}
