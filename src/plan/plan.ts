import { CniError, ErrorCode } from '../cni/errors';
import { parseCniArgs, validIfname } from '../cni/env';
import { ipFamily } from '../cni/ip';
import type { NetworkConfig } from '../config/netconf';
import type { NetworkSelection } from '../selection/networks';

/** One network to attach to the pod: everything a delegate call needs, fixed before any delegate runs. */
export interface Attachment {
  /** The name used in logs, errors and status: the conf name, or namespace/name for a NAD. */
  network: string;
  ifname: string;
  config: NetworkConfig;
  /** runtimeConfig offered to the plugins; each plugin receives only the keys its capabilities enable. */
  runtimeConfig: Record<string, unknown>;
  /** CNI_ARGS for this attachment's delegates. */
  cniArgs: string;
  clusterNetwork: boolean;
  /** Gateways this attachment should own the default route with (NAD spec `default-route`). */
  defaultRoute?: string[];
  /** The NAD's `k8s.v1.cni.cncf.io/resourceName`, for device-ID assignment. */
  resourceName?: string;
}

/** A network chosen for the pod, before interface naming. */
export interface Selection {
  config: NetworkConfig;
  /** Defaults to the config's name. */
  network?: string;
  /** The pod's selection element for this network (interface, ips, mac, cni-args...). */
  request?: NetworkSelection;
  resourceName?: string;
}

/** The inputs planning needs. */
export interface PlanInput {
  clusterNetwork: Selection;
  secondaries: Selection[];
  /** CNI_IFNAME from the runtime: the cluster network's interface. */
  ifname: string;
  /** The runtime's own runtimeConfig: reaches the cluster network only (NAD spec §7.5). */
  runtimeConfig: Record<string, unknown>;
  cniArgs: string;
}

function invalid(network: string, msg: string): CniError {
  return new CniError(ErrorCode.InvalidConfig, `network ${JSON.stringify(network)}: ${msg}`);
}

/** The runtimeConfig keys a selection element asks for (NAD spec §4.1.2 → CNI CONVENTIONS capabilities). */
export function requestedRuntimeConfig(req: NetworkSelection | undefined): Record<string, unknown> {
  if (!req) return {};
  const rc: Record<string, unknown> = {};
  if (req.ips) rc.ips = req.ips;
  if (req.mac) rc.mac = req.mac;
  if (req.infinibandGUID) rc.infinibandGUID = req.infinibandGUID;
  if (req.portMappings) rc.portMappings = req.portMappings;
  if (req.bandwidth) rc.bandwidth = req.bandwidth;
  if (req.deviceID) rc.deviceID = req.deviceID;
  return rc;
}

// NAD spec: a request no plugin of the network can honour fails the attachment (Multus drops it silently).
function checkCapabilities(network: string, config: NetworkConfig, requested: Record<string, unknown>): void {
  for (const key of Object.keys(requested)) {
    const supported = config.plugins.some((p) => (p.capabilities as Record<string, unknown> | undefined)?.[key] === true);
    if (!supported) throw invalid(network, `the pod requests ${JSON.stringify(key)} but no plugin in its config declares the ${JSON.stringify(key)} capability`);
  }
}

// `cni-args` (and ipam-claim-reference) go to args.cni of every plugin, the pod's values winning.
function withCniArgs(config: NetworkConfig, extra: Record<string, unknown>): NetworkConfig {
  if (Object.keys(extra).length === 0) return config;
  return {
    ...config,
    plugins: config.plugins.map((p) => {
      const args = (p.args ?? {}) as Record<string, unknown>;
      return { ...p, args: { ...args, cni: { ...((args.cni ?? {}) as Record<string, unknown>), ...extra } } };
    }),
  };
}

/** CNI_ARGS with `extra` pairs set (replacing same keys); IgnoreUnknown is added so older plugins accept them. */
export function extendCniArgs(base: string, extra: Array<[string, string]>): string {
  if (extra.length === 0) return base;
  const pairs = parseCniArgs(base).filter(([k]) => !extra.some(([e]) => e === k));
  if (!pairs.some(([k]) => k === 'IgnoreUnknown')) pairs.unshift(['IgnoreUnknown', '1']);
  return [...pairs, ...extra].map(([k, v]) => `${k}=${v}`).join(';');
}

function checkDefaultRoutes(plan: Attachment[]): void {
  for (const family of ['4', '6'] as const) {
    const owners = plan.flatMap((a) => (a.defaultRoute ?? []).filter((gw) => ipFamily(gw) === family).map((gw) => `${a.network} (${gw})`));
    if (owners.length > 1) {
      throw new CniError(ErrorCode.InvalidConfig, `default-route: more than one IPv${family} gateway requested (${owners.join(', ')}); ECMP is not supported`);
    }
  }
}

/**
 * Orders and names the attachments: cluster network first as CNI_IFNAME, then net1..netN by position
 * unless the pod asked for a name. Applies the pod's requests and refuses clashes before anything runs.
 */
export function buildPlan(input: PlanInput): Attachment[] {
  const all = [input.clusterNetwork, ...input.secondaries];
  const owner = new Map<string, string>();
  const plan = all.map((sel, index): Attachment => {
    const clusterNetwork = index === 0;
    const network = sel.network ?? sel.config.name;
    const req = sel.request;
    const ifname = clusterNetwork ? input.ifname : req?.interface ?? `net${index}`;
    if (!validIfname(ifname)) throw invalid(network, `invalid interface name ${JSON.stringify(ifname)}`);
    const previous = owner.get(ifname);
    if (previous !== undefined) throw invalid(network, `interface name ${ifname} is already used by network ${JSON.stringify(previous)}`);
    owner.set(ifname, network);
    const requested = requestedRuntimeConfig(req);
    checkCapabilities(network, sel.config, requested);
    const cniArgs = extendCniArgs(input.cniArgs, [
      ...(req?.ips ? [['IP', req.ips.join(',')] as [string, string]] : []),
      ...(req?.mac ? [['MAC', req.mac] as [string, string]] : []),
    ]);
    const argsCni = { ...(req?.ipamClaimReference ? { 'ipam-claim-reference': req.ipamClaimReference } : {}), ...(req?.cniArgs ?? {}) };
    return {
      network,
      ifname,
      config: withCniArgs(sel.config, argsCni),
      runtimeConfig: clusterNetwork ? { ...input.runtimeConfig, ...requested } : requested,
      cniArgs,
      clusterNetwork,
      ...(req?.defaultRoute ? { defaultRoute: req.defaultRoute } : {}),
      ...(sel.resourceName ? { resourceName: sel.resourceName } : {}),
    };
  });
  checkDefaultRoutes(plan);
  return plan;
}
