import fs = require('node:fs');
import { CniError, ErrorCode } from '../cni/errors';

/**
 * Reads a devices file for `braid plan --devices`: a YAML or JSON map from device-plugin resource name
 * to the device IDs the kubelet assigned the pod, e.g. `{"intel.com/sriov_netdevice": ["0000:3b:02.1"]}`.
 * The same shape the kubelet's pod-resources answer reduces to: plan hands it to the planner unchanged.
 */
export async function readDevicesFile(file: string): Promise<Map<string, string[]>> {
  let doc: unknown;
  try {
    const yaml = await import('js-yaml');
    doc = yaml.load(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CniError(ErrorCode.DecodeFailure, `devices file ${file}: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new CniError(ErrorCode.InvalidConfig, `devices file ${file}: expected a map from resource name to a list of device IDs`);
  }
  const devices = new Map<string, string[]>();
  for (const [resource, ids] of Object.entries(doc)) {
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string' && id !== '')) {
      throw new CniError(ErrorCode.InvalidConfig, `devices file ${file}: ${resource} must be a list of device IDs (strings)`);
    }
    devices.set(resource, ids);
  }
  return devices;
}
