import type { NadObject } from '../k8s/api';
import type { PodObject } from '../k8s/pod';
import { RESOURCE_NAME_ANNOTATION } from '../resolve/nads';
import { DEFAULT_NETWORK_ANNOTATION, NETWORKS_ANNOTATION } from '../selection/networks';

// The agent keeps only what it serves, so its memory follows the number of objects, not their size
// (a pod's last-applied-configuration or managedFields can be kilobytes).

/** The pod annotations braid reads: network selection, and what tells a static pod and its kubelet UID. */
export const SERVED_POD_ANNOTATIONS = [NETWORKS_ANNOTATION, DEFAULT_NETWORK_ANNOTATION, 'kubernetes.io/config.source', 'kubernetes.io/config.hash'];

function pick(annotations: Record<string, string> | undefined, keys: string[]): Record<string, string> | undefined {
  const kept = keys.filter((k) => annotations?.[k] !== undefined).map((k) => [k, annotations![k]]);
  return kept.length > 0 ? Object.fromEntries(kept) : undefined;
}

/** A pod cut down to name, namespace, UID, resourceVersion and the served annotations. */
export function slimPod(obj: PodObject): PodObject {
  const m = obj.metadata;
  const annotations = pick(m.annotations, SERVED_POD_ANNOTATIONS);
  return { metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, ...(annotations ? { annotations } : {}) } };
}

/** A NAD cut down to name, namespace, its resourceName annotation and spec.config. */
export function slimNad(obj: NadObject): NadObject {
  const m = obj.metadata;
  const annotations = pick(m.annotations, [RESOURCE_NAME_ANNOTATION]);
  return {
    metadata: { name: m.name, namespace: m.namespace, resourceVersion: m.resourceVersion, ...(annotations ? { annotations } : {}) },
    spec: obj.spec?.config === undefined ? {} : { config: obj.spec.config },
  };
}
