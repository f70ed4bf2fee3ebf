// A device plugin's device ID is a PCI address for a VF, or an auxiliary-bus device name for an
// SR-IOV subfunction ("mlx5_core.sf.4", /sys/bus/auxiliary/devices/<name>).

const PCI_ADDRESS = /^[0-9a-fA-F]{4,8}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$/;

/** True for a PCI address in BDF form with its domain ("0000:03:02.3"). */
export function isPciAddress(deviceID: string): boolean {
  return PCI_ADDRESS.test(deviceID);
}
