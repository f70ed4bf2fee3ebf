import fs = require('node:fs');
import path = require('node:path');
import { CniError, ErrorCode } from '../cni/errors';
import { compareVersions, CURRENT_VERSION, isSupportedVersion } from '../cni/version';
import { isPlainFileName } from '../delegate/find';

/** A delegate network in conflist form; a single conf becomes a one-plugin list (lossless). */
export interface NetworkConfig {
  name: string;
  cniVersion: string;
  plugins: Record<string, unknown>[];
  disableCheck?: boolean;
  disableGC?: boolean;
}

const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

// `pointer` locates the field in the document being normalized (validate reports it; ADD shows the message).
function invalid(source: string, msg: string, pointer = ''): CniError {
  return new CniError(ErrorCode.InvalidConfig, `${source}: ${msg}`, '', pointer);
}

function boolish(v: unknown, source: string, key: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw invalid(source, `${key} must be a boolean, got ${JSON.stringify(v)}`, `/${key}`);
}

// CNI 1.1 `cniVersions`: the highest of {cniVersion} ∪ cniVersions that braid supports.
function pickVersion(doc: Record<string, unknown>, source: string, fallback: string): string {
  const candidates: string[] = [];
  if (typeof doc.cniVersion === 'string' && doc.cniVersion !== '') candidates.push(doc.cniVersion);
  if (doc.cniVersions !== undefined) {
    if (!Array.isArray(doc.cniVersions)) throw invalid(source, 'cniVersions must be a list of versions', '/cniVersions');
    for (const [i, v] of doc.cniVersions.entries()) {
      if (typeof v !== 'string' || !/^\d+\.\d+\.\d+$/.test(v)) throw invalid(source, `cniVersions: invalid version ${JSON.stringify(v)}`, `/cniVersions/${i}`);
      candidates.push(v);
    }
  }
  const usable = candidates.filter((v) => compareVersions(v, CURRENT_VERSION) <= 0);
  if (candidates.length > 0 && usable.length === 0) {
    throw new CniError(ErrorCode.IncompatibleVersion, `${source}: no supported cniVersion in ${JSON.stringify(candidates)}`, '', '/cniVersion');
  }
  const picked = usable.sort(compareVersions).pop() ?? fallback;
  if (picked && !isSupportedVersion(picked)) {
    throw new CniError(ErrorCode.IncompatibleVersion, `${source}: unsupported cniVersion ${JSON.stringify(picked)}`, '', '/cniVersion');
  }
  return picked;
}

// A type that could leave the plugin directories ("../x", "a/b") is refused with the config, before
// any cache is written or any delegate of any network runs.
function checkPluginType(type: string, source: string, key: string, pointer: string): void {
  if (!isPlainFileName(type)) throw invalid(source, `${key}: invalid plugin type ${JSON.stringify(type)}: must be a plain file name`, pointer);
}

// One plugin of a list: an object with a plain-file-name `type`.
function checkPlugin(plugin: unknown, source: string, key: string, pointer: string): Record<string, unknown> {
  const type = (plugin as Record<string, unknown> | null)?.type;
  if (typeof plugin !== 'object' || Array.isArray(plugin) || typeof type !== 'string' || type === '') throw invalid(source, `${key} is missing`, pointer);
  checkPluginType(type, source, key, pointer);
  return plugin as Record<string, unknown>;
}

/**
 * Turns a conf or conflist document into a NetworkConfig. `source` names it in errors;
 * `fallbackVersion` fills a missing cniVersion (braid's own, as Multus backfills on DEL).
 */
export function normalizeNetwork(doc: unknown, source: string, fallbackVersion: string): NetworkConfig {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid(source, 'expected a JSON object');
  const d = doc as Record<string, unknown>;
  const cniVersion = pickVersion(d, source, fallbackVersion);
  if (typeof d.name !== 'string' || !NETWORK_NAME.test(d.name)) {
    throw invalid(source, `name ${JSON.stringify(d.name ?? '')} is missing or invalid (must match ${NETWORK_NAME.source})`, '/name');
  }
  if (d.plugins === undefined) {
    if (typeof d.type !== 'string' || d.type === '') {
      throw invalid(source, "no 'type'; perhaps this is supposed to be a .conflist?", '/type');
    }
    checkPluginType(d.type, source, 'type', '/type');
    return { name: d.name, cniVersion, plugins: [d] };
  }
  if (!Array.isArray(d.plugins) || d.plugins.length === 0) throw invalid(source, 'plugins must be a non-empty list', '/plugins');
  d.plugins.forEach((p, i) => checkPlugin(p, source, `plugins[${i}].type`, `/plugins/${i}/type`));
  const net: NetworkConfig = { name: d.name, cniVersion, plugins: d.plugins as Record<string, unknown>[] };
  const disableCheck = boolish(d.disableCheck, source, 'disableCheck');
  const disableGC = boolish(d.disableGC, source, 'disableGC');
  if (disableCheck !== undefined) net.disableCheck = disableCheck;
  if (disableGC !== undefined) net.disableGC = disableGC;
  return net;
}

function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new CniError(ErrorCode.IoFailure, `cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CniError(ErrorCode.DecodeFailure, `${file}: invalid JSON: ${(e as Error).message}`);
  }
}

// As containerd (go-cni) and CRI-O (ocicni) list them.
const CONF_EXTENSIONS = ['.conf', '.json', '.conflist'];

/** The conf files of `dir` in the order libcni, containerd and CRI-O consider them (lexical; .conf, .conflist, .json). */
export function confFiles(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => CONF_EXTENSIONS.includes(path.extname(n))).sort().map((n) => path.join(dir, n));
}

// The single-plugin confs (.conf, .json) of a chain subdirectory, in file name order, as libcni loads them.
function subdirPlugins(dir: string): Record<string, unknown>[] {
  return confFiles(dir).filter((f) => !f.endsWith('.conflist')).map((sub) => checkPlugin(readJsonFile(sub), sub, 'type', '/type'));
}

/** Loads a conf or conflist file; a .conflist also gets `<dir>/<name>/*.conf` plugins (libcni) unless loadOnlyInlinedPlugins. */
export function loadNetworkFile(file: string, fallbackVersion: string): NetworkConfig {
  const doc = readJsonFile(file) as Record<string, unknown>;
  const net = normalizeNetwork(doc, file, fallbackVersion);
  if (file.endsWith('.conflist') && boolish(doc.loadOnlyInlinedPlugins, file, 'loadOnlyInlinedPlugins') !== true) {
    net.plugins = [...net.plugins, ...subdirPlugins(path.join(path.dirname(file), net.name))];
  }
  return net;
}

/** Where auxiliary chains live: the directory of a clusterNetwork path (the directory itself when it is one), else confDir. */
export function chainBaseDir(clusterNetwork: string | undefined, confDir: string): string {
  if (!clusterNetwork?.includes('/')) return confDir;
  try {
    if (fs.statSync(clusterNetwork).isDirectory()) return clusterNetwork;
  } catch {
    // a missing clusterNetwork fails on its own; its directory is still the right place to look
  }
  return path.dirname(clusterNetwork);
}

/** The chain `name` made of the confs in `<dir>/<name>/` (Multus auxiliaryCNIChainName); undefined when it holds none. */
export function loadChainDir(dir: string, name: string, cniVersion: string): NetworkConfig | undefined {
  const plugins = subdirPlugins(path.join(dir, name));
  return plugins.length > 0 ? { name, cniVersion, plugins } : undefined;
}

/** Finds the conf in `confDir` whose `name` matches: .conflist files first, then .conf/.json (NAD spec §3.4.1). */
export function findNetworkByName(confDir: string, name: string, fallbackVersion: string): NetworkConfig | undefined {
  const files = confFiles(confDir);
  const ordered = [...files.filter((f) => f.endsWith('.conflist')), ...files.filter((f) => !f.endsWith('.conflist'))];
  for (const file of ordered) {
    let doc: unknown;
    try {
      doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      continue; // an unrelated broken file must not hide the network we look for
    }
    if ((doc as Record<string, unknown> | null)?.name === name) return loadNetworkFile(file, fallbackVersion);
  }
  return undefined;
}

/**
 * Resolves `clusterNetwork` / `defaultNetworks` entries from disk as Multus does: a path to a file,
 * a directory (its alphabetically first conf), or a network name looked up in `confDir`.
 */
export function resolveNetworkFromDisk(ref: string, confDir: string, fallbackVersion: string): NetworkConfig {
  if (ref.includes('/')) {
    let st: fs.Stats;
    try {
      st = fs.statSync(ref);
    } catch {
      throw new CniError(ErrorCode.InvalidConfig, `network ${ref}: no such file or directory`);
    }
    if (st.isDirectory()) {
      const first = confFiles(ref)[0];
      if (!first) throw new CniError(ErrorCode.InvalidConfig, `network ${ref}: directory holds no .conf, .json or .conflist file`);
      return loadNetworkFile(first, fallbackVersion);
    }
    return loadNetworkFile(ref, fallbackVersion);
  }
  const net = findNetworkByName(confDir, ref, fallbackVersion);
  if (!net) throw new CniError(ErrorCode.InvalidConfig, `network ${JSON.stringify(ref)}: no conf with that name in ${confDir}`);
  return net;
}
