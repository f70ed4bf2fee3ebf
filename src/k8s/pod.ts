import { parseCniArgs } from '../cni/env';

/** The pod a CNI call is for, as the runtime names it in CNI_ARGS. */
export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
  infraContainerID: string;
}

/** Reads K8S_POD_NAMESPACE / K8S_POD_NAME / K8S_POD_UID / K8S_POD_INFRA_CONTAINER_ID; undefined when not a pod. */
export function podFromCniArgs(args: string): PodRef | undefined {
  const kv = new Map(parseCniArgs(args));
  const namespace = kv.get('K8S_POD_NAMESPACE') ?? '';
  const name = kv.get('K8S_POD_NAME') ?? '';
  if (!namespace || !name) return undefined;
  return { namespace, name, uid: kv.get('K8S_POD_UID') ?? '', infraContainerID: kv.get('K8S_POD_INFRA_CONTAINER_ID') ?? '' };
}

/** The pod CNI_ARGS names as `namespace/name` (for log lines), or '' when it names none. */
export function podLabel(args: string): string {
  const ref = podFromCniArgs(args);
  return ref ? `${ref.namespace}/${ref.name}` : '';
}

/** The parts of a Pod object braid reads. */
export interface PodObject {
  metadata: { name: string; namespace: string; uid?: string; resourceVersion?: string; annotations?: Record<string, string> };
}

/** True for static (mirror) pods, which keep their own UID and are exempt from the UID check (Multus #773). */
export function isStaticPod(pod: PodObject): boolean {
  const source = pod.metadata.annotations?.['kubernetes.io/config.source'];
  return source !== undefined && source !== 'api';
}
