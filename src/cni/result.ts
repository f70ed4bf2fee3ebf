import { CniError, ErrorCode } from './errors';
import { ipFamily, isCIDR, isIP } from './ip';

/** An interface a plugin created or configured (spec 1.1 "interfaces"). */
export interface Interface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

/** One assigned IP address; `interface` indexes the result's `interfaces`. */
export interface IPConfig {
  interface?: number;
  address: string;
  gateway?: string;
}

/** One route; the fields after `gw` exist only from spec 1.1 on. */
export interface Route {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

/** DNS settings a plugin reports. */
export interface DNS {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** Canonical (1.1-shaped) result used inside braid. */
export interface Result {
  cniVersion: string;
  interfaces?: Interface[];
  ips?: IPConfig[];
  routes?: Route[];
  dns?: DNS;
}

/** The three JSON layouts CNI results have had over the spec's history. */
type Shape = 'legacy' | 'v04' | 'v1';

/** Result layout of every supported version. */
const SHAPES: ReadonlyMap<string, Shape> = new Map<string, Shape>([
  ['0.1.0', 'legacy'],
  ['0.2.0', 'legacy'],
  ['0.3.0', 'v04'],
  ['0.3.1', 'v04'],
  ['0.4.0', 'v04'],
  ['1.0.0', 'v1'],
  ['1.1.0', 'v1'],
]);

/** Any version's JSON object -> canonical result (throws CniError 1 on unknown version, 6 on bad shape). */
export function parseResult(raw: unknown, fallbackVersion: string): Result {
  const obj = asObject(raw, 'result');
  const rawVersion = obj.cniVersion;
  if (!isAbsent(rawVersion) && typeof rawVersion !== 'string') fail('cniVersion', 'a string', rawVersion);
  // libcni: an empty result version is the config's version; an empty config version is 0.1.0.
  const version = (rawVersion as string | undefined) || fallbackVersion || '0.1.0';
  switch (shapeOf(version)) {
    case 'legacy':
      return parseLegacy(obj, version);
    case 'v04':
      return parseV04(obj, version);
    case 'v1':
      return parseV1(obj, version);
  }
}

/** Canonical result -> JSON object of the given version (throws CniError 1 when it cannot be expressed). */
export function renderResult(result: Result, version: string): Record<string, unknown> {
  switch (shapeOf(version)) {
    case 'legacy':
      return renderLegacy(result, version);
    case 'v04':
      return renderV04(result, version);
    case 'v1':
      return renderV1(result, version);
  }
}

/** Converts a result JSON object of any version to a JSON object of `toVersion`. */
export function convertResult(raw: unknown, fallbackVersion: string, toVersion: string): Record<string, unknown> {
  return renderResult(parseResult(raw, fallbackVersion), toVersion);
}

// ---------------------------------------------------------------------------
// Versions

function shapeOf(version: string): Shape {
  const shape = SHAPES.get(version);
  if (!shape) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `unsupported CNI result version "${version}"`,
      `supported versions: ${[...SHAPES.keys()].join(', ')}`,
    );
  }
  return shape;
}

// ---------------------------------------------------------------------------
// Parsing

type JsonObject = Record<string, unknown>;
type Reader<T> = (value: unknown, path: string) => T;

function parseLegacy(obj: JsonObject, version: string): Result {
  const ips: IPConfig[] = [];
  const routes: Route[] = [];
  for (const family of ['ip4', 'ip6'] as const) {
    if (isAbsent(obj[family])) continue;
    const cfg = asObject(obj[family], family);
    ips.push(ipConfig(undefined, readCidr(cfg.ip, `${family}.ip`), optIp(cfg.gateway, `${family}.gateway`)));
    routes.push(...optArray(cfg.routes, `${family}.routes`, readBasicRoute));
  }
  return canonical(version, [], ips, routes, readDns(obj.dns));
}

function parseV04(obj: JsonObject, version: string): Result {
  const interfaces = optArray(obj.interfaces, 'interfaces', (v, path) => {
    const o = asObject(v, path);
    return cleanInterface({
      name: readName(o.name, `${path}.name`),
      mac: optString(o.mac, `${path}.mac`),
      sandbox: optString(o.sandbox, `${path}.sandbox`),
    });
  });
  const ips = optArray(obj.ips, 'ips', (v, path) => {
    const o = asObject(v, path);
    // `version` is dropped: the canonical form derives the family from the address.
    optString(o.version, `${path}.version`);
    return readIp(o, path, interfaces.length);
  });
  const routes = optArray(obj.routes, 'routes', readBasicRoute);
  return canonical(version, interfaces, ips, routes, readDns(obj.dns));
}

function parseV1(obj: JsonObject, version: string): Result {
  const interfaces = optArray(obj.interfaces, 'interfaces', (v, path) => {
    const o = asObject(v, path);
    return cleanInterface({
      name: readName(o.name, `${path}.name`),
      mac: optString(o.mac, `${path}.mac`),
      mtu: optInt(o.mtu, `${path}.mtu`),
      sandbox: optString(o.sandbox, `${path}.sandbox`),
      socketPath: optString(o.socketPath, `${path}.socketPath`),
      pciID: optString(o.pciID, `${path}.pciID`),
    });
  });
  const ips = optArray(obj.ips, 'ips', (v, path) => readIp(asObject(v, path), path, interfaces.length));
  const routes = optArray(obj.routes, 'routes', (v, path) => {
    const o = asObject(v, path);
    return cleanRoute({
      dst: readCidr(o.dst, `${path}.dst`),
      gw: optIp(o.gw, `${path}.gw`),
      mtu: optInt(o.mtu, `${path}.mtu`),
      advmss: optInt(o.advmss, `${path}.advmss`),
      priority: optInt(o.priority, `${path}.priority`),
      table: optInt(o.table, `${path}.table`),
      scope: optInt(o.scope, `${path}.scope`),
    });
  });
  return canonical(version, interfaces, ips, routes, readDns(obj.dns));
}

function readIp(o: JsonObject, path: string, interfaceCount: number): IPConfig {
  let index: number | undefined;
  if (!isAbsent(o.interface)) {
    if (typeof o.interface !== 'number' || !Number.isInteger(o.interface)) {
      fail(`${path}.interface`, 'an integer index into interfaces', o.interface);
    }
    index = o.interface;
    if (index < 0 || index >= interfaceCount) {
      throw decodeError(
        `${path}.interface ${index} is out of range: the result has ${interfaceCount} interface${interfaceCount === 1 ? '' : 's'}`,
      );
    }
  }
  return ipConfig(index, readCidr(o.address, `${path}.address`), optIp(o.gateway, `${path}.gateway`));
}

function readBasicRoute(v: unknown, path: string): Route {
  const o = asObject(v, path);
  return cleanRoute({ dst: readCidr(o.dst, `${path}.dst`), gw: optIp(o.gw, `${path}.gw`) });
}

function readDns(v: unknown): DNS | undefined {
  if (isAbsent(v)) return undefined;
  const o = asObject(v, 'dns');
  return cleanDns({
    nameservers: optStrings(o.nameservers, 'dns.nameservers'),
    domain: optString(o.domain, 'dns.domain'),
    search: optStrings(o.search, 'dns.search'),
    options: optStrings(o.options, 'dns.options'),
  });
}

function isAbsent(v: unknown): v is undefined | null {
  return v === undefined || v === null;
}

function asObject(v: unknown, path: string): JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'a JSON object', v);
  return v as JsonObject;
}

function optArray<T>(v: unknown, path: string, read: Reader<T>): T[] {
  if (isAbsent(v)) return [];
  if (!Array.isArray(v)) fail(path, 'an array', v);
  return v.map((item, i) => read(item, `${path}[${i}]`));
}

function optString(v: unknown, path: string): string | undefined {
  if (isAbsent(v)) return undefined;
  if (typeof v !== 'string') fail(path, 'a string', v);
  return v === '' ? undefined : v;
}

function readName(v: unknown, path: string): string {
  if (typeof v !== 'string' || v === '') fail(path, 'a non-empty string', v);
  return v;
}

function optInt(v: unknown, path: string): number | undefined {
  if (isAbsent(v)) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(path, 'an integer', v);
  return v;
}

function optStrings(v: unknown, path: string): string[] | undefined {
  return optArray(v, path, (item, p) => {
    if (typeof item !== 'string') fail(p, 'a string', item);
    return item;
  });
}

function readCidr(v: unknown, path: string): string {
  if (typeof v !== 'string' || !isCIDR(v)) fail(path, 'an IP address with prefix length (e.g. "10.1.2.3/24")', v);
  return v;
}

function optIp(v: unknown, path: string): string | undefined {
  if (isAbsent(v) || v === '') return undefined;
  if (typeof v !== 'string' || !isIP(v)) fail(path, 'an IP address', v);
  return v;
}

function fail(path: string, expected: string, got: unknown): never {
  throw decodeError(`${path} must be ${expected}, got ${describe(got)}`);
}

function decodeError(what: string): CniError {
  return new CniError(ErrorCode.DecodeFailure, `failed to decode CNI result: ${what}`);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  const text = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return text.length > 64 ? `${text.slice(0, 61)}...` : text;
}

// ---------------------------------------------------------------------------
// Canonical builders: copy, and leave out what libcni's `omitempty` would.

function canonical(version: string, interfaces: Interface[], ips: IPConfig[], routes: Route[], dns: DNS | undefined): Result {
  const out: Result = { cniVersion: version };
  if (interfaces.length > 0) out.interfaces = interfaces;
  if (ips.length > 0) out.ips = ips;
  if (routes.length > 0) out.routes = routes;
  if (dns) out.dns = dns;
  return out;
}

function ipConfig(index: number | undefined, address: string, gateway: string | undefined): IPConfig {
  return { ...(index !== undefined ? { interface: index } : {}), address, ...(gateway ? { gateway } : {}) };
}

function cleanInterface(i: Interface): Interface {
  const out: Interface = { name: i.name };
  if (i.mac) out.mac = i.mac;
  if (i.mtu) out.mtu = i.mtu;
  if (i.sandbox) out.sandbox = i.sandbox;
  if (i.socketPath) out.socketPath = i.socketPath;
  if (i.pciID) out.pciID = i.pciID;
  return out;
}

function cleanRoute(r: Route): Route {
  const out: Route = { dst: r.dst };
  if (r.gw) out.gw = r.gw;
  if (r.mtu) out.mtu = r.mtu;
  if (r.advmss) out.advmss = r.advmss;
  if (r.priority) out.priority = r.priority;
  // table and scope are pointers in libcni, so 0 is a real value.
  if (r.table !== undefined) out.table = r.table;
  if (r.scope !== undefined) out.scope = r.scope;
  return out;
}

function cleanDns(d: DNS): DNS {
  const out: DNS = {};
  if (d.nameservers?.length) out.nameservers = [...d.nameservers];
  if (d.domain) out.domain = d.domain;
  if (d.search?.length) out.search = [...d.search];
  if (d.options?.length) out.options = [...d.options];
  return out;
}

// ---------------------------------------------------------------------------
// Rendering

function renderV1(result: Result, version: string): Record<string, unknown> {
  return {
    ...canonical(
      version,
      (result.interfaces ?? []).map(cleanInterface),
      (result.ips ?? []).map((ip) => ipConfig(ip.interface, ip.address, ip.gateway)),
      (result.routes ?? []).map(cleanRoute),
      result.dns && cleanDns(result.dns),
    ),
  };
}

function renderV04(result: Result, version: string): Record<string, unknown> {
  const out: Record<string, unknown> = { cniVersion: version };
  const interfaces = (result.interfaces ?? []).map((i) => cleanInterface({ name: i.name, mac: i.mac, sandbox: i.sandbox }));
  const ips = (result.ips ?? []).map((ip) => ({
    version: ipFamily(ip.address) === '6' ? '6' : '4',
    ...ipConfig(ip.interface, ip.address, ip.gateway),
  }));
  const routes = (result.routes ?? []).map((r) => cleanRoute({ dst: r.dst, gw: r.gw }));
  if (interfaces.length > 0) out.interfaces = interfaces;
  if (ips.length > 0) out.ips = ips;
  if (routes.length > 0) out.routes = routes;
  if (result.dns) out.dns = cleanDns(result.dns);
  return out;
}

interface LegacyIPConfig {
  ip: string;
  gateway?: string;
  routes: Route[];
}

function renderLegacy(result: Result, version: string): Record<string, unknown> {
  // Only the first address of each family fits (libcni convertTo02x).
  let ip4: LegacyIPConfig | undefined;
  let ip6: LegacyIPConfig | undefined;
  for (const ip of result.ips ?? []) {
    const cfg: LegacyIPConfig = { ip: ip.address, ...(ip.gateway ? { gateway: ip.gateway } : {}), routes: [] };
    if (ipFamily(ip.address) === '6') ip6 ??= cfg;
    else ip4 ??= cfg;
  }
  if (!ip4 && !ip6) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      'cannot convert: no valid IP addresses',
      `a CNI ${version} result needs at least one IP address`,
    );
  }
  // Routes go under the config of their destination's family; libcni drops those without one.
  for (const r of result.routes ?? []) {
    (ipFamily(r.dst) === '6' ? ip6 : ip4)?.routes.push(cleanRoute({ dst: r.dst, gw: r.gw }));
  }
  const out: Record<string, unknown> = { cniVersion: version };
  if (ip4) out.ip4 = legacyConfig(ip4);
  if (ip6) out.ip6 = legacyConfig(ip6);
  if (result.dns) out.dns = cleanDns(result.dns);
  return out;
}

function legacyConfig(cfg: LegacyIPConfig): Record<string, unknown> {
  const { routes, ...rest } = cfg;
  return routes.length > 0 ? { ...rest, routes } : rest;
}
