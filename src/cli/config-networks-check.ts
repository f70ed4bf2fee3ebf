import { asCniError } from '../cni/errors';
import type { BraidConfig } from '../config/braid-config';
import { offlineNetworks } from '../resolve/resolve';
import type { Finding } from './findings';
import { checkDelegates } from './plugin-check';

/**
 * The networks a braid config names, checked on this machine as ADD would meet them: each clusterNetwork
 * and defaultNetworks entry resolves (a file, a directory, a conf in confDir or a NAD in nadDir; an
 * API-only NAD is a warning) and its delegates are in `dirs`.
 */
export async function checkConfigNetworks(config: BraidConfig, base: string, dirs: string[]): Promise<Finding[]> {
  const findings: Finding[] = [];
  const refs: Array<[string, string]> = [
    ...(config.clusterNetwork ? [[config.clusterNetwork, '/clusterNetwork'] as [string, string]] : []),
    ...config.defaultNetworks.map((ref, i) => [ref, `/defaultNetworks/${i}`] as [string, string]),
  ];
  for (const [ref, pointer] of refs) {
    let resolved;
    try {
      // One reference at a time, through the resolution STATUS and GC use, so each error has its field.
      resolved = await offlineNetworks({ ...config, clusterNetwork: ref, defaultNetworks: [] }, { clusterOnly: true });
    } catch (e) {
      findings.push({ severity: 'error', pointer: `${base}${pointer}`, message: asCniError(e).message, code: asCniError(e).code });
      continue;
    }
    if (!resolved.clusterNetwork) {
      findings.push({ severity: 'warning', pointer: `${base}${pointer}`, message: `network ${JSON.stringify(ref)} is a NetworkAttachmentDefinition only the API knows: not checked` });
      continue;
    }
    for (const f of checkDelegates(resolved.clusterNetwork, dirs, '', false)) {
      findings.push({ ...f, pointer: `${base}${pointer}`, message: `network ${JSON.stringify(ref)}: ${f.message}` });
    }
  }
  return findings;
}
