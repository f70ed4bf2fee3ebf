import { parseCniArgs } from '../cni/env';

/** What ADD returns: every attachment merged, or the cluster network's result alone. */
export type ResultMode = 'merged' | 'clusterNetwork';

/**
 * The resultMode of one ADD: the configured one, else `clusterNetwork` when CNI_ARGS carries any
 * K8S_POD_* key (a Kubernetes runtime, which takes pod IPs from the result; see README), else `merged`.
 */
export function effectiveResultMode(configured: ResultMode | undefined, cniArgs: string): ResultMode {
  if (configured) return configured;
  return parseCniArgs(cniArgs).some(([key]) => key.startsWith('K8S_POD_')) ? 'clusterNetwork' : 'merged';
}
