import { PROTOCOL_VERSION, type NadName, type ReportReply, type ReportRequest, type ResolveReply, type ResolveRequest } from './protocol';
import { CniError, ErrorCode } from '../cni/errors';
import type { BraidConfig } from '../config/braid-config';
import type { KubeApi, NadObject } from '../k8s/api';
import { isStaticPod, type PodObject } from '../k8s/pod';
import { apiStatusWriter } from '../k8s/status-writer';
import type { PodResourcesClient } from '../kubelet/podresources';
import { RESOURCE_NAME_ANNOTATION } from '../resolve/nads';
import { kubeletPodUid } from '../resolve/resolve';
import { kubeletPodDevices, type InputSource } from '../resolve/source';
import { selectedNads } from '../resolve/selected';
import type { AgentMetrics } from './metrics';
import { slimNad, slimPod } from './objects';
import type { Lister } from './store';

/** What the request handlers read and write through. */
export interface HandlerDeps {
  config: BraidConfig;
  pods: Lister<PodObject>;
  nads: Lister<NadObject>;
  api: KubeApi;
  /** The held pod-resources client (loaded and opened on first use). */
  kubelet: () => Promise<PodResourcesClient>;
  metrics: AgentMetrics;
}

// A cached pod answers unless it is another pod under the same name (UID differs; a static pod's mirror
// always differs, so it is trusted); anything the cache has not seen is read live: never served stale.
async function podFor(deps: HandlerDeps, req: ResolveRequest): Promise<PodObject | undefined> {
  const { namespace, name, uid } = req.pod;
  const cached = deps.pods.get(namespace, name);
  if (cached && (!uid || cached.metadata.uid === uid || isStaticPod(cached))) return cached;
  if (req.podKnown) return undefined; // braid has its annotations: no need to read it
  deps.metrics.misses.inc({ kind: cached ? 'pod-uid' : 'pod' });
  const live = await deps.api.getPod(namespace, name);
  return live && slimPod(live);
}

/** A NAD from the cache, or read live when the cache has not seen it. */
export async function nadFor(deps: HandlerDeps, ref: NadName): Promise<NadObject | undefined> {
  const cached = deps.nads.get(ref.namespace, ref.name);
  if (cached) return cached;
  deps.metrics.misses.inc({ kind: 'nad' }); // e.g. created a moment before its pod, its event not here yet
  const live = await deps.api.getNad(ref.namespace, ref.name);
  return live && slimNad(live);
}

function unique(refs: NadName[]): NadName[] {
  return [...new Map(refs.map((r) => [`${r.namespace}/${r.name}`, r])).values()];
}

const isName = (n: unknown): boolean => typeof (n as NadName)?.namespace === 'string' && typeof (n as NadName)?.name === 'string';

/** Refuses a request whose pod or NADs are not names (code 7), before any cache or API is asked. */
export function checkRequest(req: ResolveRequest | ReportRequest): void {
  const ok = isName(req.pod) && typeof req.pod.uid === 'string' && (req.op === 'resolve'
    ? Array.isArray(req.nads) && req.nads.every(isName)
    : typeof req.annotations === 'object' && req.annotations !== null && Array.isArray(req.events));
  if (!ok) throw new CniError(ErrorCode.InvalidConfig, `malformed ${req.op} request`);
}

/** resolve: the pod, every NAD asked for or selected by the pod, and its devices when a NAD has a resourceName. */
export async function handleResolve(deps: HandlerDeps, req: ResolveRequest): Promise<ResolveReply> {
  const pod = await podFor(deps, req);
  const refs = unique([...req.nads, ...(pod ? selectedNads(pod.metadata.annotations ?? {}, req.pod.namespace, deps.config.multusNamespace) : [])]);
  const nads = await Promise.all(refs.map(async (r) => ({ ...r, nad: await nadFor(deps, r) })));
  const reply: ResolveReply = { v: PROTOCOL_VERSION, ok: true, ...(pod ? { pod } : {}), nads };
  if (!nads.some((n) => n.nad?.metadata.annotations?.[RESOURCE_NAME_ANNOTATION])) return reply;
  const ref = { ...req.pod, infraContainerID: '' };
  const context = { ref, annotations: pod?.metadata.annotations ?? {}, exists: pod !== undefined, uid: pod?.metadata.uid };
  try {
    // gRPC: loaded on the first pod with devices
    const devices = await kubeletPodDevices(deps.config, { ...req.pod, uid: kubeletPodUid(ref, context) }, await deps.kubelet());
    reply.devices = Object.fromEntries(devices);
  } catch (e) {
    reply.devicesError = (e as Error).message;
  }
  return reply;
}

/** report: the network-status merge-patch, answered once it succeeded or failed; events go on after the answer. */
export async function handleReport(deps: HandlerDeps, req: ReportRequest): Promise<ReportReply> {
  const target = { namespace: req.pod.namespace, name: req.pod.name, uid: req.pod.uid || undefined, eventUid: req.eventUid };
  const { written } = await apiStatusWriter(deps.api).writeStatus(target, req.annotations, req.events);
  return { v: PROTOCOL_VERSION, ok: true, written };
}

/** The agent's own caches and API connection as resolve/'s input source (its reconciles must not ask its own socket). */
export function agentInputSource(deps: HandlerDeps): InputSource {
  return {
    pods: deps.api,
    nads: { getNad: (namespace, name) => nadFor(deps, { namespace, name }) },
    podDevices: async (pod) => kubeletPodDevices(deps.config, pod, await deps.kubelet()),
    status: apiStatusWriter(deps.api),
  };
}
