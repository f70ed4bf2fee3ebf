import { parseResult } from '../cni/result';
import type { BraidConfig } from '../config/braid-config';
import type { StatusWriter } from '../k8s/status-writer';
import { log } from '../log';
import { podInterfaces } from '../netns/interfaces';
import { undeclaredWarning } from '../plan/plan';
import type { PodContext } from '../resolve/resolve';
import { NETWORK_STATUS_ANNOTATION, statusEntries } from '../result/status';
import type { CachedAttachment } from '../store/cache';

/** The reason of the Warning event for a pod request no plugin declared the capability for. */
export const UNDECLARED_REASON = 'UndeclaredCapability';

/** How long ADD waits for best-effort events once the status is written. */
const EVENT_GRACE_MS = 5;

/** An event about the pod that goes out with its network-status. */
export interface PodEvent {
  reason: string;
  message: string;
  type?: 'Normal' | 'Warning';
}

/**
 * Writes `k8s.v1.cni.cncf.io/network-status` with one merge-patch on pods/status (no read-modify-write),
 * with events sent alongside: `events`, or by default an AddedInterface per attachment (and UndeclaredCapability
 * warnings). A pod that is gone is tolerated; other failures throw.
 */
export async function reportStatus(
  config: BraidConfig, writer: StatusWriter, pod: PodContext, netns: string, attachments: CachedAttachment[], events?: PodEvent[],
): Promise<void> {
  // The auxiliary chain attaches no interface: it has no status entry and no event.
  const results = attachments.filter((a) => !a.auxiliary).map((a) => ({ att: a, result: parseResult(a.result, a.config.cniVersion) }));
  // mac and mtu from the netns itself where a delegate's result lacks them.
  const links = new Map(podInterfaces(netns).map((l) => [l.name, l]));
  const entries = results.flatMap(({ att, result }) => statusEntries(att.network, att.ifname, result, att.clusterNetwork, att.deviceInfo, links));
  const { namespace, name } = pod.ref;
  const toSend: PodEvent[] = events ?? [
    ...attachments.flatMap((att) => (att.undeclared ?? []).map((key) => ({ reason: UNDECLARED_REASON, message: undeclaredWarning(att.network, key), type: 'Warning' as const }))),
    ...results.filter(({ result }) => (result.ips ?? []).length > 0 || (result.interfaces ?? []).length > 0).map(({ att, result }) => ({
      reason: 'AddedInterface', message: `Add ${att.ifname} [${(result.ips ?? []).map((ip) => ip.address).join(',')}] from ${att.network}`,
    })),
  ];
  // Multus writes the list indented by four spaces; consumers see the same text. Events name the API's pod (a static pod's mirror).
  const target = { namespace, name, uid: pod.uid, eventUid: pod.uid ?? pod.ref.uid };
  const annotations = { [NETWORK_STATUS_ANNOTATION]: JSON.stringify(entries, null, 4) };
  const { written, events: sent } = await writer.writeStatus(target, annotations, config.events ? toSend : []);
  if (!written) log('warning', `pod ${namespace}/${name}${pod.uid ? ` (UID ${pod.uid})` : ''} is gone: network-status not written`);
  await Promise.race([sent, new Promise((r) => setTimeout(r, EVENT_GRACE_MS))]);
}
