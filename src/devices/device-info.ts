import fs = require('node:fs');
import path = require('node:path');
import { log } from '../log';
import { isPciAddress } from './device-id';

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

// What braid reports when neither the device plugin nor the delegate wrote device-info: a pci entry for
// a VF; for an auxiliary-bus device (a subfunction, no PCI address of its own) braid's "auxiliary" type
// keeping its name, rather than a pci-address that is not one.
function fallbackDeviceInfo(deviceID: string): Record<string, unknown> {
  return isPciAddress(deviceID)
    ? { type: 'pci', version: '1.1.0', pci: { 'pci-address': deviceID } }
    : { type: 'auxiliary', version: '1.1.0', auxiliary: { device: deviceID } };
}

/**
 * The attachment's device-info for network-status: what the delegate (or the device plugin) wrote,
 * else one made from the device ID; plus the kernel driver bound to a PCI device when sysfs shows one
 * (vfio-pci, uio_pci_generic, igb_uio... tell the application how to open a VF without a netdev).
 */
export function readDeviceInfo(file: string, deviceID: string, pciDevicesDir: string): Record<string, unknown> {
  let info = fallbackDeviceInfo(deviceID);
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
