import type { NadName } from '../agent/protocol';
import { DEFAULT_NETWORK_ANNOTATION, NETWORKS_ANNOTATION, parseDefaultNetworkAnnotation, parseNetworksAnnotation } from '../selection/networks';

/**
 * The NADs a pod's annotations select (the networks list and the default-network override), for
 * prefetching. An annotation that does not parse selects nothing here: resolve reports its error.
 */
export function selectedNads(annotations: Record<string, string>, podNamespace: string, multusNamespace: string): NadName[] {
  const refs: NadName[] = [];
  const tryParse = (f: () => NadName[]) => {
    try {
      refs.push(...f().map(({ namespace, name }) => ({ namespace, name })));
    } catch {
      // resolve/ parses again and fails the ADD with the error
    }
  };
  const networks = annotations[NETWORKS_ANNOTATION] ?? '';
  const override = annotations[DEFAULT_NETWORK_ANNOTATION] ?? '';
  if (networks.trim() !== '') tryParse(() => parseNetworksAnnotation(networks, podNamespace));
  if (override.trim() !== '') tryParse(() => [parseDefaultNetworkAnnotation(override, multusNamespace)]);
  return refs;
}
