import { parseBraidConfig } from '../config/braid-config';
import type { NetworkConfig } from '../config/netconf';
import { POD_ANNOTATIONS_CAPABILITY } from '../resolve/resolve';
import { capabilitiesOf } from './master';

/** The generated network's name unless --override-network-name (Multus uses "multus-cni-network"). */
export const DEFAULT_NETWORK_NAME = 'braid-cni-network';

/** Everything the generated config is made of; every path is already the host's. */
export interface GenerateInput {
  master: NetworkConfig;
  masterHostFile: string;
  cniVersion: string;
  overrideNetworkName: boolean;
  /** Host path of the node kubeconfig; undefined on a clusterless host. */
  kubeconfigHost?: string;
  /** Host path of the CNI bin dir, written as binDir only when it is not braid's default. */
  binDirHost?: string;
  /** Config keys from flags, then from the options file: later ones win. */
  flagKeys: Record<string, unknown>;
  options: Record<string, unknown>;
}

// Keys the options file may not set: they are what makes the file braid's and point it at the master.
const RESERVED = ['type', 'plugins'];

/**
 * The 00-braid.conflist document: one braid plugin whose cluster network is the master's host path, whose
 * capabilities are the master's plus pod annotations, then the flag keys and the options file on top.
 */
export function generateConfig(input: GenerateInput): Record<string, unknown> {
  const reserved = RESERVED.filter((k) => k in input.options);
  if (reserved.length > 0) throw new Error(`options file: ${reserved.join(', ')} cannot be set (braid's config is generated)`);
  const { cniVersion: optVersion, name: optName, capabilities: optCaps, ...options } = input.options;
  const capabilities: Record<string, boolean> = {};
  for (const c of [...capabilitiesOf(input.master), POD_ANNOTATIONS_CAPABILITY]) capabilities[c] = true;
  if (optCaps !== undefined) {
    if (typeof optCaps !== 'object' || optCaps === null || Array.isArray(optCaps)) throw new Error('options file: capabilities must be an object');
    Object.assign(capabilities, optCaps);
  }
  const plugin: Record<string, unknown> = {
    type: 'braid',
    capabilities,
    clusterNetwork: input.masterHostFile,
    ...(input.kubeconfigHost ? { kubeconfig: input.kubeconfigHost } : {}),
    ...(input.binDirHost && input.binDirHost !== '/opt/cni/bin' ? { binDir: input.binDirHost } : {}),
    ...input.flagKeys,
    ...options,
  };
  return {
    cniVersion: optVersion ?? (input.cniVersion || input.master.cniVersion || '1.0.0'),
    name: optName ?? (input.overrideNetworkName ? input.master.name : DEFAULT_NETWORK_NAME),
    plugins: [plugin],
  };
}

/** Checks a conf or conflist with braid's own parser, as braid will read it from the runtime (throws on error). */
export function checkBraidConfig(doc: Record<string, unknown>): void {
  const plugins = doc.plugins;
  const plugin = Array.isArray(plugins) ? plugins.find((p) => p?.type === 'braid') : doc;
  if (typeof plugin !== 'object' || plugin === null || plugin.type !== 'braid') throw new Error('no plugin of type braid in it');
  parseBraidConfig({ ...plugin, cniVersion: doc.cniVersion, name: doc.name });
}
