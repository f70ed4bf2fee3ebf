// A kubelet pod-resources test server: the real v1 API (schemas/kubelet/podresources-v1.proto, loaded
// with @grpc/proto-loader) served by @grpc/grpc-js on a unix socket in a temp dir, as the kubelet serves
// /var/lib/kubelet/pod-resources/kubelet.sock. Tests give it pods → containers → devices, choose how
// Get behaves (answering, UNIMPLEMENTED like a kubelet older than 1.27, or the "Get method disabled"
// error of a kubelet whose KubeletPodResourcesGet feature gate is off), and read back every call.
//
// Plain ESM JavaScript, like apiserver.mjs; the types are in kubelet.d.mts.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROTO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../schemas/kubelet/podresources-v1.proto');

let cached;
/** The PodResourcesLister service definition from the proto (loaded once). */
function service() {
  if (!cached) {
    const def = protoLoader.loadSync(PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    cached = grpc.loadPackageDefinition(def).v1.PodResourcesLister.service;
  }
  return cached;
}

/** A device entry as the proto has it: resource_name, device_ids and (optional) NUMA topology. */
function wireDevices(devices = []) {
  return devices.map((d) => ({
    resource_name: d.resourceName,
    device_ids: [...(d.deviceIds ?? [])],
    ...(d.numaNodes ? { topology: { nodes: d.numaNodes.map((id) => ({ ID: String(id) })) } } : {}),
  }));
}

/** A pod as the proto has it. */
function wirePod(pod) {
  return {
    name: pod.name,
    namespace: pod.namespace ?? 'default',
    containers: (pod.containers ?? []).map((c) => ({ name: c.name ?? 'app', devices: wireDevices(c.devices), cpu_ids: [], memory: [], dynamic_resources: [] })),
    cpu_ids: [],
    memory: [],
  };
}

/** The kubelet's error texts, as its gRPC server returns them (status UNKNOWN, from a plain Go error). */
export const GET_DISABLED_MESSAGE = 'PodResources API Get method disabled';

export class KubeletServer {
  /**
   * @param {{ dir?: string, pods?: any[], get?: 'ok'|'unimplemented'|'disabled', allocatable?: any[], delayMs?: number }} [opts]
   */
  constructor(opts = {}) {
    // The caller's dir (kept by stop(), only the socket goes), or a temp dir of our own (removed by stop()).
    this.ownDir = !opts.dir;
    this.dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'braid-kubelet-'));
    fs.mkdirSync(this.dir, { recursive: true });
    this.socket = path.join(this.dir, 'kubelet.sock');
    this.pods = opts.pods ?? [];
    this.get = opts.get ?? 'ok';
    this.allocatable = opts.allocatable ?? [];
    this.delayMs = opts.delayMs ?? 0;
    this.calls = [];
    this.server = undefined;
  }

  /** Replaces the pods the server knows. */
  setPods(pods) {
    this.pods = pods;
  }

  /** Adds (or replaces, by namespace/name) one pod. */
  addPod(pod) {
    this.pods = [...this.pods.filter((p) => !(p.name === pod.name && (p.namespace ?? 'default') === (pod.namespace ?? 'default'))), pod];
  }

  resetCalls() {
    this.calls = [];
  }

  #answer(method, request, cb, fn) {
    this.calls.push({ method, request, at: Date.now() });
    const reply = () => {
      try {
        const r = fn();
        if (r && r.error) cb(r.error, null);
        else cb(null, r);
      } catch (e) {
        cb({ code: grpc.status.INTERNAL, details: String(e && e.message) }, null);
      }
    };
    if (this.delayMs > 0) setTimeout(reply, this.delayMs);
    else reply();
  }

  #handlers() {
    return {
      List: (call, cb) => this.#answer('List', call.request, cb, () => ({ pod_resources: this.pods.map(wirePod) })),
      Get: (call, cb) => this.#answer('Get', call.request, cb, () => {
        if (this.get === 'unimplemented') {
          // What a kubelet without the method answers (grpc-go's "unknown method").
          return { error: { code: grpc.status.UNIMPLEMENTED, details: 'unknown method Get for service v1.PodResourcesLister' } };
        }
        if (this.get === 'disabled') return { error: { code: grpc.status.UNKNOWN, details: GET_DISABLED_MESSAGE } };
        const { pod_name: name, pod_namespace: namespace } = call.request;
        const pod = this.pods.find((p) => p.name === name && (p.namespace ?? 'default') === namespace);
        if (!pod) return { error: { code: grpc.status.UNKNOWN, details: `pod ${name} in namespace ${namespace} not found` } };
        return { pod_resources: wirePod(pod) };
      }),
      GetAllocatableResources: (call, cb) => this.#answer('GetAllocatableResources', call.request, cb, () => ({
        devices: wireDevices(this.allocatable),
        cpu_ids: [],
        memory: [],
      })),
    };
  }

  /** Starts serving on `unix://<socket>`. */
  async listen() {
    const server = new grpc.Server();
    server.addService(service(), this.#handlers());
    await new Promise((resolve, reject) => {
      server.bindAsync(`unix://${this.socket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
    });
    this.server = server;
    return this;
  }

  /** Stops the server (open calls are cut) and removes the socket, and the temp dir when it made one. */
  async stop() {
    const server = this.server;
    this.server = undefined;
    if (server) {
      await new Promise((resolve) => {
        const timer = setTimeout(() => { server.forceShutdown(); resolve(); }, 1000);
        server.tryShutdown(() => { clearTimeout(timer); resolve(); });
      });
    }
    if (this.ownDir) fs.rmSync(this.dir, { recursive: true, force: true });
    else fs.rmSync(this.socket, { force: true });
  }
}

/** Starts a kubelet pod-resources server on a fresh unix socket and returns it. */
export async function startKubelet(opts = {}) {
  return new KubeletServer(opts).listen();
}
