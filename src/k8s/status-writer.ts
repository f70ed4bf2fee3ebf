import type { PodEventSpec } from '../agent/protocol';
import { log } from '../log';
import type { KubeApi } from './api';

/** The pod a status write is for: `uid` guards the patch (absent: unguarded), `eventUid` is what events name. */
export interface StatusTarget { namespace: string; name: string; uid?: string; eventUid: string }

/** Where network-status and events go: the API directly, or the agent's warm connection. */
export interface StatusWriter {
  /** Merge-patches the annotations onto pods/status and posts the events; false when the pod is gone. */
  writeStatus(pod: StatusTarget, annotations: Record<string, string>, events: PodEventSpec[]): Promise<{ written: boolean; events: Promise<void> }>;
}

/**
 * The status write itself, on a KubeApi: one merge-patch on pods/status (no read-modify-write), with the
 * events posted alongside. Resolves once the patch is answered; `events` settles when they are (never rejects).
 */
export function apiStatusWriter(api: KubeApi): StatusWriter {
  return {
    async writeStatus(pod, annotations, events) {
      const { namespace, name } = pod;
      // The PATCH goes first: on an HTTP/1.1 connection requests queue, and the status must not wait behind events.
      const patched = api.patchPodAnnotations(namespace, name, annotations, pod.uid);
      const posted = Promise.all(events.map((e) => api.postPodEvent({ namespace, name, uid: pod.eventUid }, e.reason, e.message, e.type)))
        .then(() => undefined, (e: Error) => log('warning', `events: ${e.message}`));
      return { written: await patched, events: posted };
    },
  };
}
