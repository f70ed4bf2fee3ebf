import { statusMessage, type ApiResponse, type KubeClient } from './client';
import type { PodObject } from './pod';

/** A NetworkAttachmentDefinition as braid reads it. */
export interface NadObject {
  metadata: { name: string; namespace: string; resourceVersion?: string; annotations?: Record<string, string> };
  /** `config` is a JSON string by the CRD's schema, but a nadDir manifest may hold anything. */
  spec?: { config?: unknown };
  /** The nadDir manifest braid read it from (braid's own field: absent for an object from the API). */
  file?: string;
  /** 'agent' when the node agent's cache answered instead of the API (braid's own field, for the log). */
  via?: 'agent';
}

const enc = encodeURIComponent;

// True when a 422 Status names `field` among its causes.
function invalidField(res: ApiResponse, field: string): boolean {
  const causes = res.body?.details?.causes;
  return Array.isArray(causes) && causes.some((c: { field?: string }) => c?.field === field);
}

/** The Kubernetes calls braid makes, on top of a KubeClient. */
export class KubeApi {
  constructor(readonly client: KubeClient) {}

  /** GET a pod; undefined when it does not exist. */
  async getPod(namespace: string, name: string): Promise<PodObject | undefined> {
    return this.getOptional(`/api/v1/namespaces/${enc(namespace)}/pods/${enc(name)}`, `pod ${namespace}/${name}`) as Promise<PodObject | undefined>;
  }

  /** GET a NetworkAttachmentDefinition; undefined when it does not exist. */
  async getNad(namespace: string, name: string): Promise<NadObject | undefined> {
    const path = `/apis/k8s.cni.cncf.io/v1/namespaces/${enc(namespace)}/network-attachment-definitions/${enc(name)}`;
    return this.getOptional(path, `NetworkAttachmentDefinition ${namespace}/${name}`) as Promise<NadObject | undefined>;
  }

  private async getOptional(path: string, what: string): Promise<unknown> {
    const res = await this.client.call('GET', path, { retry: true });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw this.client.failure('GET', path, `cannot get ${what}: ${statusMessage(res)}`);
    return res.body;
  }

  /**
   * Sets pod annotations with one merge-patch on pods/status; returns false when the pod is gone. With
   * `uid`, the patch carries it: metadata.uid is immutable, so the apiserver refuses (422) to apply it to
   * a pod recreated under the same name, and that pod counts as gone too.
   */
  async patchPodAnnotations(namespace: string, name: string, annotations: Record<string, string>, uid?: string): Promise<boolean> {
    const path = `/api/v1/namespaces/${enc(namespace)}/pods/${enc(name)}/status`;
    const res = await this.client.call('PATCH', path, {
      body: { metadata: { ...(uid ? { uid } : {}), annotations } },
      contentType: 'application/merge-patch+json',
      retry: true, // a merge-patch without resourceVersion is idempotent
    });
    if (res.status === 404 || (uid && res.status === 422 && invalidField(res, 'metadata.uid'))) return false;
    if (res.status !== 200) throw this.client.failure('PATCH', path, `cannot update pod ${namespace}/${name} status: ${statusMessage(res)}`);
    return true;
  }

  /** POSTs a core/v1 Event about a pod (one attempt: events are best effort); a refused event throws. */
  async postPodEvent(pod: { namespace: string; name: string; uid: string }, reason: string, message: string, type: 'Normal' | 'Warning' = 'Normal'): Promise<void> {
    const now = new Date().toISOString();
    const path = `/api/v1/namespaces/${enc(pod.namespace)}/events`;
    const res = await this.client.call('POST', path, {
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${pod.name}.`, namespace: pod.namespace },
        involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: pod.namespace, name: pod.name, uid: pod.uid },
        reason,
        message,
        type,
        source: { component: 'braid' },
        reportingComponent: 'braid',
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
    if (res.status !== 201 && res.status !== 200) throw this.client.failure('POST', path, `cannot create a ${reason} event for pod ${pod.namespace}/${pod.name}: ${statusMessage(res)}`);
  }
}
