import type { NadName } from '../agent/protocol';
import type { Request } from '../cni/env';
import type { BraidConfig } from '../config/braid-config';
import type { PodObject, PodRef } from '../k8s/pod';
import { apiStatusWriter, type StatusWriter } from '../k8s/status-writer';
import type { DeviceMap } from '../kubelet/checkpoint';
import type { PodKey, PodResourcesClient } from '../kubelet/podresources';
import { apiConfigured, openApi, openNadDir, type NadSource } from './nads';
import { selectedNads } from './selected';

/** Reads pods from the cluster. */
export interface PodReader {
  /** The pod; undefined when it does not exist. */
  getPod(namespace: string, name: string): Promise<PodObject | undefined>;
}

/**
 * Where resolve/ gets a pod's inputs and where ADD writes its status: the agent when it answers, else the
 * API, nadDir and kubelet directly. Callers cannot tell which one they got.
 */
export interface InputSource {
  /** Absent without an API. */
  pods?: PodReader;
  /** The API's NADs, or nadDir's; absent when there is neither. */
  nads?: NadSource;
  /** The devices the kubelet assigned to the pod, by resource name. */
  podDevices(pod: PodKey): Promise<DeviceMap>;
  /** Absent without an API. */
  status?: StatusWriter;
}

/** Device IDs straight from the kubelet (gRPC, loaded only now) or its checkpoint; `client` is a held connection (the agent's). */
export async function kubeletPodDevices(config: BraidConfig, pod: PodKey, client?: PodResourcesClient): Promise<DeviceMap> {
  const { podDevices } = await import('../kubelet/podresources');
  return podDevices({ socket: config.kubeletSocket, checkpoint: config.kubeletCheckpoint, timeoutMs: config.kubeletTimeout * 1000 }, pod, client);
}

/** The thin path: the API (when configured), else nadDir when `lookups` may need NADs, and the kubelet. */
export async function openDirectSource(config: BraidConfig, lookups: boolean): Promise<InputSource> {
  const api = lookups ? await openApi(config) : undefined;
  const nads: NadSource | undefined = api ?? (config.nadDir && lookups ? await openNadDir(config.nadDir) : undefined);
  return { pods: api, nads, podDevices: (pod) => kubeletPodDevices(config, pod), status: api && apiStatusWriter(api) };
}

/** What to ask the agent for: the NADs known to be needed, and whether the runtime passed the pod's annotations. */
export interface AgentAsk { nads: NadName[]; podKnown: boolean }

/**
 * The source for one command. The agent is asked only on ADD, for a pod, with an API configured, and
 * when `agent` is given (the pod may select networks): VERSION, DEL, clusterless configs and pods
 * without secondary networks never touch its socket.
 */
export async function openSource(config: BraidConfig, ref: PodRef | undefined, lookups: boolean, agent?: AgentAsk): Promise<InputSource> {
  if (ref && agent && apiConfigured(config)) {
    const { agentSource } = await import('./agent-source');
    return agentSource(config, ref, agent);
  }
  return openDirectSource(config, lookups);
}

/**
 * What to ask the agent, or undefined when it is not to be asked: only ADD of a pod that may select
 * networks (its annotations unknown yet, or selecting some, or config naming NADs).
 */
export function agentAsk(req: Request, config: BraidConfig, ref: PodRef | undefined, fromRuntime: Record<string, string> | undefined, byConfig: NadName[]): AgentAsk | undefined {
  if (req.command !== 'ADD' || !ref) return undefined;
  const selected = fromRuntime ? selectedNads(fromRuntime, ref.namespace, config.multusNamespace) : [];
  if (fromRuntime && selected.length === 0 && byConfig.length === 0) return undefined;
  return { nads: [...byConfig, ...selected], podKnown: fromRuntime !== undefined };
}
