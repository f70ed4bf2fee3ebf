import { CniError, ErrorCode } from '../cni/errors';
import type { Command, Request } from '../cni/env';
import type { BraidConfig } from '../config/braid-config';
import { chainBaseDir, findNetworkByName, loadChainDir, normalizeNetwork, resolveNetworkFromDisk, type NetworkConfig } from '../config/netconf';
import { isStaticPod, podFromCniArgs, type PodRef } from '../k8s/pod';
import type { StatusWriter } from '../k8s/status-writer';
import { log } from '../log';
import { buildPlan, type Attachment, type PlanInput, type Selection } from '../plan/plan';
import { isDns1123Subdomain } from '../selection/names';
import {
  DEFAULT_NETWORK_ANNOTATION,
  NETWORKS_ANNOTATION,
  parseDefaultNetworkAnnotation,
  parseNetworksAnnotation,
  type NetworkSelection,
} from '../selection/networks';
import { logChoices } from './choices';
import { apiConfigured, nadOrigin, networkFromNad, openNadDir, type NadSource } from './nads';
import { agentAsk, kubeletPodDevices, openSource, type InputSource, type PodReader } from './source';

/** The runtimeConfig key containerd and CRI-O fill with the pod's annotations (when braid declares the capability). */
export const POD_ANNOTATIONS_CAPABILITY = 'io.kubernetes.cri.pod-annotations';

/** The pod behind this invocation, as far as braid could learn it. */
export interface PodContext {
  ref: PodRef;
  annotations: Record<string, string>;
  /** False when the API says the pod no longer exists. */
  exists: boolean;
  /**
   * The UID of the pod object in the API (a static pod's mirror differs from K8S_POD_UID); undefined
   * when unknown. Writes carry it so they cannot land on a pod recreated under the same name.
   */
  uid?: string;
}

/** Everything ADD (or a cache-less DEL) needs: the plan, the pod and where to report its status. */
export interface Resolution {
  plan: Attachment[];
  pod?: PodContext;
  status?: StatusWriter;
}

// Inline `delegates` (ignored when clusterNetwork is set, as in Multus): [0] is the cluster network.
function inlineDelegates(config: BraidConfig): Selection[] {
  if (config.clusterNetwork) return [];
  return (config.delegates ?? []).map((d, i) => ({
    config: normalizeNetwork(d, `delegates[${i}]`, config.cniVersion),
    source: { from: 'inline', by: `delegates[${i}]` },
  }));
}

/** The networks the config names, as far as they resolve without the API; API-only NADs are left out. */
export interface OfflineNetworks {
  /** undefined when it is a NAD that only the API knows. */
  clusterNetwork?: NetworkConfig;
  secondaries: NetworkConfig[];
  /** Names left out because only the API can resolve them. */
  apiOnly: string[];
}

/**
 * The cluster network, further inline delegates and defaultNetworks, resolved as ADD would but without
 * the API (STATUS and GC are frequent and must stay cheap): a name is a NAD of nadDir, else a conf in
 * confDir; with an API configured, a name found in neither is taken to be a NAD and left out.
 * `clusterOnly` resolves nothing else.
 */
export async function offlineNetworks(config: BraidConfig, opts: { clusterOnly?: boolean } = {}): Promise<OfflineNetworks> {
  const hasApi = apiConfigured(config);
  const nads = !hasApi && config.nadDir ? await openNadDir(config.nadDir) : undefined;
  const apiOnly: string[] = [];
  const resolve = async (ref: string): Promise<NetworkConfig | undefined> => {
    if (isNadName(ref)) {
      const nad = await nads?.getNad(config.multusNamespace, ref);
      if (nad) return networkFromNad(nad, config).config;
      if (hasApi && !findNetworkByName(config.confDir, ref, config.cniVersion)) {
        apiOnly.push(ref);
        return undefined;
      }
    }
    return resolveNetworkFromDisk(ref, config.confDir, config.cniVersion); // or its "not found" error
  };
  const inline = inlineDelegates(config).map((s) => s.config);
  const clusterNetwork = config.clusterNetwork ? await resolve(config.clusterNetwork) : inline[0];
  if (opts.clusterOnly) return { clusterNetwork, secondaries: [], apiOnly };
  const defaults = await Promise.all(config.defaultNetworks.map(resolve));
  const secondaries = [...inline.slice(1), ...defaults].filter((n): n is NetworkConfig => n !== undefined);
  return { clusterNetwork, secondaries, apiOnly };
}

// A NAD named by a selection element: `namespace/name` in status, with the element's requests.
async function nadSelection(nads: NadSource, config: BraidConfig, sel: NetworkSelection, annotation: string): Promise<Selection> {
  const nad = await nads.getNad(sel.namespace, sel.name);
  if (!nad) throw new CniError(ErrorCode.InvalidConfig, `NetworkAttachmentDefinition ${sel.namespace}/${sel.name} not found`);
  const { config: net, resourceName } = networkFromNad(nad, config);
  const source = { from: nadOrigin(nad), by: `pod annotation ${annotation}` };
  return { config: net, network: `${sel.namespace}/${sel.name}`, request: sel, resourceName, source };
}

// A clusterNetwork / defaultNetworks entry that may name a NAD: no "/" (a path) and a valid NAD name.
function isNadName(ref: string): boolean {
  return !ref.includes('/') && isDns1123Subdomain(ref);
}

// clusterNetwork / defaultNetworks entries: a name is a NAD in multusNamespace first, then a conf in confDir (Multus).
async function configNetwork(ref: string, config: BraidConfig, nads: NadSource | undefined, key: string): Promise<Selection> {
  if (isNadName(ref) && nads) {
    const nad = await nads.getNad(config.multusNamespace, ref);
    if (nad) {
      const { config: net, resourceName } = networkFromNad(nad, config);
      return { config: net, network: `${config.multusNamespace}/${ref}`, resourceName, source: { from: nadOrigin(nad), by: key } };
    }
  }
  const from = ref.includes('/') ? `file ${ref}` : `confDir ${config.confDir}`;
  return { config: resolveNetworkFromDisk(ref, config.confDir, config.cniVersion), source: { from, by: key } };
}

function runtimeAnnotations(config: BraidConfig): Record<string, string> | undefined {
  const a = config.runtimeConfig[POD_ANNOTATIONS_CAPABILITY];
  if (typeof a !== 'object' || a === null || Array.isArray(a)) return undefined;
  // Annotation values are strings (CRI map<string,string>); cnitool's CAP_ARGS can carry anything.
  for (const key of [NETWORKS_ANNOTATION, DEFAULT_NETWORK_ANNOTATION]) {
    const v = (a as Record<string, unknown>)[key];
    if (v !== undefined && typeof v !== 'string') {
      throw new CniError(ErrorCode.InvalidConfig,
        `runtimeConfig ${JSON.stringify(POD_ANNOTATIONS_CAPABILITY)}: annotation ${key} must be a string, got ${JSON.stringify(v)}`);
    }
  }
  return a as Record<string, string>;
}

// Runtime annotations that select networks need the pod named in CNI_ARGS (its namespace qualifies the
// NADs): ADD refuses rather than silently attaching the cluster network only; DEL only warns.
function unnamedPodSelects(annotations: Record<string, string>, command: Command): void {
  const selecting = [NETWORKS_ANNOTATION, DEFAULT_NETWORK_ANNOTATION].filter((k) => (annotations[k] ?? '').trim() !== '');
  if (selecting.length === 0) return;
  const msg = `runtimeConfig ${JSON.stringify(POD_ANNOTATIONS_CAPABILITY)} has ${selecting.join(' and ')}, but CNI_ARGS names no pod: the pod must be named in CNI_ARGS (K8S_POD_NAMESPACE, K8S_POD_NAME)`;
  if (command === 'ADD') throw new CniError(ErrorCode.InvalidConfig, msg);
  log('warning', `${msg}; the annotations are ignored`);
}

// Without a GET, K8S_POD_UID is the API's UID, except for a static pod (its mirror pod has its own).
function runtimePodUid(ref: PodRef, annotations: Record<string, string>): string | undefined {
  return ref.uid && !isStaticPod({ metadata: { name: ref.name, namespace: ref.namespace, annotations } }) ? ref.uid : undefined;
}

async function lookUpPod(pods: PodReader | undefined, ref: PodRef, command: Command): Promise<PodContext | undefined> {
  if (!pods) return undefined;
  let pod;
  try {
    pod = await pods.getPod(ref.namespace, ref.name);
  } catch (e) {
    if (command === 'ADD') throw e;
    log('error', `cannot get pod ${ref.namespace}/${ref.name} (${(e as Error).message}); continuing without it`);
    return undefined;
  }
  if (!pod) return { ref, annotations: {}, exists: false };
  const uid = pod.metadata.uid ?? '';
  if (ref.uid && uid && ref.uid !== uid && !isStaticPod(pod)) {
    const msg = `expected pod UID ${JSON.stringify(ref.uid)} but got ${JSON.stringify(uid)} from the Kubernetes API for ${ref.namespace}/${ref.name}`;
    if (command === 'ADD') throw new CniError(ErrorCode.TryAgainLater, msg);
    log('warning', msg);
  }
  return { ref, annotations: pod.metadata.annotations ?? {}, exists: true, uid: uid || undefined };
}

function checkIsolation(config: BraidConfig, pod: PodRef, sels: NetworkSelection[]): void {
  if (!config.namespaceIsolation) return;
  for (const sel of sels) {
    if (sel.namespace !== pod.namespace && !config.globalNamespaces.includes(sel.namespace)) {
      throw new CniError(ErrorCode.InvalidConfig,
        `namespace isolation enabled, annotation violates permission, pod is in namespace ${pod.namespace} but refers to target namespace ${sel.namespace} (network ${sel.name})`);
    }
  }
}

// The pod's own choices: the default-network override and the annotation networks, every NAD fetched in parallel.
async function podSelections(pod: PodContext | undefined, config: BraidConfig, nads: NadSource | undefined): Promise<{ cluster?: Selection; secondaries: Selection[] }> {
  if (!pod?.exists) return { secondaries: [] };
  const override = pod.annotations[DEFAULT_NETWORK_ANNOTATION];
  const sels = parseNetworksAnnotation(pod.annotations[NETWORKS_ANNOTATION] ?? '', pod.ref.namespace);
  checkIsolation(config, pod.ref, sels);
  if ((override || sels.length > 0) && !nads) {
    throw new CniError(ErrorCode.InvalidConfig,
      `pod ${pod.ref.namespace}/${pod.ref.name} selects networks, but braid has no NetworkAttachmentDefinition source: set kubeconfig (or run in-cluster) or nadDir`);
  }
  const [cluster, ...secondaries] = await Promise.all([
    override ? nadSelection(nads!, config, parseDefaultNetworkAnnotation(override, config.multusNamespace), DEFAULT_NETWORK_ANNOTATION) : undefined,
    ...sels.map((sel) => nadSelection(nads!, config, sel, NETWORKS_ANNOTATION)),
  ]);
  return { cluster, secondaries: secondaries as Selection[] };
}

// Device IDs matter only when some network names a resourceName: only then is the gRPC client loaded.
async function kubeletDevices(source: InputSource, ref: PodRef | undefined, pod: PodContext | undefined, sels: Selection[]): Promise<Map<string, string[]> | undefined> {
  if (!sels.some((s) => s.resourceName)) return undefined;
  if (!ref) throw new CniError(ErrorCode.InvalidConfig, 'a network needs kubelet devices (resourceName), but CNI_ARGS names no pod');
  return source.podDevices({ namespace: ref.namespace, name: ref.name, uid: kubeletPodUid(ref, pod) });
}

/**
 * The UID the kubelet files the pod's devices under: K8S_POD_UID, else the API object's. A static pod's
 * kubelet UID is its config hash (the mirror pod in the API has a UID of its own). '' when unknown.
 */
export function kubeletPodUid(ref: PodRef, pod: PodContext | undefined): string {
  if (ref.uid || !pod?.exists) return ref.uid;
  const metadata = { name: ref.name, namespace: ref.namespace, annotations: pod.annotations };
  return (isStaticPod({ metadata }) ? pod.annotations['kubernetes.io/config.hash'] : pod.uid) ?? '';
}

// Multus's auxiliary chain, the last step of every pod (system namespaces and gone pods included): the
// .conf files in <dir of clusterNetwork>/<auxiliaryCNIChainName>/, none when that holds no conf.
function auxiliaryChain(config: BraidConfig): Selection[] {
  const name = config.auxiliaryCNIChainName;
  if (!name) return [];
  const dir = chainBaseDir(config.clusterNetwork, config.confDir);
  const chain = loadChainDir(dir, name, config.cniVersion);
  if (!chain) log('verbose', `auxiliaryCNIChainName ${name}: ${dir}/${name} holds no .conf file; no auxiliary chain`);
  return chain ? [{ config: chain, auxiliary: true, source: { from: `${dir}/${name}`, by: 'auxiliaryCNIChainName' } }] : [];
}

/** The gathered inputs of an ADD, before planning: what buildPlan needs, plus the pod and where to report its status. */
export interface ResolvedInputs {
  input: PlanInput;
  pod?: PodContext;
  status?: StatusWriter;
}

/**
 * Inputs a caller already holds, used instead of asking for them (braid plan: the pod from its manifest,
 * NADs from a directory, devices from a file): no API, nadDir or kubelet is consulted for what is given.
 */
export interface GivenInputs {
  pod?: PodContext;
  nads?: NadSource;
  devices?: Map<string, string[]>;
  /** The whole source (the agent's own caches and API connection, for its reconciles). */
  source?: InputSource;
}

/** Gathers the inputs of an ADD and plans it (see resolveInputs). */
export async function resolveAttachments(req: Request, config: BraidConfig, given: GivenInputs = {}): Promise<Resolution> {
  const { input, pod, status } = await resolveInputs(req, config, given);
  const plan = buildPlan(input);
  logChoices(plan, [input.clusterNetwork, ...input.secondaries]);
  return { plan, pod, status };
}

/**
 * Gathers the inputs of an ADD, with as few sequential API round trips as possible:
 * the pod (skipped when the runtime passed its annotations) and config networks named by name go
 * out together; the pod's NADs follow as soon as its annotations are known, all in parallel.
 */
export async function resolveInputs(req: Request, config: BraidConfig, given: GivenInputs = {}): Promise<ResolvedInputs> {
  const ref = podFromCniArgs(req.args);
  const fromRuntime = runtimeAnnotations(config);
  if (!ref && fromRuntime) unnamedPodSelects(fromRuntime, req.command);
  // Kubernetes (or the NAD directory) is opened only when something may be looked up in it.
  const byConfig = [config.clusterNetwork ?? '', ...config.defaultNetworks].filter(isNadName).map((name) => ({ namespace: config.multusNamespace, name }));
  const source: InputSource = given.source ?? (given.nads
    ? { nads: given.nads, podDevices: (p) => kubeletPodDevices(config, p) }
    : await openSource(config, ref, ref !== undefined || byConfig.length > 0, agentAsk(req, config, ref, fromRuntime, byConfig)));
  const nads = source.nads;
  const podP: Promise<PodContext | undefined> = !ref
    ? Promise.resolve(undefined)
    : given.pod ? Promise.resolve(given.pod) : fromRuntime
      ? Promise.resolve({ ref, annotations: fromRuntime, exists: true, uid: runtimePodUid(ref, fromRuntime) })
      : lookUpPod(source.pods, ref, req.command);
  const systemPod = ref !== undefined && config.systemNamespaces.includes(ref.namespace);
  const settle = <T>(p: Promise<T>) => p.then((value) => ({ value }), (error: unknown) => ({ error }));
  const inline = inlineDelegates(config);
  const [pod, cluster, defaults, chosen] = await Promise.all([
    podP,
    settle(config.clusterNetwork ? configNetwork(config.clusterNetwork, config, nads, 'clusterNetwork') : Promise.resolve(inline[0])),
    Promise.all(systemPod ? [] : config.defaultNetworks.map((n) => configNetwork(n, config, nads, 'defaultNetworks'))),
    podP.then((p) => podSelections(p, config, nads)),
  ]);
  if (pod && !pod.exists) log('error', `pod ${pod.ref.namespace}/${pod.ref.name} no longer exists: attaching the cluster network only`);
  if (systemPod && config.defaultNetworks.length > 0) log('verbose', `pod namespace ${ref!.namespace} is a system namespace: defaultNetworks skipped`);
  let clusterNetwork = chosen.cluster;
  if (!clusterNetwork) {
    if ('error' in cluster) throw cluster.error;
    clusterNetwork = cluster.value;
  }
  const secondaries = [...(pod && !pod.exists ? [] : [...inline.slice(1), ...defaults, ...chosen.secondaries]), ...auxiliaryChain(config)];
  const devices = given.devices ?? await kubeletDevices(source, ref, pod, [clusterNetwork, ...secondaries]);
  const input: PlanInput = {
    clusterNetwork, secondaries, ifname: req.ifname, runtimeConfig: config.runtimeConfig, cniArgs: req.args,
    devices, containerID: req.containerID, deviceInfoDir: config.deviceInfoDir, strictCapabilities: config.strictCapabilities,
  };
  return { input, pod, status: source.status };
}

