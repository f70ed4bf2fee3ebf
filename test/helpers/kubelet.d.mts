// Types of kubelet.mjs, the kubelet pod-resources (v1) test server.

/** Path of the proto the server serves. */
export declare const PROTO: string;
/** The error text of a kubelet whose KubeletPodResourcesGet feature gate is off (gRPC status UNKNOWN). */
export declare const GET_DISABLED_MESSAGE: string;

/** Devices of one resource assigned to a container. */
export interface DeviceInput {
  resourceName: string;
  deviceIds: string[];
  /** NUMA node IDs of the devices' topology. */
  numaNodes?: number[];
}

export interface ContainerInput {
  name?: string;
  devices?: DeviceInput[];
}

export interface PodInput {
  name: string;
  /** Defaults to "default". */
  namespace?: string;
  containers?: ContainerInput[];
}

/** One RPC the server received, in the proto's field names (keepCase). */
export interface KubeletCall {
  method: 'List' | 'Get' | 'GetAllocatableResources';
  request: Record<string, any>;
  /** Date.now() when it arrived. */
  at: number;
}

/**
 * How Get answers: `ok` serves the pod (UNKNOWN "pod … not found" for an unknown one), `unimplemented`
 * answers UNIMPLEMENTED as a kubelet older than 1.27 does, `disabled` answers UNKNOWN
 * "PodResources API Get method disabled" as a kubelet with the KubeletPodResourcesGet gate off does.
 */
export type GetMode = 'ok' | 'unimplemented' | 'disabled';

export interface KubeletOptions {
  /** Where to put kubelet.sock; stop() then removes only the socket. Default: a temp dir stop() removes. */
  dir?: string;
  pods?: PodInput[];
  get?: GetMode;
  /** Devices GetAllocatableResources reports. */
  allocatable?: DeviceInput[];
  /** Delay before every answer, in milliseconds. */
  delayMs?: number;
}

export declare class KubeletServer {
  constructor(opts?: KubeletOptions);
  /** The dir holding the socket (removed by stop() when the server made it). */
  readonly dir: string;
  /** The unix socket path (serve as `unix://<socket>`). */
  readonly socket: string;
  pods: PodInput[];
  get: GetMode;
  allocatable: DeviceInput[];
  delayMs: number;
  calls: KubeletCall[];
  setPods(pods: PodInput[]): void;
  addPod(pod: PodInput): void;
  resetCalls(): void;
  listen(): Promise<this>;
  stop(): Promise<void>;
}

/** Starts a server on a fresh unix socket in a temp dir. */
export declare function startKubelet(opts?: KubeletOptions): Promise<KubeletServer>;
