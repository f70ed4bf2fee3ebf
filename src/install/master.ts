import fs = require('node:fs');
import path = require('node:path');
import { confFiles, loadNetworkFile, type NetworkConfig } from '../config/netconf';

/** The cluster network's conf that braid's config is generated from. */
export interface Master {
  file: string;
  net: NetworkConfig;
  /** The file's bytes, so a rewrite with the same name is noticed. */
  text: string;
}

/** What a look at the conf dir found. */
export interface ConfScan {
  master?: Master;
  /** Files a runtime would skip or braid must not take as its master, with why. */
  skipped: { file: string; reason: string }[];
}

// Meta-plugins cannot be braid's cluster network: taking one would make braid call itself or Multus.
const META_TYPES = new Set(['braid', 'multus', 'multus-shim']);
function load(file: string): Master {
  const text = fs.readFileSync(file, 'utf8');
  return { file, net: loadNetworkFile(file, ''), text };
}

/**
 * Finds the master: `masterName` if given, else the first conf the runtime would load that is neither
 * `ownName` nor a meta-plugin. Files the runtime would skip (bad JSON, no type, no plugins) are skipped too.
 */
export function scanConfDir(dir: string, ownName: string, masterName = ''): ConfScan {
  const scan: ConfScan = { skipped: [] };
  for (const file of confFiles(dir)) {
    let candidate: Master;
    try {
      candidate = load(file);
    } catch (e) {
      scan.skipped.push({ file, reason: (e as Error).message });
      continue;
    }
    if (scan.master) continue;
    if (path.basename(file) === ownName) continue;
    if (masterName && path.basename(file) !== masterName) continue;
    const meta = candidate.net.plugins.find((p) => META_TYPES.has(String(p.type)));
    if (meta) {
      scan.skipped.push({ file, reason: `a ${String(meta.type)} config cannot be braid's cluster network` });
      continue;
    }
    scan.master = candidate;
  }
  return scan;
}

/** Capabilities any plugin of the network declares as true. */
export function capabilitiesOf(net: NetworkConfig): string[] {
  const names = new Set<string>();
  for (const plugin of net.plugins) {
    const caps = plugin.capabilities;
    if (typeof caps !== 'object' || caps === null) continue;
    for (const [k, v] of Object.entries(caps)) if (v === true) names.add(k);
  }
  return [...names].sort();
}

/** The conf the runtime loads as its default network: the first of confFiles that parses as one. */
export function runtimeDefault(dir: string): string | undefined {
  return confFiles(dir).find((file) => {
    try {
      loadNetworkFile(file, '');
      return true;
    } catch {
      return false;
    }
  });
}
