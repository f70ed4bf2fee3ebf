import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCniArgs, parseEnv } from '../../src/cni/env';
import { loadNetworkFile, normalizeNetwork, type NetworkConfig } from '../../src/config/netconf';
import { listCachedContainers } from '../../src/store/cache';
import { findPlugin, isPlainFileName } from '../../src/delegate/find';
import { capabilityArgs, pluginRequest } from '../../src/delegate/invoke';
import { cniError, importBraidConfig } from '../helpers/unit';

const { decodeJson, parseBraidConfig } = await importBraidConfig();

const DELEGATE = { cniVersion: '1.0.0', name: 'podnet', type: 'bridge' };

describe('parseBraidConfig', () => {
  it('applies every Multus default to a minimal config', () => {
    const c = parseBraidConfig({ type: 'braid', delegates: [DELEGATE] });
    expect(c).toMatchObject({
      cniVersion: '0.1.0', // libcni's reading of a config without cniVersion
      name: '',
      type: 'braid',
      capabilities: {},
      runtimeConfig: {},
      defaultNetworks: [],
      delegates: [DELEGATE],
      confDir: '/etc/cni/multus/net.d',
      cniDir: '/var/lib/cni/multus',
      binDir: '/opt/cni/bin',
      kubeconfig: '',
      multusNamespace: 'kube-system',
      systemNamespaces: ['kube-system'],
      namespaceIsolation: false,
      globalNamespaces: ['default'],
      readinessindicatorfile: '',
      readinessTimeout: 45,
      retryDeleteOnError: false,
      logFile: '',
      logLevel: '',
      logFormat: '',
      logToStderr: true,
      logOptions: { maxAge: 5, maxSize: 100, maxBackups: 5, compress: true },
      strictCapabilities: false,
      unknownKeys: [],
    });
    expect(c.clusterNetwork).toBeUndefined();
  });

  it('reads globalNamespaces "" as [default] and "a, b" as [a, b]', () => {
    expect(parseBraidConfig({ type: 'braid', delegates: [DELEGATE], globalNamespaces: '' }).globalNamespaces).toEqual(['default']);
    expect(parseBraidConfig({ type: 'braid', delegates: [DELEGATE], globalNamespaces: 'a, b' }).globalNamespaces).toEqual(['a', 'b']);
    expect(parseBraidConfig({ type: 'braid', delegates: [DELEGATE], globalNamespaces: ' a ,, b ,' }).globalNamespaces).toEqual(['a', 'b']);
  });

  it('reads an empty logLevel as unset (the log\'s default level), not as panic', () => {
    expect(parseBraidConfig({ type: 'braid', delegates: [DELEGATE], logLevel: '' })).toMatchObject({ logLevel: '', warnings: [] });
  });

  it('fills logOptions keys the config leaves out from the defaults', () => {
    const c = parseBraidConfig({ type: 'braid', delegates: [DELEGATE], logOptions: { maxSize: 10, compress: false } });
    expect(c.logOptions).toEqual({ maxAge: 5, maxSize: 10, maxBackups: 5, compress: false });
  });

  it('keeps every value a Multus config sets', () => {
    const doc = {
      cniVersion: '0.3.1', name: 'multus-cni-network', type: 'braid', clusterNetwork: 'k8s-pod-network',
      defaultNetworks: ['side'], confDir: '/c', cniDir: '/d', binDir: '/b', kubeconfig: '/k',
      multusNamespace: 'multus', systemNamespaces: ['a', 'b'], namespaceIsolation: true, globalNamespaces: 'x',
      readinessindicatorfile: '/r', readinessTimeout: 3, retryDeleteOnError: true, logFile: '/l', logLevel: 'debug',
      logToStderr: false, capabilities: { portMappings: true }, runtimeConfig: { portMappings: [] },
    };
    expect(parseBraidConfig(doc)).toMatchObject({ ...doc, globalNamespaces: ['x'], unknownKeys: [] });
  });

  it('lists unknown top-level keys instead of failing', () => {
    const c = parseBraidConfig({ type: 'braid', delegates: [DELEGATE], foo: 1, auxiliaryThing: 'x' });
    expect(c.unknownKeys).toEqual(['foo', 'auxiliaryThing']);
  });

  it.each([
    ['delegates', { delegates: 'x' }],
    ['delegates', { delegates: [] }],
    ['readinessTimeout', { readinessTimeout: -1 }],
    ['namespaceIsolation', { namespaceIsolation: 'yes' }],
    ['name', { name: '../etc' }],
    ['multusNamespace', { multusNamespace: 'kube.system' }],
    ['multusNamespace', { multusNamespace: 'Kube-System' }],
    ['strictCapabilities', { strictCapabilities: 'yes' }],
  ])('fails the schema with code 7 naming %s', (field, patch) => {
    const err = cniError(() => parseBraidConfig({ type: 'braid', delegates: [DELEGATE], ...patch }));
    expect(err.code).toBe(7);
    expect(err.message).toContain(field);
  });

  it.each([
    ['Debug', 'debug'], ['DEBUG', 'debug'], ['info', 'verbose'], ['Info', 'verbose'], ['verbose', 'verbose'],
    ['warn', 'warning'], ['Warning', 'warning'], ['error', 'error'], ['Panic', 'panic'],
  ])('reads Multus\'s logLevel %j as braid\'s %s, without a warning', (value, level) => {
    const c = parseBraidConfig({ type: 'braid', delegates: [DELEGATE], logLevel: value });
    expect(c.logLevel).toBe(level);
    expect(c.warnings).toEqual([]);
  });

  it.each([
    ['logLevel', { logLevel: 'chatty' }, { logLevel: '' }],
    ['logLevel', { logLevel: 3 }, { logLevel: '' }],
    ['logFormat', { logFormat: true }, { logFormat: '' }],
    ['logToStderr', { logToStderr: 'yes' }, { logToStderr: true }],
    ['logFile', { logFile: 7 }, { logFile: '' }],
    ['logOptions', { logOptions: 'big' }, { logOptions: { maxAge: 5, maxSize: 100, maxBackups: 5, compress: true } }],
    ['rotate', { logOptions: { maxSize: 1, rotate: true } }, { logOptions: { maxAge: 5, maxSize: 1, maxBackups: 5, compress: true } }],
    ['logOptions.maxAge', { logOptions: { maxAge: -1, maxBackups: 2 } }, { logOptions: { maxAge: 5, maxSize: 100, maxBackups: 2, compress: true } }],
  ])('never fails on a bad log setting: %s is a warning naming it and the default applies', (field, patch, expected) => {
    for (const mode of ['strict', 'del'] as const) {
      const c = parseBraidConfig({ type: 'braid', delegates: [DELEGATE], ...patch }, mode);
      expect(c).toMatchObject(expected);
      expect(c.warnings).toHaveLength(1);
      expect(c.warnings[0].message).toContain(field);
    }
  });

  it('reads JSON null for an optional key, and "" for a directory key, as the default (Multus)', () => {
    const c = parseBraidConfig({
      type: 'braid', delegates: [DELEGATE], cniDir: '', confDir: null, binDir: '', multusNamespace: '', kubeconfig: null,
      namespaceIsolation: null, logLevel: null, logOptions: { maxSize: null }, clusterNetwork: '', defaultNetworks: null,
    });
    expect(c).toMatchObject({
      cniDir: '/var/lib/cni/multus', confDir: '/etc/cni/multus/net.d', binDir: '/opt/cni/bin', multusNamespace: 'kube-system',
      kubeconfig: '', namespaceIsolation: false, logLevel: '', logOptions: { maxSize: 100 }, defaultNetworks: [], warnings: [],
    });
    expect(c.clusterNetwork).toBeUndefined();
  });

  it('on DEL, an invalid value of a key DEL does not need is a warning naming it, and its default applies', () => {
    const doc = { type: 'braid', delegates: 'x', namespaceIsolation: 'yes', resultMode: 'all', cniDir: '/d' };
    const c = parseBraidConfig(doc, 'del');
    expect(c).toMatchObject({ namespaceIsolation: false, resultMode: undefined, cniDir: '/d' });
    expect(c.delegates).toBeUndefined();
    expect(c.warnings.map((w) => w.message).join('\n')).toMatch(/delegates[^\n]*\n[^\n]*namespaceIsolation[^\n]*\n[^\n]*resultMode/);
    expect(cniError(() => parseBraidConfig(doc)).code).toBe(7);
  });

  it.each([
    ['cniDir', { cniDir: 5 }],
    ['type', { type: 5 }],
    ['cniVersion', { cniVersion: 2 }],
  ])('on DEL, still fails with code 7 naming %s, which DEL needs', (field, patch) => {
    const err = cniError(() => parseBraidConfig({ type: 'braid', delegates: [DELEGATE], ...patch }, 'del'));
    expect(err.code).toBe(7);
    expect(err.message).toContain(field);
  });

  it('refuses an ill-typed runtimeConfig value of a well-known capability with code 7 naming it; on DEL it is a warning', () => {
    const doc = { type: 'braid', delegates: [DELEGATE], runtimeConfig: { ips: ['10.250.1.5/24', 'x'], mac: 'c2:11:22:33:44:55' } };
    const err = cniError(() => parseBraidConfig(doc));
    expect(err.code).toBe(7);
    expect(err.message).toContain('runtimeConfig.ips must be a list of IP or CIDR strings');
    const c = parseBraidConfig(doc, 'del');
    expect(c.runtimeConfig).toEqual({});
    expect(c.warnings.map((w) => w.message)).toEqual([expect.stringContaining('runtimeConfig.ips must be')]);
  });

  it('on DEL, accepts a config that names no network (DEL reads the cache)', () => {
    expect(parseBraidConfig({ type: 'braid', cniDir: '/d' }, 'del').cniDir).toBe('/d');
  });

  it('refuses an unsupported cniVersion with code 1 (incompatible version) naming it', () => {
    const err = cniError(() => parseBraidConfig({ type: 'braid', cniVersion: '9.9.9', delegates: [DELEGATE] }));
    expect(err.code).toBe(1);
    expect(err.message).toContain('cniVersion');
    expect(err.message).toContain('9.9.9');
  });

  it('refuses a config with neither delegates nor clusterNetwork, code 7', () => {
    const err = cniError(() => parseBraidConfig({ type: 'braid', cniVersion: '1.0.0' }));
    expect(err.code).toBe(7);
    expect(err.message).toContain('at least one delegate/clusterNetwork');
  });

  it('knows GC\'s cni.dev/ keys, so they are not reported as unknown', () => {
    const c = parseBraidConfig({ type: 'braid', delegates: [DELEGATE], 'cni.dev/valid-attachments': [], 'cni.dev/attachments': [], bogus: 1 });
    expect(c.unknownKeys).toEqual(['bogus']);
  });

  it('accepts clusterNetwork alone', () => {
    expect(parseBraidConfig({ type: 'braid', clusterNetwork: '/etc/cni/net.d/10-flannel.conflist' }).clusterNetwork)
      .toBe('/etc/cni/net.d/10-flannel.conflist');
  });
});

describe('decodeJson', () => {
  it.each(['', 'not json', '[]', '"a string"', 'null', '42'])('refuses %j with code 6', (text) => {
    expect(cniError(() => decodeJson(text, 'stdin')).code).toBe(6);
  });

  it('returns the object of a JSON object document', () => {
    expect(decodeJson('{"type":"braid"}', 'stdin')).toEqual({ type: 'braid' });
  });
});

describe('normalizeNetwork', () => {
  it('turns a conf into a one-plugin list holding the conf unchanged', () => {
    const conf = { cniVersion: '0.4.0', name: 'macvlan-conf', type: 'macvlan', master: 'eth1', ipam: { type: 'dhcp' } };
    expect(normalizeNetwork(conf, 'x.conf', '1.1.0')).toEqual({ name: 'macvlan-conf', cniVersion: '0.4.0', plugins: [conf] });
  });

  it('keeps a conflist\'s plugins in order', () => {
    const plugins = [{ type: 'bridge' }, { type: 'tuning' }, { type: 'portmap', capabilities: { portMappings: true } }];
    expect(normalizeNetwork({ cniVersion: '1.0.0', name: 'podnet', plugins }, 'x.conflist', '1.1.0'))
      .toEqual({ name: 'podnet', cniVersion: '1.0.0', plugins });
  });

  it('fills a missing cniVersion with the fallback (braid\'s own)', () => {
    expect(normalizeNetwork({ name: 'n', type: 'bridge' }, 'delegates[0]', '0.3.1').cniVersion).toBe('0.3.1');
  });

  it.each([
    [{ type: 'bridge' }],
    [{ name: '', type: 'bridge' }],
    [{ name: '../x', type: 'bridge' }],
  ])('refuses a missing or invalid name with code 7 naming the source: %j', (doc) => {
    const err = cniError(() => normalizeNetwork(doc, '/etc/cni/net.d/10-x.conf', '1.0.0'));
    expect(err.code).toBe(7);
    expect(err.message).toContain('/etc/cni/net.d/10-x.conf');
    expect(err.message).toContain('name');
  });

  it('refuses a conf without type, code 7 naming the source', () => {
    const err = cniError(() => normalizeNetwork({ name: 'n', cniVersion: '1.0.0' }, 'delegates[2]', '1.0.0'));
    expect(err.code).toBe(7);
    expect(err.message).toContain('delegates[2]');
    expect(err.message).toContain('type');
  });

  it('refuses a plugin without type, code 7 naming the source and the plugin index', () => {
    const err = cniError(() => normalizeNetwork({ name: 'n', plugins: [{ type: 'bridge' }, { mtu: 1 }] }, 'a.conflist', '1.0.0'));
    expect(err.code).toBe(7);
    expect(err.message).toContain('a.conflist');
    expect(err.message).toContain('plugins[1]');
  });

  it.each([[[]], ['bridge'], [{}]])('refuses plugins %j with code 7', (plugins) => {
    expect(cniError(() => normalizeNetwork({ name: 'n', plugins }, 'a.conflist', '1.0.0')).code).toBe(7);
  });

  it.each(['[]', 'null', '"x"'])('refuses the non-object document %s with code 7', (text) => {
    expect(cniError(() => normalizeNetwork(JSON.parse(text), 'a.conf', '1.0.0')).code).toBe(7);
  });

  it.each([
    [{ cniVersions: ['0.4.0', '1.0.0', '9.0.0'] }, '1.0.0'],
    [{ cniVersion: '0.3.1', cniVersions: ['1.0.0', '0.4.0'] }, '1.0.0'],
    [{ cniVersion: '1.1.0', cniVersions: ['0.4.0'] }, '1.1.0'],
    [{ cniVersions: ['1.1.0', '2.0.0'] }, '1.1.0'],
  ])('picks the highest supported of cniVersion and cniVersions: %j gives %s', (versions, expected) => {
    expect(normalizeNetwork({ name: 'n', plugins: [{ type: 'bridge' }], ...versions }, 'a.conflist', '0.3.1').cniVersion).toBe(expected);
  });

  it('refuses cniVersions holding no supported version with code 1', () => {
    expect(cniError(() => normalizeNetwork({ name: 'n', cniVersions: ['2.0.0', '9.0.0'], type: 'bridge' }, 'a', '1.0.0')).code).toBe(1);
  });

  it('refuses an unknown cniVersion with code 1', () => {
    expect(cniError(() => normalizeNetwork({ name: 'n', cniVersion: '0.3.5', type: 'bridge' }, 'a', '1.0.0')).code).toBe(1);
  });

  it('refuses malformed cniVersions with code 7', () => {
    expect(cniError(() => normalizeNetwork({ name: 'n', cniVersions: '1.0.0', type: 'bridge' }, 'a', '1.0.0')).code).toBe(7);
    expect(cniError(() => normalizeNetwork({ name: 'n', cniVersions: ['1.0'], type: 'bridge' }, 'a', '1.0.0')).code).toBe(7);
  });

  it.each([
    [true, true], ['true', true], [false, false], ['false', false],
  ])('reads disableCheck and disableGC %j as %s', (value, expected) => {
    const n = normalizeNetwork({ name: 'n', plugins: [{ type: 'bridge' }], disableCheck: value, disableGC: value }, 'a', '1.0.0');
    expect(n.disableCheck).toBe(expected);
    expect(n.disableGC).toBe(expected);
  });

  it('leaves disableCheck unset when the conflist does not set it', () => {
    expect(normalizeNetwork({ name: 'n', plugins: [{ type: 'bridge' }] }, 'a', '1.0.0')).not.toHaveProperty('disableCheck');
  });

  it('refuses a disableCheck that is not a boolean, code 7 naming it', () => {
    const err = cniError(() => normalizeNetwork({ name: 'n', plugins: [{ type: 'bridge' }], disableCheck: 'yes' }, 'a', '1.0.0'));
    expect(err.code).toBe(7);
    expect(err.message).toContain('disableCheck');
  });
});

describe('loadNetworkFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-unit-conf-'));
    fs.writeFileSync(path.join(dir, '10-pod.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'podnet', plugins: [{ type: 'bridge' }] }));
    fs.mkdirSync(path.join(dir, 'podnet'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('appends the plugins of <dir>/<name>/*.conf to a conflist, as libcni does', () => {
    fs.writeFileSync(path.join(dir, 'podnet', '50-tuning.conf'), JSON.stringify({ type: 'tuning', mtu: 1400 }));
    expect(loadNetworkFile(path.join(dir, '10-pod.conflist'), '1.0.0').plugins).toEqual([{ type: 'bridge' }, { type: 'tuning', mtu: 1400 }]);
  });

  it.each([{ mtu: 1400 }, { type: '../../bin/sh' }, ['tuning']])('refuses the extra plugin %j with code 7 naming its file', (doc) => {
    const sub = path.join(dir, 'podnet', '50-bad.conf');
    fs.writeFileSync(sub, JSON.stringify(doc));
    const err = cniError(() => loadNetworkFile(path.join(dir, '10-pod.conflist'), '1.0.0'));
    expect(err.code).toBe(7);
    expect(err.message).toContain(sub);
  });
});

describe('listCachedContainers', () => {
  it('lists cache files by container ID, skipping temp files, the locks dir and names no container ID can have', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-unit-cache-'));
    try {
      for (const f of ['abc123', 'pod-1.x', 'abc123.4242.tmp', 'stray%zz', '.hidden', 'has space']) fs.writeFileSync(path.join(dir, f), '{}');
      fs.mkdirSync(path.join(dir, 'locks'));
      expect(listCachedContainers(dir).sort()).toEqual(['abc123', 'pod-1.x']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parseEnv', () => {
  const base = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc123', CNI_NETNS: '/var/run/netns/p', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin::/usr/lib/cni' };

  it('reads a full ADD environment, splitting CNI_PATH and keeping CNI_ARGS as received', () => {
    expect(parseEnv({ ...base, CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=a;K8S_POD_NAME=web-0' })).toEqual({
      command: 'ADD', containerID: 'abc123', netns: '/var/run/netns/p', ifname: 'eth0',
      args: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=a;K8S_POD_NAME=web-0', path: ['/opt/cni/bin', '/usr/lib/cni'],
    });
  });

  it.each(['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'])('ADD without %s fails with code 4 naming it', (v) => {
    const err = cniError(() => parseEnv({ ...base, [v]: undefined }));
    expect(err.code).toBe(4);
    expect(err.message).toContain(v);
  });

  it('DEL without CNI_NETNS is valid', () => {
    expect(parseEnv({ ...base, CNI_COMMAND: 'DEL', CNI_NETNS: undefined }).netns).toBe('');
  });

  it('STATUS and VERSION need no other variable', () => {
    expect(parseEnv({ CNI_COMMAND: 'STATUS' }).command).toBe('STATUS');
    expect(parseEnv({ CNI_COMMAND: 'VERSION' }).command).toBe('VERSION');
  });

  it('GC needs CNI_PATH only', () => {
    expect(parseEnv({ CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin' }).path).toEqual(['/opt/cni/bin']);
    expect(cniError(() => parseEnv({ CNI_COMMAND: 'GC' })).code).toBe(4);
  });

  it.each(['', 'add', 'FROB'])('refuses the CNI_COMMAND %j with code 4', (command) => {
    expect(cniError(() => parseEnv({ ...base, CNI_COMMAND: command })).code).toBe(4);
  });

  it.each(['../x', '-abc', 'a/b', 'a b', '.hidden'])('refuses the CNI_CONTAINERID %j with code 4', (id) => {
    const err = cniError(() => parseEnv({ ...base, CNI_CONTAINERID: id }));
    expect(err.code).toBe(4);
    expect(err.message).toContain('CNI_CONTAINERID');
  });

  it.each(['abcdefghijklmnop', 'a/b', 'a:b', 'a b', '.', '..'])('refuses the CNI_IFNAME %j with code 4', (ifname) => {
    const err = cniError(() => parseEnv({ ...base, CNI_IFNAME: ifname }));
    expect(err.code).toBe(4);
    expect(err.message).toContain('CNI_IFNAME');
  });

  it('accepts a 15-character CNI_IFNAME', () => {
    expect(parseEnv({ ...base, CNI_IFNAME: 'abcdefghijklmno' }).ifname).toBe('abcdefghijklmno');
  });

  it.each(['ADD', 'DEL', 'CHECK'])('%s refuses a CNI_IFNAME of 15 characters or fewer but over 15 bytes (IFNAMSIZ), code 4', (command) => {
    const err = cniError(() => parseEnv({ ...base, CNI_COMMAND: command, CNI_IFNAME: 'eth0éééééé' }));
    expect(err.code).toBe(4);
    expect(err.message).toContain('CNI_IFNAME');
    expect(err.message).toContain('16 given');
    expect(parseEnv({ ...base, CNI_COMMAND: command, CNI_IFNAME: 'eth0ééééé' }).ifname).toBe('eth0ééééé'); // 14 bytes
  });

  it.each([
    ['K8S_POD_NAME=web-0', 'K8S_POD_NAME', 'K8S_POD_NAMESPACE'],
    ['K8S_POD_NAMESPACE=a;K8S_POD_NAME=', 'K8S_POD_NAMESPACE', 'K8S_POD_NAME'],
    ['K8S_POD_NAMESPACE=a', 'K8S_POD_NAMESPACE', 'K8S_POD_NAME'],
  ])('refuses CNI_ARGS %j (half a pod) with code 7 naming %s and %s', (args, set, empty) => {
    for (const command of ['ADD', 'CHECK']) {
      const err = cniError(() => parseEnv({ ...base, CNI_COMMAND: command, CNI_ARGS: args }));
      expect(err.code).toBe(7);
      expect(err.message).toMatch(new RegExp(`${set} is .* but ${empty} is empty`));
    }
    expect(parseEnv({ ...base, CNI_COMMAND: 'DEL', CNI_ARGS: args }).args).toBe(args); // DEL works from the cache
  });

  it('refuses a malformed CNI_ARGS with code 4 naming it', () => {
    const err = cniError(() => parseEnv({ ...base, CNI_ARGS: 'foo' }));
    expect(err.code).toBe(4);
    expect(err.message).toContain('CNI_ARGS');
  });

  it('answers VERSION whatever CNI_ARGS holds: VERSION needs only CNI_COMMAND', () => {
    expect(parseEnv({ CNI_COMMAND: 'VERSION', CNI_ARGS: 'foo' }).command).toBe('VERSION');
  });
});

describe('parseCniArgs', () => {
  it('splits K=V pairs, keeping "=" inside values and skipping empty pairs', () => {
    expect(parseCniArgs('IgnoreUnknown=1;K8S_POD_NAME=web-0;;X=a=b;')).toEqual([
      ['IgnoreUnknown', '1'], ['K8S_POD_NAME', 'web-0'], ['X', 'a=b'],
    ]);
  });

  it('reads an empty CNI_ARGS as no pairs, and allows an empty value', () => {
    expect(parseCniArgs('')).toEqual([]);
    expect(parseCniArgs('K=')).toEqual([['K', '']]);
  });

  it.each(['foo', '=v', 'A=1;bar'])('refuses %j with code 4 naming CNI_ARGS', (args) => {
    const err = cniError(() => parseCniArgs(args));
    expect(err.code).toBe(4);
    expect(err.message).toContain('CNI_ARGS');
  });
});

describe('findPlugin and isPlainFileName', () => {
  let dir: string;
  let first: string;
  let second: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-unit-find-'));
    first = path.join(dir, 'first');
    second = path.join(dir, 'second');
    fs.mkdirSync(first);
    fs.mkdirSync(second);
    for (const [d, name] of [[first, 'bridge'], [second, 'bridge'], [second, 'macvlan']]) {
      fs.writeFileSync(path.join(d, name), '#!/bin/sh\n', { mode: 0o755 });
    }
    fs.mkdirSync(path.join(first, 'macvlan')); // a directory of that name is not a plugin
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finds the plugin in the first directory that has it as a file', () => {
    expect(findPlugin('bridge', [first, second])).toBe(path.join(first, 'bridge'));
    expect(findPlugin('bridge', [second, first])).toBe(path.join(second, 'bridge'));
    expect(findPlugin('macvlan', [path.join(dir, 'missing'), first, second])).toBe(path.join(second, 'macvlan'));
  });

  it('fails with code 7 naming the plugin and the directories when no directory has it', () => {
    const err = cniError(() => findPlugin('ipvlan', [first, second]));
    expect(err.code).toBe(7);
    expect(err.message).toContain('ipvlan');
    expect(err.message).toContain(first);
    expect(err.message).toContain(second);
  });

  it.each(['../second/bridge', '/bin/sh', 'sub/bridge', '.', '..', '', 'a\0b'])('refuses the type %j (code 7) even if the file exists', (type) => {
    expect(isPlainFileName(type)).toBe(false);
    const err = cniError(() => findPlugin(type, [first]));
    expect(err.code).toBe(7);
  });

  it('accepts plain file names', () => {
    for (const t of ['bridge', 'host-local', 'sriov.v2', '..bridge']) expect(isPlainFileName(t)).toBe(true);
  });
});

describe('capabilityArgs and pluginRequest', () => {
  const runtimeConfig = {
    portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    bandwidth: { ingressRate: 1000 },
    ips: ['10.250.30.5/24'],
  };

  it('keeps only the runtimeConfig keys the plugin\'s capabilities set to true', () => {
    expect(capabilityArgs({ type: 'portmap', capabilities: { portMappings: true, bandwidth: false, mac: true } }, runtimeConfig))
      .toEqual({ portMappings: runtimeConfig.portMappings });
    expect(capabilityArgs({ type: 'bridge' }, runtimeConfig)).toEqual({});
    expect(capabilityArgs({ type: 'x', capabilities: { ips: 'true' } }, runtimeConfig)).toEqual({});
  });

  const net: NetworkConfig = { name: 'podnet', cniVersion: '1.0.0', plugins: [] };

  it('injects the list\'s name and cniVersion over the plugin\'s own, and adds extra keys', () => {
    const plugin = { type: 'bridge', name: 'stale', cniVersion: '0.3.1', bridge: 'cni0' };
    const prevResult = { cniVersion: '1.0.0', ips: [{ address: '10.250.30.5/24' }] };
    expect(pluginRequest(net, plugin, {}, { prevResult })).toEqual({
      type: 'bridge', name: 'podnet', cniVersion: '1.0.0', bridge: 'cni0', prevResult,
    });
    expect(plugin).toEqual({ type: 'bridge', name: 'stale', cniVersion: '0.3.1', bridge: 'cni0' });
  });

  it('adds runtimeConfig only with the enabled keys, and none when nothing is enabled', () => {
    const portmap = { type: 'portmap', capabilities: { portMappings: true } };
    expect(pluginRequest(net, portmap, runtimeConfig)).toEqual({
      ...portmap, name: 'podnet', cniVersion: '1.0.0', runtimeConfig: { portMappings: runtimeConfig.portMappings },
    });
    expect(pluginRequest(net, { type: 'bridge' }, runtimeConfig)).not.toHaveProperty('runtimeConfig');
  });
});
