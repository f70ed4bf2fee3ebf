import fs = require('node:fs');
import path = require('node:path');
import { log } from '../log';

/** The device plugin's device-info file for a device: `<dir>/dp/<resource>-<deviceID>-device.json`, "/" as "-". */
export function devicePluginInfoPath(dir: string, resourceName: string, deviceID: string): string {
  return path.join(dir, 'dp', `${resourceName.replace(/\//g, '-')}-${deviceID.replace(/\//g, '-')}-device.json`);
}

/** Copies the device plugin's device-info to the attachment's CNI device-info file before ADD (when the plugin wrote one). */
export function stageDeviceInfo(dir: string, resourceName: string, deviceID: string, target: string): void {
  // Device-info is read by workloads (not secret): world-readable, as Multus and the device plugins keep it.
  fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
  let text: string;
  try {
    text = fs.readFileSync(devicePluginInfoPath(dir, resourceName, deviceID), 'utf8');
  } catch {
    return; // not every device plugin writes device-info
  }
  const tmp = `${target}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o444 });
  fs.renameSync(tmp, target);
}

/**
 * The attachment's device-info for network-status: what the delegate (or the device plugin) wrote,
 * else a pci entry for the device; plus the kernel driver bound to it when sysfs shows one
 * (vfio-pci, uio_pci_generic, igb_uio... tell the application how to open a VF without a netdev).
 */
export function readDeviceInfo(file: string, deviceID: string, pciDevicesDir: string): Record<string, unknown> {
  let info: Record<string, unknown> = { type: 'pci', version: '1.1.0', pci: { 'pci-address': deviceID } };
  try {
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) info = doc;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') log('warning', `device-info ${file} unreadable (${(e as Error).message}); reporting the device only`);
  }
  const pci = info.pci as Record<string, unknown> | undefined;
  if (info.type === 'pci' && pci && typeof pci['pci-address'] === 'string') {
    try {
      const driver = path.basename(fs.readlinkSync(path.join(pciDevicesDir, pci['pci-address'], 'driver')));
      info = { ...info, pci: { ...pci, driver } };
    } catch {
      // no sysfs entry visible: leave the driver out
    }
  }
  return info;
}

/** Removes braid's CNI device-info file of an attachment (DEL). */
export function removeDeviceInfo(file: string): void {
  fs.rmSync(file, { force: true });
}
