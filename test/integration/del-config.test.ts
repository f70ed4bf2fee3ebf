import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { BRAID, parseJson, REFERENCE_PLUGINS, runBraid, type BraidOutcome } from '../helpers/braid';
import { braidConf, failed, ok } from '../helpers/cni';
import { addressesIn, hostLocalLeases, linksIn, PodSandbox } from '../helpers/host';

// DEL is never blocked by config, and log settings never fail a command: each case is a real ADD
// (bridge + host-local in a real netns) and then a DEL. The bridge is no gateway, so nothing of the
// test is routed on the host. Addresses: 10.250.231.0/24 - 10.250.233.0/24.

let pod: PodSandbox;
beforeEach(() => {
  pod = new PodSandbox('delcfg', 'ctr-delcfg');
});

/** braid's config with one bridge + host-local delegate on `subnet`, plus `extra`. */
function config(subnet: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return braidConf(pod.sb, {
    delegates: [{
      cniVersion: '1.0.0', name: 'podnet', type: 'bridge', bridge: pod.sb.linkName('br'),
      ipam: { type: 'host-local', subnet: `10.250.${subnet}.0/24`, dataDir: pod.sb.ipamDir },
    }],
    ...extra,
  });
}

function call(command: 'ADD' | 'DEL', conf: unknown): BraidOutcome {
  return runBraid({ command, containerID: pod.containerID, netns: pod.netns, ifname: 'eth0', path: REFERENCE_PLUGINS, config: conf });
}

/** ADD with `conf` and check eth0 got an address of the subnet, with its lease held. */
function added(conf: unknown, subnet: number): BraidOutcome {
  const a = call('ADD', conf);
  ok(a);
  expect(addressesIn(pod.ns, 'eth0')).toEqual([expect.stringMatching(new RegExp(`^10\\.250\\.${subnet}\\.\\d+/24$`))]);
  expect(hostLocalLeases(pod.sb.ipamDir)).toHaveLength(1);
  return a;
}

/** DEL with `conf` and check everything ADD made is gone: the interface, the lease and the cache. */
function deleted(conf: unknown, cniDir = pod.sb.cniDir): BraidOutcome {
  const d = call('DEL', conf);
  ok(d);
  expect(d.stdout).toBe('');
  expect(linksIn(pod.ns)).toEqual([]);
  expect(hostLocalLeases(pod.sb.ipamDir)).toEqual([]);
  expect(fs.existsSync(path.join(cniDir, pod.containerID))).toBe(false);
  return d;
}

describe('DEL after a config edit', () => {
  it('succeeds when the DEL config adds "logLevel": "Debug" (Multus spelling), logging at debug level', () => {
    const conf = config(231);
    added(conf, 231);
    const d = deleted({ ...conf, logLevel: 'Debug' });
    expect(d.stderr).toContain('[verbose]');
    expect(d.stderr).not.toContain('warning');
  });

  it('succeeds, warning about each, when the DEL config holds invalid values of keys DEL does not need', () => {
    const conf = config(232);
    added(conf, 232);
    const edited = { ...conf, namespaceIsolation: 'yes', resultMode: 'everything', readinessTimeout: -1, defaultNetworks: 'side' };
    // ADD stays strict: the same config is refused, naming an invalid field
    expect(failed(runBraid({ command: 'ADD', containerID: 'ctr-other', netns: pod.netns, ifname: 'eth1', config: edited }), 7))
      .toMatch(/invalid braid config: (namespaceIsolation|resultMode|readinessTimeout|defaultNetworks) /);
    const d = deleted(edited);
    for (const key of ['namespaceIsolation', 'resultMode', 'readinessTimeout', 'defaultNetworks']) {
      expect(d.stderr).toMatch(new RegExp(`warning.*${key}.*DEL does not need it`));
    }
  });

  it('succeeds when the DEL config no longer names any network (the cache says what to DEL)', () => {
    const conf = config(233);
    added(conf, 233);
    const { delegates: _, ...withoutNetworks } = conf;
    deleted(withoutNetworks);
  });

  it('GC tears down a stale container from its cache when the config holds invalid values of keys DEL does not need', () => {
    const conf = config(232, { cniVersion: '1.1.0' });
    added(conf, 232);
    const gc = runBraid({
      command: 'GC', path: REFERENCE_PLUGINS,
      config: { ...conf, namespaceIsolation: 'yes', logLevel: 'Info', 'cni.dev/valid-attachments': [] },
    });
    ok(gc);
    expect(gc.stderr).toMatch(/warning.*namespaceIsolation.*DEL does not need it/);
    // GC DELs without a netns (the runtime removes it): the lease is what shows the delegate DEL ran
    expect(hostLocalLeases(pod.sb.ipamDir)).toEqual([]);
    expect(pod.sb.cacheFiles()).toEqual([]);
  });

  it('still fails with code 7 naming cniDir when cniDir is invalid, keeping the attachment for a DEL with a fixed config', () => {
    const conf = config(231);
    added(conf, 231);
    expect(failed(call('DEL', { ...conf, cniDir: 42 }), 7)).toContain('cniDir');
    expect(linksIn(pod.ns)).toEqual(['eth0']);
    deleted(conf);
  });
});

describe('log settings never fail a command', () => {
  it.each([
    ['debug', true], ['Debug', true], ['info', true], ['verbose', true], ['error', false], ['panic', false], ['WARNING', false],
  ])('logLevel %j works on ADD and DEL (verbose lines shown: %s)', (logLevel, verbose) => {
    const conf = config(232, { logLevel });
    const a = added(conf, 232);
    const d = deleted(conf);
    for (const r of [a, d]) {
      expect(r.stderr.includes('[verbose]'), r.stderr).toBe(verbose);
      expect(r.stderr).not.toContain('logLevel');
    }
  });

  it('an unknown logLevel is a warning naming it on ADD and DEL, and the default level applies', () => {
    const conf = config(233, { logLevel: 'chatty' });
    const a = added(conf, 233);
    const d = deleted(conf);
    for (const r of [a, d]) {
      expect(r.stderr).toMatch(/\[warning\].*logLevel "chatty" is not a level/);
      expect(r.stderr).not.toContain('[verbose]');
    }
  });

  it('an unknown logOptions key or an invalid logOptions value is a warning naming it on ADD and DEL', () => {
    const conf = config(231, { logLevel: 'warning', logOptions: { rotate: true, maxAge: -3, maxSize: 10 } });
    const a = added(conf, 231);
    const d = deleted(conf);
    for (const r of [a, d]) {
      expect(r.stderr).toMatch(/\[warning\].*logOptions: ignoring unknown key "rotate"/);
      expect(r.stderr).toMatch(/\[warning\].*logOptions\.maxAge must be >= 0/);
    }
  });

  it('invalid logToStderr and logFile values are warnings on ADD and DEL, and their defaults apply', () => {
    const conf = config(232, { logLevel: 'verbose', logToStderr: 'yes', logFile: 12 });
    const a = added(conf, 232);
    const d = deleted(conf);
    for (const r of [a, d]) {
      expect(r.stderr).toMatch(/\[warning\].*logToStderr must be boolean/);
      expect(r.stderr).toMatch(/\[warning\].*logFile must be string/);
      expect(r.stderr).toContain('[verbose]'); // logToStderr's default: true
    }
  });
});

describe('null and "" mean the default, as in Multus', () => {
  it('JSON null for optional keys and "" for binDir, confDir and multusNamespace work on ADD and DEL', () => {
    const conf = config(233, {
      binDir: '', confDir: '', multusNamespace: '', clusterNetwork: '', kubeconfig: null, logLevel: null, logFile: null,
      namespaceIsolation: null, defaultNetworks: null, systemNamespaces: null, logOptions: null, readinessindicatorfile: null,
    });
    const a = added(conf, 233);
    const d = deleted(conf);
    for (const r of [a, d]) expect(r.stderr).toBe('');
  });

  it('cniDir "" is the default /var/lib/cni/multus (run in a private mount namespace with a temp dir over /var/lib)', () => {
    // The default cniDir is the host's real one: each braid runs in its own mount namespace where a
    // temp dir is bind-mounted over /var/lib, so the cache lands in that dir and the host is untouched.
    const varLib = path.join(pod.sb.dir, 'varlib');
    fs.mkdirSync(varLib);
    const conf = config(231, { cniDir: '' });
    const inPrivateVarLib = (command: 'ADD' | 'DEL'): BraidOutcome => {
      const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" /var/lib && exec "$1"', varLib, BRAID], {
        env: { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: pod.containerID, CNI_NETNS: pod.netns, CNI_IFNAME: 'eth0', CNI_PATH: REFERENCE_PLUGINS },
        input: JSON.stringify(conf), encoding: 'utf8',
      });
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json: parseJson(r.stdout) };
    };
    const cache = path.join(varLib, 'cni/multus', pod.containerID);
    ok(inPrivateVarLib('ADD'));
    expect(addressesIn(pod.ns, 'eth0')).toHaveLength(1);
    expect(fs.existsSync(cache)).toBe(true);
    expect(hostLocalLeases(pod.sb.ipamDir)).toHaveLength(1);
    ok(inPrivateVarLib('DEL'));
    expect(fs.existsSync(cache)).toBe(false);
    expect(linksIn(pod.ns)).toEqual([]);
    expect(hostLocalLeases(pod.sb.ipamDir)).toEqual([]);
  });
});
