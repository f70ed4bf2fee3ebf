import fs = require('node:fs');
import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import { CniError, ErrorCode } from '../cni/errors';
import descriptor from '../generated/podresources-descriptor.json';
import { log } from '../log';
import { elapsedMs, startTimer } from '../timing';
import { addDevices, checkpointDevices, type DeviceMap } from './checkpoint';

// Loaded only when a selected NAD names a resourceName: gRPC costs tens of milliseconds to load.

/** Where the kubelet's device assignments can be read. */
export interface KubeletSources {
  socket: string;
  checkpoint: string;
  timeoutMs: number;
}

/** The pod whose devices are wanted; `uid` ('' when unknown) is the kubelet's, needed only by the checkpoint. */
export interface PodKey { namespace: string; name: string; uid: string }

// Field names as the embedded descriptor has them: protobufjs camelCases the proto's snake_case names
// (resource_name → resourceName). Only field numbers go on the wire, so this is the kubelet's format.
interface ContainerDevices { resourceName: string; deviceIds: string[] }
interface PodResources { name: string; namespace: string; containers: Array<{ devices: ContainerDevices[] }> }

type Unary<Req, Res> = (req: Req, opts: { deadline: number }, cb: (err: grpc.ServiceError | null, res: Res) => void) => void;
interface Lister extends grpc.Client {
  Get: Unary<{ podName: string; podNamespace: string }, { podResources?: PodResources }>;
  List: Unary<Record<string, never>, { podResources: PodResources[] }>;
}

/** The error of a kubelet (1.27+) whose KubeletPodResourcesGet feature gate is off: a plain Go error, so status UNKNOWN. */
const GET_DISABLED = 'PodResources API Get method disabled';

// Get is unusable on kubelets before 1.27 (UNIMPLEMENTED) and on those with the feature gate off.
function getUnavailable(e: grpc.ServiceError): boolean {
  return e.code === grpc.status.UNIMPLEMENTED || (e.code === grpc.status.UNKNOWN && String(e.details ?? e.message).includes(GET_DISABLED));
}

// One gRPC call; at verbose, one 'kubelet round trip' line with its status and duration.
async function call<Req, Res>(method: string, fn: Unary<Req, Res>, client: Lister, req: Req, deadline: number): Promise<Res> {
  const started = startTimer();
  const done = (status: string) => log('verbose', 'kubelet round trip', () => ({ method, status, durationMs: elapsedMs(started) }));
  try {
    const res = await new Promise<Res>((resolve, reject) => fn.call(client, req, { deadline }, (err, r) => (err ? reject(err) : resolve(r))));
    done('OK');
    return res;
  } catch (e) {
    done(grpc.status[(e as grpc.ServiceError).code] ?? 'error');
    throw e;
  }
}

function devicesOf(pod: PodResources | undefined): DeviceMap {
  const map: DeviceMap = new Map();
  for (const c of pod?.containers ?? []) for (const d of c.devices ?? []) addDevices(map, d.resourceName, d.deviceIds ?? []);
  return map;
}

/**
 * A pod-resources (v1) client on the kubelet's socket. An exec'd braid opens one per ADD; the agent holds
 * one open (gRPC reconnects by itself when the kubelet restarts).
 */
export class PodResourcesClient {
  private readonly client: Lister;

  constructor(private readonly socket: string) {
    const pkg = grpc.loadPackageDefinition(fromJSON(descriptor as Parameters<typeof fromJSON>[0], { longs: String, defaults: true, arrays: true })) as any;
    this.client = new pkg.v1.PodResourcesLister(`unix://${socket}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
    });
  }

  /**
   * Get for the one pod, List where Get is not implemented or disabled. Both calls share one deadline,
   * so the whole exchange takes at most `timeoutMs`.
   */
  async devices(pod: PodKey, timeoutMs: number): Promise<DeviceMap> {
    const deadline = Date.now() + timeoutMs;
    const client = this.client;
    let method: 'Get' | 'List' = 'Get';
    try {
      try {
        const res = await call('Get', client.Get, client, { podName: pod.name, podNamespace: pod.namespace }, deadline);
        return devicesOf(res.podResources);
      } catch (e) {
        if (!getUnavailable(e as grpc.ServiceError)) throw e;
        log('verbose', `kubelet pod-resources Get is unavailable (${(e as Error).message}); using List`);
      }
      method = 'List';
      const res = await call('List', client.List, client, {}, deadline);
      return devicesOf(res.podResources.find((p) => p.name === pod.name && p.namespace === pod.namespace));
    } catch (e) {
      const why = (e as grpc.ServiceError).code === grpc.status.DEADLINE_EXCEEDED
        ? `no answer within kubeletTimeout (${timeoutMs / 1000} s${method === 'List' ? ', shared with the Get before it' : ''})`
        : (e as Error).message;
      throw new CniError(ErrorCode.TryAgainLater, `kubelet pod-resources at ${this.socket}: ${method} failed: ${why}`);
    }
  }

  /** Closes the channel. */
  close(): void {
    this.client.close();
  }
}

async function fromKubelet(socket: string, pod: PodKey, timeoutMs: number): Promise<DeviceMap> {
  const client = new PodResourcesClient(socket);
  try {
    return await client.devices(pod, timeoutMs);
  } finally {
    client.close();
  }
}

/** The devices the kubelet assigned to a pod, by resource name: the pod-resources socket (through `held` when given), else the checkpoint file. */
export async function podDevices(sources: KubeletSources, pod: PodKey, held?: PodResourcesClient): Promise<DeviceMap> {
  if (fs.existsSync(sources.socket)) return held ? held.devices(pod, sources.timeoutMs) : fromKubelet(sources.socket, pod, sources.timeoutMs);
  if (fs.existsSync(sources.checkpoint)) {
    log('verbose', `kubelet socket ${sources.socket} missing: reading devices from ${sources.checkpoint}`);
    if (!pod.uid) {
      throw new CniError(ErrorCode.InvalidConfig,
        `kubelet checkpoint ${sources.checkpoint} matches pods by UID, but CNI_ARGS has no K8S_POD_UID and braid learnt no UID from the Kubernetes API for pod ${pod.namespace}/${pod.name}`);
    }
    return checkpointDevices(sources.checkpoint, pod.uid);
  }
  throw new CniError(ErrorCode.TryAgainLater,
    `cannot learn the pod's devices: kubelet pod-resources socket ${sources.socket} and checkpoint ${sources.checkpoint} are both missing`);
}
