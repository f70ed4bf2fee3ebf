import { CniError, ErrorCode } from '../cni/errors';
import { parseCniArgs, validIfname } from '../cni/env';
import { ipFamily } from '../cni/ip';
import type { NetworkConfig } from '../config/netconf';
import { isPciAddress } from '../devices/device-id';
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
  /** The device (VF PCI address) the kubelet assigned to this attachment. */
  deviceID?: string;
  /** Where the delegate writes its device-info (Multus's CNIDeviceInfoFile convention). */
  deviceInfoFile?: string;
  /** The auxiliary chain: adjusts existing interfaces, starts from an empty prevResult, has no status entry. */
  auxiliary?: boolean;
  /** Requested runtimeConfig keys no plugin declares: ips/mac went as CNI_ARGS only, the rest were ignored. */
  undeclared?: string[];
}

/** Where a chosen network's config came from (the API, a nadDir file, confDir, inline) and what chose it. */
export interface NetworkSource {
  from: string;
  by: string;
}

/** A network chosen for the pod, before interface naming. */
export interface Selection {
  config: NetworkConfig;
  /** For the verbose log: how this network came to be chosen. */
  source?: NetworkSource;
  /** Defaults to the config's name. */
  network?: string;
  /** The pod's selection element for this network (interface, ips, mac, cni-args...). */
  request?: NetworkSelection;
  resourceName?: string;
  /** An interface name fixed before planning (a running pod's existing or newly chosen name); wins over the request's. */
  ifname?: string;
  /** The auxiliary chain (auxiliaryCNIChainName): creates no interface; named after every other attachment. */
  auxiliary?: boolean;
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
  /** Device IDs per resource name, from the kubelet (only when some NAD names a resourceName). */
  devices?: Map<string, string[]>;
  containerID?: string;
  /** Root of the device-info files (`<dir>/dp` from device plugins, `<dir>/cni` for delegates). */
  deviceInfoDir?: string;
  /** Fail a request no plugin declares the capability for (NAD spec) instead of warning (Multus). */
  strictCapabilities?: boolean;
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

/** Requests that reach plugins without a capability: CNI_ARGS `IP=`/`MAC=`, which static IPAM and tuning read. */
const CNI_ARGS_PATH: Readonly<Record<string, string>> = { ips: 'IP', mac: 'MAC' };

/** Why a request no plugin declared the capability for was not sent as runtimeConfig (logged and posted as a warning). */
export function undeclaredWarning(network: string, key: string): string {
  const how = CNI_ARGS_PATH[key] ? `it goes only as CNI_ARGS ${CNI_ARGS_PATH[key]}=` : 'it is ignored';
  return `network ${JSON.stringify(network)}: the pod requests ${JSON.stringify(key)} but no plugin declares the ${JSON.stringify(key)} capability; ${how} (as in Multus; strictCapabilities refuses it)`;
}

// The requested keys no plugin of the network declares. The NAD spec fails those; Multus passes ips/mac
// as CNI_ARGS and ignores the rest, and pods rely on that, so failing is opt-in (strictCapabilities).
function undeclaredRequests(network: string, config: NetworkConfig, requested: Record<string, unknown>, strict: boolean): string[] {
  const undeclared = Object.keys(requested).filter((key) =>
    !config.plugins.some((p) => (p.capabilities as Record<string, unknown> | undefined)?.[key] === true));
  if (strict && undeclared.length > 0) {
    const key = undeclared[0];
    throw invalid(network, `the pod requests ${JSON.stringify(key)} but no plugin in its config declares the ${JSON.stringify(key)} capability (strictCapabilities)`);
  }
  return undeclared;
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

/** The CNI device-info file of an attachment: `<dir>/cni/<network>-<containerID>_<ifname>` with "/" as "-" (Multus). */
export function deviceInfoPath(dir: string, network: string, containerID: string, ifname: string): string {
  return `${dir}/cni/${`${network}-${containerID}_${ifname}`.replace(/\//g, '-')}`;
}

// Each attachment of a resource takes the next of its sorted device IDs, so two NADs on one resource get distinct VFs.
function deviceTaker(devices: Map<string, string[]> | undefined): (sel: Selection, network: string) => string | undefined {
  const next = new Map<string, number>();
  return (sel, network) => {
    if (!sel.resourceName) return undefined;
    const ids = [...(devices?.get(sel.resourceName) ?? [])].sort();
    const i = next.get(sel.resourceName) ?? 0;
    if (i >= ids.length) {
      throw invalid(network, `needs a device of resource ${sel.resourceName}, but the kubelet assigned the pod ${ids.length} (${ids.join(', ') || 'none'}) and earlier attachments took them`);
    }
    next.set(sel.resourceName, i + 1);
    return ids[i];
  };
}

// The device goes where sriov-cni and host-device look: top-level deviceID and pciBusID in every plugin.
// An auxiliary-bus device (a subfunction) is no PCI address, so never pciBusID: host-device finds it on the
// auxiliary bus through runtimeConfig.deviceID, offered to every plugin as pciBusID is for a VF.
function withDevice(config: NetworkConfig, deviceID: string | undefined): NetworkConfig {
  if (!deviceID) return config;
  type Plugin = Record<string, unknown>;
  const inject: (p: Plugin) => Plugin = isPciAddress(deviceID)
    ? (p) => ({ ...p, deviceID, pciBusID: deviceID })
    : (p) => ({ ...p, deviceID, capabilities: { ...(p.capabilities as Plugin | undefined), deviceID: true } });
  return { ...config, plugins: config.plugins.map(inject) };
}

// `net<index>` by position (Multus). The auxiliary chain, which creates no interface, takes the first
// free net<k> from there, so a pod that asked for that name does not fail on it.
function freeName(owner: ReadonlyMap<string, string>, index: number, auxiliary = false): string {
  let k = index;
  while (auxiliary && owner.has(`net${k}`)) k++;
  return `net${k}`;
}

/**
 * Orders and names the attachments: cluster network first as CNI_IFNAME, then net1..netN by position
 * unless the pod asked for a name. Applies the pod's requests and refuses clashes before anything runs.
 */
export function buildPlan(input: PlanInput): Attachment[] {
  const all = [input.clusterNetwork, ...input.secondaries];
  const owner = new Map<string, string>();
  const takeDevice = deviceTaker(input.devices);
  const plan = all.map((sel, index): Attachment => {
    const clusterNetwork = index === 0;
    const network = sel.network ?? sel.config.name;
    const req = sel.request;
    const ifname = clusterNetwork ? input.ifname : sel.ifname ?? req?.interface ?? freeName(owner, index, sel.auxiliary);
    if (!validIfname(ifname)) throw invalid(network, `invalid interface name ${JSON.stringify(ifname)}`);
    const previous = owner.get(ifname);
    if (previous !== undefined) throw invalid(network, `interface name ${ifname} is already used by network ${JSON.stringify(previous)}`);
    owner.set(ifname, network);
    const deviceID = takeDevice(sel, network);
    // A device from the resource wins over the element's own deviceID (Multus).
    const requested = requestedRuntimeConfig(deviceID ? { ...req!, deviceID: undefined } : req);
    const undeclared = undeclaredRequests(network, sel.config, requested, input.strictCapabilities ?? false);
    const deviceInfoFile = deviceID && input.deviceInfoDir ? deviceInfoPath(input.deviceInfoDir, network, input.containerID ?? '', ifname) : undefined;
    const deviceRuntime = { ...(deviceID ? { deviceID } : {}), ...(deviceInfoFile ? { CNIDeviceInfoFile: deviceInfoFile } : {}) };
    const cniArgs = extendCniArgs(input.cniArgs, [
      ...(req?.ips ? [['IP', req.ips.join(',')] as [string, string]] : []),
      ...(req?.mac ? [['MAC', req.mac] as [string, string]] : []),
    ]);
    const argsCni = { ...(req?.ipamClaimReference ? { 'ipam-claim-reference': req.ipamClaimReference } : {}), ...(req?.cniArgs ?? {}) };
    return {
      network,
      ifname,
      config: withDevice(withCniArgs(sel.config, argsCni), deviceID),
      runtimeConfig: { ...(clusterNetwork ? input.runtimeConfig : {}), ...requested, ...deviceRuntime },
      cniArgs,
      clusterNetwork,
      ...(req?.defaultRoute ? { defaultRoute: req.defaultRoute } : {}),
      ...(sel.resourceName ? { resourceName: sel.resourceName } : {}),
      ...(deviceID ? { deviceID } : {}),
      ...(deviceInfoFile ? { deviceInfoFile } : {}),
      ...(undeclared.length > 0 ? { undeclared } : {}),
      ...(sel.auxiliary ? { auxiliary: true } : {}),
    };
  });
  checkDefaultRoutes(plan);
  return plan;
}
