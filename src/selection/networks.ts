import { CniError, ErrorCode } from '../cni/errors';
import { validIfname } from '../cni/env';
import { isHardwareAddr, isIP, isIPOrCIDR } from '../cni/ip';

/** The pod annotation that selects secondary networks (NAD spec §4). */
export const NETWORKS_ANNOTATION = 'k8s.v1.cni.cncf.io/networks';
/** The Multus annotation that replaces the cluster network. */
export const DEFAULT_NETWORK_ANNOTATION = 'v1.multus-cni.io/default-network';

/** A port mapping request (CNI portMappings capability). */
export interface PortMapping { hostPort: number; containerPort: number; protocol?: string; hostIP?: string }

/** One validated NetworkSelectionElement (NAD spec v1.3 §4.1.2, plus Multus's deviceID/interfaceRequest). */
export interface NetworkSelection {
  name: string;
  namespace: string;
  interface?: string;
  ips?: string[];
  mac?: string;
  infinibandGUID?: string;
  defaultRoute?: string[];
  portMappings?: PortMapping[];
  bandwidth?: Record<string, number>;
  cniArgs?: Record<string, unknown>;
  ipamClaimReference?: string;
  deviceID?: string;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function invalid(element: string, why: string): CniError {
  return new CniError(ErrorCode.InvalidConfig, `invalid ${NETWORKS_ANNOTATION} element ${element}: ${why}`);
}

function checkName(kind: string, value: string, element: string): void {
  if (value.length > 63 || !DNS1123_LABEL.test(value)) {
    throw invalid(element, `${kind} ${JSON.stringify(value)} is not a valid DNS-1123 label`);
  }
}

/** Parses the networks annotation in either form: "a, ns/b, c@net5" or a JSON list of selection elements. */
export function parseNetworksAnnotation(value: string, podNamespace: string): NetworkSelection[] {
  const text = value.trim();
  if (text === '') return [];
  if (/[[{"]/.test(text)) return parseJsonForm(text, podNamespace);
  return text.split(',').map((item) => item.trim()).filter((item) => item !== '').map((item) => parseCommaItem(item, podNamespace));
}

function parseCommaItem(item: string, podNamespace: string): NetworkSelection {
  const element = JSON.stringify(item);
  let rest = item;
  let iface: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    iface = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!validIfname(iface)) throw invalid(element, `interface ${JSON.stringify(iface)} is not a valid interface name`);
  }
  const parts = rest.split('/');
  if (parts.length > 2) throw invalid(element, 'more than one "/"');
  const [namespace, name] = parts.length === 2 ? parts : [podNamespace, parts[0]];
  checkName('namespace', namespace, element);
  checkName('name', name, element);
  return { name, namespace, ...(iface !== undefined ? { interface: iface } : {}) };
}

function parseJsonForm(text: string, podNamespace: string): NetworkSelection[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CniError(ErrorCode.InvalidConfig, `invalid ${NETWORKS_ANNOTATION}: not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(doc)) throw new CniError(ErrorCode.InvalidConfig, `invalid ${NETWORKS_ANNOTATION}: the JSON form must be a list`);
  return doc.map((el) => parseElement(el, podNamespace));
}

function strings(v: unknown, element: string, key: string): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw invalid(element, `${key} must be a list of strings`);
  return v;
}

function port(v: unknown): boolean {
  return Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;
}

/** Validates one JSON-form selection element; the message quotes the element. */
export function parseElement(el: unknown, podNamespace: string): NetworkSelection {
  const element = JSON.stringify(el);
  if (typeof el !== 'object' || el === null || Array.isArray(el)) throw invalid(element, 'must be an object');
  const e = el as Record<string, unknown>;
  if (typeof e.name !== 'string' || e.name === '') throw invalid(element, '"name" is required');
  const sel: NetworkSelection = { name: e.name, namespace: podNamespace };
  checkName('name', e.name, element);
  if (e.namespace !== undefined && e.namespace !== '') {
    if (typeof e.namespace !== 'string') throw invalid(element, '"namespace" must be a string');
    checkName('namespace', e.namespace, element);
    sel.namespace = e.namespace;
  }
  const iface = e.interface || e.interfaceRequest;
  if (iface !== undefined && iface !== '') {
    if (typeof iface !== 'string' || !validIfname(iface)) throw invalid(element, `interface ${JSON.stringify(iface)} is not a valid interface name`);
    sel.interface = iface;
  }
  if (e.ips !== undefined) {
    const ips = strings(e.ips, element, '"ips"');
    const bad = ips.find((ip) => !isIPOrCIDR(ip));
    if (ips.length === 0 || bad !== undefined) throw invalid(element, `"ips" must hold valid IP addresses, got ${JSON.stringify(bad ?? ips)}`);
    sel.ips = ips;
  }
  if (e.mac !== undefined) {
    if (typeof e.mac !== 'string' || !isHardwareAddr(e.mac, [6])) throw invalid(element, `"mac" ${JSON.stringify(e.mac)} is not a valid MAC address`);
    sel.mac = e.mac;
  }
  if (e['infiniband-guid'] !== undefined) {
    const guid = e['infiniband-guid'];
    if (typeof guid !== 'string' || !isHardwareAddr(guid, [8, 20])) throw invalid(element, `"infiniband-guid" ${JSON.stringify(guid)} is not a valid GUID`);
    sel.infinibandGUID = guid;
  }
  if (e['default-route'] !== undefined) {
    const gws = strings(e['default-route'], element, '"default-route"');
    const bad = gws.find((gw) => !isIP(gw));
    if (bad !== undefined) throw invalid(element, `"default-route" gateway ${JSON.stringify(bad)} is not an IP address`);
    sel.defaultRoute = gws;
  }
  if (e.portMappings !== undefined) {
    if (!Array.isArray(e.portMappings)) throw invalid(element, '"portMappings" must be a list');
    sel.portMappings = e.portMappings.map((pm) => {
      const m = pm as Record<string, unknown>;
      if (typeof m !== 'object' || m === null || !port(m.hostPort) || !port(m.containerPort)) {
        throw invalid(element, `"portMappings" entry ${JSON.stringify(pm)} needs hostPort and containerPort in 1-65535`);
      }
      if (m.protocol !== undefined && !['TCP', 'UDP', 'SCTP'].includes(String(m.protocol).toUpperCase())) {
        throw invalid(element, `"portMappings" protocol ${JSON.stringify(m.protocol)} must be TCP, UDP or SCTP`);
      }
      if (m.hostIP !== undefined && (typeof m.hostIP !== 'string' || !isIP(m.hostIP))) {
        throw invalid(element, `"portMappings" hostIP ${JSON.stringify(m.hostIP)} is not an IP address`);
      }
      return { ...m, protocol: String(m.protocol ?? 'TCP').toLowerCase() } as PortMapping;
    });
  }
  if (e.bandwidth !== undefined) sel.bandwidth = checkBandwidth(e.bandwidth, element);
  if (e['cni-args'] !== undefined && e['cni-args'] !== null) {
    const args = e['cni-args'];
    if (typeof args !== 'object' || Array.isArray(args)) throw invalid(element, '"cni-args" must be an object');
    sel.cniArgs = args as Record<string, unknown>;
  }
  if (e['ipam-claim-reference'] !== undefined) {
    if (typeof e['ipam-claim-reference'] !== 'string' || e['ipam-claim-reference'] === '') throw invalid(element, '"ipam-claim-reference" must be a name');
    if (sel.ips) throw invalid(element, '"ips" and "ipam-claim-reference" are mutually exclusive');
    sel.ipamClaimReference = e['ipam-claim-reference'];
  }
  if (e.deviceID !== undefined && e.deviceID !== '') {
    if (typeof e.deviceID !== 'string') throw invalid(element, '"deviceID" must be a string');
    sel.deviceID = e.deviceID;
  }
  return sel;
}

const RATES = ['ingressRate', 'ingressBurst', 'egressRate', 'egressBurst'];

function checkBandwidth(v: unknown, element: string): Record<string, number> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(element, '"bandwidth" must be an object');
  const b = v as Record<string, unknown>;
  for (const [k, n] of Object.entries(b)) {
    if (!RATES.includes(k)) throw invalid(element, `"bandwidth" has unknown key ${JSON.stringify(k)}`);
    if (!Number.isInteger(n) || (n as number) <= 0) throw invalid(element, `"bandwidth" ${k} must be a positive integer`);
  }
  if (b.ingressBurst !== undefined && b.ingressRate === undefined) throw invalid(element, '"bandwidth" ingressBurst needs ingressRate');
  if (b.egressBurst !== undefined && b.egressRate === undefined) throw invalid(element, '"bandwidth" egressBurst needs egressRate');
  return b as Record<string, number>;
}

/** Parses `v1.multus-cni.io/default-network`: "name", "ns/name" or a one-element JSON list; the namespace defaults to `fallbackNamespace`. */
export function parseDefaultNetworkAnnotation(value: string, fallbackNamespace: string): NetworkSelection {
  const list = parseNetworksAnnotation(value, fallbackNamespace);
  if (list.length !== 1) {
    throw new CniError(ErrorCode.InvalidConfig, `invalid ${DEFAULT_NETWORK_ANNOTATION}: exactly one network is allowed, got ${list.length}`);
  }
  return list[0];
}
