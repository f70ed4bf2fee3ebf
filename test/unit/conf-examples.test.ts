import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizeNetwork, type NetworkConfig } from '../../src/config/netconf';

// Every example in conf-examples/ must load as libcni would load it, and every braid plugin in it
// must pass braid's own validation, with its inline delegates and its network references resolvable.

const ROOT = path.resolve(__dirname, '../..');
const EXAMPLES = path.join(ROOT, 'conf-examples');
if (!fs.existsSync(path.join(ROOT, 'src/generated/validate-config.js'))) {
  execFileSync(process.execPath, [path.join(ROOT, 'packaging/build.mjs'), '--validators-only'], { cwd: ROOT, stdio: 'inherit' });
}
const { parseBraidConfig } = await import('../../src/config/braid-config');

const files = fs.existsSync(EXAMPLES)
  ? fs.readdirSync(EXAMPLES).filter((f) => ['.conf', '.conflist', '.json'].includes(path.extname(f))).sort()
  : [];

function load(file: string): Record<string, unknown> {
  const doc = JSON.parse(fs.readFileSync(path.join(EXAMPLES, file), 'utf8')) as unknown;
  expect(typeof doc === 'object' && doc !== null && !Array.isArray(doc), `${file} is not a JSON object`).toBe(true);
  return doc as Record<string, unknown>;
}

/** The networks the examples define, by name (what a clusterNetwork/defaultNetworks name resolves to). */
function exampleNetworks(): Map<string, NetworkConfig> {
  const out = new Map<string, NetworkConfig>();
  for (const f of files) {
    const net = normalizeNetwork(load(f), f, '1.1.0');
    out.set(net.name, net);
  }
  return out;
}

describe.runIf(files.length > 0)('conf-examples', () => {
  it.each(files)('%s is a valid conf or conflist', (file) => {
    const net = normalizeNetwork(load(file), file, '1.1.0');
    expect(net.plugins.length).toBeGreaterThan(0);
    expect(net.cniVersion).not.toBe('');
  });

  it.each(files)('every braid plugin in %s passes braid\'s validation, knows all its keys and resolves its networks', (file) => {
    const net = normalizeNetwork(load(file), file, '1.1.0');
    const known = exampleNetworks();
    for (const plugin of net.plugins.filter((p) => p.type === 'braid')) {
      // what libcni puts on braid's stdin: the plugin with the list's name and cniVersion
      const config = parseBraidConfig({ ...plugin, name: net.name, cniVersion: net.cniVersion });
      expect(config.unknownKeys, `${file}: keys braid would ignore`).toEqual([]);
      config.delegates?.forEach((d, i) => {
        const delegate = normalizeNetwork(d, `${file} delegates[${i}]`, config.cniVersion);
        expect(delegate.plugins.length).toBeGreaterThan(0);
      });
      for (const ref of [...(config.clusterNetwork ? [config.clusterNetwork] : []), ...config.defaultNetworks]) {
        // a path names an example by its file name; a name must be the name of some example network
        const found = ref.includes('/') ? files.includes(path.basename(ref)) : known.has(ref);
        expect(found, `${file}: network ${ref} matches no example`).toBe(true);
      }
    }
  });

  it('at least one example configures braid', () => {
    const braids = files.filter((f) => normalizeNetwork(load(f), f, '1.1.0').plugins.some((p) => p.type === 'braid'));
    expect(braids.length).toBeGreaterThan(0);
  });
});
