import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { onTestFinished } from 'vitest';
import { writeOciImage } from '../../packaging/oci-image.mjs';

// kubelet's side of the CRI: a runtime.v1 RuntimeService client over containerd's socket, the pod
// sandbox config kubelet sends, and the sandbox (pause) image kubelet's runtime would pull.

const FIXTURES = path.resolve(__dirname, '../fixtures');
/** The name the tests give their hand-built sandbox image. */
export const PAUSE_IMAGE = 'localhost/braid-test-pause:1';

/** The RuntimeService calls kubelet makes for a pod sandbox, as promises. */
export interface CriClient {
  version(): Promise<{ runtimeName: string; runtimeApiVersion: string }>;
  status(): Promise<{ status: { conditions: Array<{ type: string; status: boolean; reason: string; message: string }> } }>;
  runPodSandbox(config: PodSandboxConfig): Promise<string>;
  podSandboxStatus(id: string): Promise<PodSandboxStatusResponse>;
  stopPodSandbox(id: string): Promise<void>;
  removePodSandbox(id: string): Promise<void>;
  close(): void;
}

/** The part of PodSandboxStatusResponse the tests read. */
export interface PodSandboxStatusResponse {
  status: {
    id: string;
    state: 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
    network: { ip: string; additionalIps: Array<{ ip: string }> } | null;
    annotations: Record<string, string>;
  };
  /** Verbose info: containerd puts a JSON document under "info" (pid, netns path, runtime spec). */
  info: Record<string, string>;
}

/** A PodSandboxConfig (runtime.v1), camelCased as proto-loader takes it. */
export type PodSandboxConfig = Record<string, unknown>;

/** A CRI client on a unix socket, with the minimal runtime.v1 proto of test/fixtures/cri. */
export function criClient(socket: string): CriClient {
  const def = protoLoader.loadSync(path.join(FIXTURES, 'cri/runtime-v1.proto'), { longs: String, enums: String, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as any;
  const client = new pkg.runtime.v1.RuntimeService(`unix:${socket}`, grpc.credentials.createInsecure());
  const call = <T>(method: string, request: object): Promise<T> => new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + 120_000 }, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
  });
  return {
    version: () => call('Version', { version: 'v1' }),
    status: () => call('Status', {}),
    runPodSandbox: async (config) => (await call<{ podSandboxId: string }>('RunPodSandbox', { config, runtimeHandler: '' })).podSandboxId,
    podSandboxStatus: (id) => call('PodSandboxStatus', { podSandboxId: id, verbose: true }),
    stopPodSandbox: async (id) => { await call('StopPodSandbox', { podSandboxId: id }); },
    removePodSandbox: async (id) => { await call('RemovePodSandbox', { podSandboxId: id }); },
    close: () => client.close(),
  };
}

/** The pod fields kubelet derives a sandbox config from. */
export interface PodSpec {
  name: string;
  namespace: string;
  uid: string;
  annotations: Record<string, string>;
  logDirectory: string;
  cgroupParent: string;
}

/** The PodSandboxConfig kubelet sends for a pod (kuberuntime's generatePodSandboxConfig, pod network). */
export function kubeletSandboxConfig(pod: PodSpec): PodSandboxConfig {
  return {
    metadata: { name: pod.name, uid: pod.uid, namespace: pod.namespace, attempt: 0 },
    hostname: pod.name,
    logDirectory: pod.logDirectory,
    dnsConfig: { servers: ['10.250.0.10'], searches: [`${pod.namespace}.svc.cluster.local`, 'svc.cluster.local'], options: ['ndots:5'] },
    labels: { 'io.kubernetes.pod.name': pod.name, 'io.kubernetes.pod.namespace': pod.namespace, 'io.kubernetes.pod.uid': pod.uid },
    annotations: { 'kubernetes.io/config.source': 'api', 'kubernetes.io/config.seen': '2026-11-30T00:00:00Z', ...pod.annotations },
    linux: {
      cgroupParent: pod.cgroupParent,
      securityContext: {
        namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' },
        seccomp: { profileType: 'Unconfined' },
      },
    },
  };
}

/** The sandbox's PID (containerd's verbose info), whose /proc/<pid>/ns/net is the pod netns. */
export function sandboxPid(status: PodSandboxStatusResponse): number {
  return JSON.parse(status.info.info).pid as number;
}

/** Runs a command inside the netns of process `pid` and returns stdout. */
export function inNetnsOf(pid: number, command: string[]): string {
  return execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, ...command], { encoding: 'utf8' });
}

/** Interface name -> IPv4 CIDRs inside the netns of process `pid` (loopback left out). */
export function podInterfaces(pid: number): Record<string, string[]> {
  const links = JSON.parse(inNetnsOf(pid, ['ip', '-j', '-4', 'addr', 'show'])) as Array<{ ifname: string; addr_info: Array<{ local: string; prefixlen: number }> }>;
  return Object.fromEntries(links.filter((l) => l.ifname !== 'lo').map((l) => [l.ifname, l.addr_info.map((a) => `${a.local}/${a.prefixlen}`)]));
}

/** RunPodSandbox; the sandbox is stopped and removed when the current test ends, whatever happens. */
export async function runPodForTest(cri: CriClient, config: PodSandboxConfig): Promise<string> {
  const id = await cri.runPodSandbox(config);
  onTestFinished(async () => {
    await cri.stopPodSandbox(id).catch(() => undefined);
    await cri.removePodSandbox(id).catch(() => undefined);
  });
  return id;
}

/**
 * Builds the sandbox image by hand: a static C pause (test/fixtures/pause) packed by braid's own OCI
 * writer into `<dir>/pause.tar`, named PAUSE_IMAGE. Returns the archive's path.
 */
export function buildPauseImage(dir: string): string {
  const bin = path.join(dir, 'pause');
  execFileSync('gcc', ['-static', '-Os', '-s', '-o', bin, path.join(FIXTURES, 'pause/pause.c')]);
  const out = path.join(dir, 'pause.tar');
  writeOciImage({
    files: [{ path: 'pause', data: fs.readFileSync(bin), mode: 0o755 }],
    entrypoint: ['/pause'],
    name: PAUSE_IMAGE,
    out,
  });
  return out;
}
