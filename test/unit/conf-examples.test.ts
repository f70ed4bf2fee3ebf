import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizeNetwork, type NetworkConfig } from '../../src/config/netconf';
import * as yaml from 'js-yaml';
import type { NadObject } from '../../src/k8s/api';
import { networkFromNad, RESOURCE_NAME_ANNOTATION } from '../../src/resolve/nads';
import { NETWORKS_ANNOTATION, parseNetworksAnnotation } from '../../src/selection/networks';
import { importBraidConfig } from '../helpers/unit';

// Every example in conf-examples/ must load as libcni would load it, and every braid plugin in it
// must pass braid's own validation, with its inline delegates and its network references resolvable.

const ROOT = path.resolve(__dirname, '../..');
const EXAMPLES = path.join(ROOT, 'conf-examples');
const { parseBraidConfig } = await importBraidConfig();

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

describe('conf-examples', () => {
  it('holds the documented examples, so the tests below cannot pass by finding nothing', () => {
    expect(files).toEqual(expect.arrayContaining(['00-braid.conflist', '00-braid-cilium.conflist', '00-braid-inline.conf', 'storage.conf']));
    expect(manifests).toEqual(expect.arrayContaining(['nad-sriov-netdevice.yaml', 'nad-sriov-dpdk.yaml', 'nad-host-device.yaml', 'pod-default-route.yaml']));
  });


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

// Kubernetes manifests among the examples (NetworkAttachmentDefinitions and Pods), loaded as kubectl
// would: every NAD yields a valid delegate network, every Pod's networks annotation parses and names
// NADs the examples define.
const manifests = fs.existsSync(EXAMPLES) ? fs.readdirSync(EXAMPLES).filter((f) => ['.yaml', '.yml'].includes(path.extname(f))).sort() : [];

interface Manifest { file: string; doc: { kind?: string; metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> }; [k: string]: unknown } }

function loadManifests(): Manifest[] {
  return manifests.flatMap((file) => (yaml.loadAll(fs.readFileSync(path.join(EXAMPLES, file), 'utf8')) as Manifest['doc'][])
    .filter((doc) => doc !== null && doc !== undefined)
    .map((doc) => ({ file, doc })));
}

describe('conf-examples: Kubernetes manifests', () => {
  const config = () => parseBraidConfig({ type: 'braid', cniVersion: '1.1.0', clusterNetwork: 'k8s-pod-network', confDir: EXAMPLES });

  it.each(manifests)('%s holds only NetworkAttachmentDefinitions and Pods, each named', (file) => {
    const docs = loadManifests().filter((m) => m.file === file);
    expect(docs.length).toBeGreaterThan(0);
    for (const { doc } of docs) {
      expect(['NetworkAttachmentDefinition', 'Pod'], `${file}: kind ${doc.kind}`).toContain(doc.kind);
      expect(doc.metadata?.name, `${file}: metadata.name`).toBeTruthy();
    }
  });

  it.each(manifests.filter((f) => f.startsWith('nad-')))('%s is a NAD braid turns into a valid network', (file) => {
    for (const { doc } of loadManifests().filter((m) => m.file === file && m.doc.kind === 'NetworkAttachmentDefinition')) {
      const nad = { ...doc, metadata: { ...doc.metadata, namespace: doc.metadata?.namespace ?? 'default' } } as unknown as NadObject;
      const { config: net, resourceName } = networkFromNad(nad, config());
      expect(net.plugins.length).toBeGreaterThan(0);
      expect(net.cniVersion).not.toBe('');
      expect(net.name).toBe(doc.metadata!.name);
      for (const plugin of net.plugins) expect(typeof plugin.type).toBe('string');
      expect(resourceName).toBe(doc.metadata?.annotations?.[RESOURCE_NAME_ANNOTATION]);
    }
  });

  it('the SR-IOV and host-device examples name a device-plugin resource', () => {
    const byName = new Map(loadManifests().filter((m) => m.doc.kind === 'NetworkAttachmentDefinition').map((m) => [m.file, m.doc]));
    for (const file of ['nad-sriov-netdevice.yaml', 'nad-sriov-dpdk.yaml', 'nad-host-device.yaml']) {
      expect(byName.get(file)?.metadata?.annotations?.[RESOURCE_NAME_ANNOTATION], file).toMatch(/^[a-z0-9.-]+\/[A-Za-z0-9_.-]+$/);
    }
  });

  it.each(manifests.filter((f) => f.startsWith('pod-')))('%s: the networks annotation parses and selects example NADs', (file) => {
    const all = loadManifests();
    const nads = new Set(all.filter((m) => m.doc.kind === 'NetworkAttachmentDefinition').map((m) => `${m.doc.metadata?.namespace ?? 'default'}/${m.doc.metadata?.name}`));
    for (const { doc } of all.filter((m) => m.file === file && m.doc.kind === 'Pod')) {
      const namespace = doc.metadata?.namespace ?? 'default';
      const annotation = doc.metadata?.annotations?.[NETWORKS_ANNOTATION];
      expect(annotation, `${file}: ${NETWORKS_ANNOTATION}`).toBeTypeOf('string');
      const sels = parseNetworksAnnotation(annotation!, namespace);
      expect(sels.length).toBeGreaterThan(0);
      for (const sel of sels) expect(nads.has(`${sel.namespace}/${sel.name}`), `${file}: ${sel.namespace}/${sel.name}`).toBe(true);
    }
  });

  it('pod-default-route.yaml moves the default route to the macvlan network\'s gateway', () => {
    const pod = loadManifests().find((m) => m.file === 'pod-default-route.yaml')!.doc;
    const [sel] = parseNetworksAnnotation(pod.metadata!.annotations![NETWORKS_ANNOTATION], 'default');
    expect(sel).toMatchObject({ name: 'macvlan-gw', interface: 'net1', defaultRoute: ['10.250.188.1'] });
    const nad = loadManifests().find((m) => m.file === 'nad-macvlan.yaml')!.doc as unknown as NadObject;
    const { config: net } = networkFromNad(nad, config());
    expect((net.plugins[0].ipam as { gateway?: string }).gateway).toBe(sel.defaultRoute![0]);
  });
});
