import { CniError, ErrorCode } from '../cni/errors';
import { validIfname } from '../cni/env';
import { isHardwareAddr, isIP, isIPOrCIDR } from '../cni/ip';
import { nadNameProblem, namespaceProblem } from './names';

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

// Builds the code-7 error for element `index` of `annotation`, quoting the element; `key` names the
// offending field of a JSON-form element (its pointer is /<index>/<key> within the annotation).
type Invalid = (why: string, key?: string) => CniError;
function invalidElement(annotation: string, element: string, index: number): Invalid {
  return (why, key) => new CniError(ErrorCode.InvalidConfig, `invalid ${annotation} element ${element}: ${why}`, '',
    `/${index}${key ? `/${key}` : ''}`);
}

// NAD names are DNS-1123 subdomains ("macvlan.v1" is valid), namespaces DNS-1123 labels (Multus, apimachinery).
function checkRef(namespace: string, name: string, invalid: Invalid): void {
  const nsProblem = namespaceProblem(namespace);
  if (nsProblem) throw invalid(nsProblem, 'namespace');
  const nameProblem = nadNameProblem(name);
  if (nameProblem) throw invalid(nameProblem, 'name');
}

/**
 * Parses the networks annotation in either form: "a, ns/b, c@net5" or a JSON list of selection elements.
 * Errors name `annotation` (the default-network annotation shares the syntax).
 */
export function parseNetworksAnnotation(value: string, podNamespace: string, annotation = NETWORKS_ANNOTATION): NetworkSelection[] {
  const text = value.trim();
  if (text === '') return [];
  if (/[[{"]/.test(text)) return parseJsonForm(text, podNamespace, annotation);
  return text.split(',').map((item) => item.trim()).filter((item) => item !== '').map((item, i) => parseCommaItem(item, podNamespace, annotation, i));
}

function parseCommaItem(item: string, podNamespace: string, annotation: string, index: number): NetworkSelection {
  const element = invalidElement(annotation, JSON.stringify(item), index);
  const invalid: Invalid = (why) => element(why); // the comma form has no keys to point at
  let rest = item;
  let iface: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    iface = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!validIfname(iface)) throw invalid(`interface ${JSON.stringify(iface)} is not a valid interface name`);
  }
  const parts = rest.split('/');
  if (parts.length > 2) throw invalid('more than one "/"');
  const [namespace, name] = parts.length === 2 ? parts : [podNamespace, parts[0]];
  checkRef(namespace, name, invalid);
  return { name, namespace, ...(iface !== undefined ? { interface: iface } : {}) };
}

function parseJsonForm(text: string, podNamespace: string, annotation: string): NetworkSelection[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CniError(ErrorCode.InvalidConfig, `invalid ${annotation}: not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(doc)) throw new CniError(ErrorCode.InvalidConfig, `invalid ${annotation}: the JSON form must be a list`);
  return doc.map((el, i) => parseElement(el, podNamespace, annotation, i));
}

function strings(v: unknown, invalid: Invalid, key: string): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw invalid(`"${key}" must be a list of strings`, key);
  return v;
}

function port(v: unknown): boolean {
  return Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;
}

// Validates one JSON-form selection element of `annotation`; the message names the annotation and quotes the element.
function parseElement(el: unknown, podNamespace: string, annotation: string, index: number): NetworkSelection {
  const invalid = invalidElement(annotation, JSON.stringify(el), index);
  if (typeof el !== 'object' || el === null || Array.isArray(el)) throw invalid('must be an object');
  const e = el as Record<string, unknown>;
  if (typeof e.name !== 'string' || e.name === '') throw invalid('"name" is required', 'name');
  const sel: NetworkSelection = { name: e.name, namespace: podNamespace };
  if (e.namespace !== undefined && e.namespace !== '') {
    if (typeof e.namespace !== 'string') throw invalid('"namespace" must be a string', 'namespace');
    sel.namespace = e.namespace;
  }
  checkRef(sel.namespace, sel.name, invalid);
  const iface = e.interface || e.interfaceRequest;
  if (iface !== undefined && iface !== '') {
    if (typeof iface !== 'string' || !validIfname(iface)) throw invalid(`interface ${JSON.stringify(iface)} is not a valid interface name`, e.interface ? 'interface' : 'interfaceRequest');
    sel.interface = iface;
  }
  if (e.ips !== undefined) {
    const ips = strings(e.ips, invalid, 'ips');
    const bad = ips.find((ip) => !isIPOrCIDR(ip));
    if (ips.length === 0 || bad !== undefined) throw invalid(`"ips" must hold valid IP addresses, got ${JSON.stringify(bad ?? ips)}`, 'ips');
    sel.ips = ips;
  }
  if (e.mac !== undefined) {
    if (typeof e.mac !== 'string' || !isHardwareAddr(e.mac, [6])) throw invalid(`"mac" ${JSON.stringify(e.mac)} is not a valid MAC address`, 'mac');
    sel.mac = e.mac;
  }
  if (e['infiniband-guid'] !== undefined) {
    const guid = e['infiniband-guid'];
    if (typeof guid !== 'string' || !isHardwareAddr(guid, [8, 20])) throw invalid(`"infiniband-guid" ${JSON.stringify(guid)} is not a valid GUID`, 'infiniband-guid');
    sel.infinibandGUID = guid;
  }
  if (e['default-route'] !== undefined) {
    const gws = strings(e['default-route'], invalid, 'default-route');
    const bad = gws.find((gw) => !isIP(gw));
    if (bad !== undefined) throw invalid(`"default-route" gateway ${JSON.stringify(bad)} is not an IP address`, 'default-route');
    sel.defaultRoute = gws;
  }
  if (e.portMappings !== undefined) {
    if (!Array.isArray(e.portMappings)) throw invalid('"portMappings" must be a list', 'portMappings');
    sel.portMappings = e.portMappings.map((pm, i) => {
      const m = pm as Record<string, unknown>;
      if (typeof m !== 'object' || m === null || !port(m.hostPort) || !port(m.containerPort)) {
        throw invalid(`"portMappings" entry ${JSON.stringify(pm)} needs hostPort and containerPort in 1-65535`, `portMappings/${i}`);
      }
      if (m.protocol !== undefined && !['TCP', 'UDP', 'SCTP'].includes(String(m.protocol).toUpperCase())) {
        throw invalid(`"portMappings" protocol ${JSON.stringify(m.protocol)} must be TCP, UDP or SCTP`, `portMappings/${i}/protocol`);
      }
      if (m.hostIP !== undefined && (typeof m.hostIP !== 'string' || !isIP(m.hostIP))) {
        throw invalid(`"portMappings" hostIP ${JSON.stringify(m.hostIP)} is not an IP address`, `portMappings/${i}/hostIP`);
      }
      return { ...m, protocol: String(m.protocol ?? 'TCP').toLowerCase() } as PortMapping;
    });
  }
  if (e.bandwidth !== undefined) sel.bandwidth = checkBandwidth(e.bandwidth, invalid);
  if (e['cni-args'] !== undefined && e['cni-args'] !== null) {
    const args = e['cni-args'];
    if (typeof args !== 'object' || Array.isArray(args)) throw invalid('"cni-args" must be an object', 'cni-args');
    sel.cniArgs = args as Record<string, unknown>;
  }
  if (e['ipam-claim-reference'] !== undefined) {
    if (typeof e['ipam-claim-reference'] !== 'string' || e['ipam-claim-reference'] === '') throw invalid('"ipam-claim-reference" must be a name', 'ipam-claim-reference');
    if (sel.ips) throw invalid('"ips" and "ipam-claim-reference" are mutually exclusive', 'ipam-claim-reference');
    sel.ipamClaimReference = e['ipam-claim-reference'];
  }
  if (e.deviceID !== undefined && e.deviceID !== '') {
    if (typeof e.deviceID !== 'string') throw invalid('"deviceID" must be a string', 'deviceID');
    sel.deviceID = e.deviceID;
  }
  return sel;
}

const RATES = ['ingressRate', 'ingressBurst', 'egressRate', 'egressBurst'];

function checkBandwidth(v: unknown, invalid: Invalid): Record<string, number> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid('"bandwidth" must be an object', 'bandwidth');
  const b = v as Record<string, unknown>;
  for (const [k, n] of Object.entries(b)) {
    if (!RATES.includes(k)) throw invalid(`"bandwidth" has unknown key ${JSON.stringify(k)}`, `bandwidth/${k}`);
    if (!Number.isInteger(n) || (n as number) <= 0) throw invalid(`"bandwidth" ${k} must be a positive integer`, `bandwidth/${k}`);
  }
  if (b.ingressBurst !== undefined && b.ingressRate === undefined) throw invalid('"bandwidth" ingressBurst needs ingressRate', 'bandwidth/ingressBurst');
  if (b.egressBurst !== undefined && b.egressRate === undefined) throw invalid('"bandwidth" egressBurst needs egressRate', 'bandwidth/egressBurst');
  return b as Record<string, number>;
}

/** Parses `v1.multus-cni.io/default-network`: "name", "ns/name" or a one-element JSON list; the namespace defaults to `fallbackNamespace`. */
export function parseDefaultNetworkAnnotation(value: string, fallbackNamespace: string): NetworkSelection {
  const list = parseNetworksAnnotation(value, fallbackNamespace, DEFAULT_NETWORK_ANNOTATION);
  if (list.length !== 1) {
    throw new CniError(ErrorCode.InvalidConfig, `invalid ${DEFAULT_NETWORK_ANNOTATION}: exactly one network is allowed, got ${list.length}`);
  }
  return list[0];
}
