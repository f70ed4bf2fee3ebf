import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { beforeEach, describe, expect, it } from 'vitest';
import { runBraid, type BraidCall, type BraidOutcome } from '../helpers/braid';
import { fakeCalls } from '../helpers/cni';
import { addressesIn, hostLocalLeases, ip, linksIn, nsName, sandbox, type Sandbox } from '../helpers/host';

// Multus-compatible configuration, run through the real executable with Debian's reference
// plugins and the fake plugin. Addresses: 10.250.20.0/24 - 10.250.29.0/24.

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox();
});

function call(command: 'ADD' | 'DEL', c: Omit<BraidCall, 'command'>): BraidOutcome {
  return runBraid({ command, ifname: 'eth0', ...c, env: { FAKE_LOG: sb.fakeLog, ...c.env } });
}

/** Runs ADD and expects success with only the result JSON on stdout. */
function addOk(c: Omit<BraidCall, 'command'>): BraidOutcome {
  const r = call('ADD', c);
  expect(r.status, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
  expect(r.stdout).toBe(`${JSON.stringify(r.json)}\n`);
  return r;
}

/** Runs DEL and expects success with nothing on stdout. */
function delOk(c: Omit<BraidCall, 'command'>): BraidOutcome {
  const r = call('DEL', c);
  expect(r.status, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
  expect(r.stdout).toBe('');
  return r;
}

/** braid's config with the sandbox's directories. */
function braid(extra: Record<string, unknown>): Record<string, unknown> {
  return { cniVersion: '1.0.0', name: 'braid-net', type: 'braid', cniDir: sb.cniDir, confDir: sb.confDir, ...extra };
}

function mtuIn(netns: string, ifname: string): number {
  return (JSON.parse(ip('-n', nsName(netns), '-j', 'link', 'show', 'dev', ifname)) as Array<{ mtu: number }>)[0].mtu;
}

/** The nat table of a netns (by name). */
function natRules(netns: string): string {
  return execFileSync('ip', ['netns', 'exec', netns, 'iptables', '-w', '-t', 'nat', '-S'], { encoding: 'utf8' });
}

describe('Multus thin config', () => {
  it('a Multus config with inline bridge+host-local delegates works unchanged except "type": "braid"', () => {
    const netns = sb.netns();
    const bridge = sb.linkName('br');
    const multusConfig = {
      cniVersion: '0.3.1',
      name: 'multus-cni-network',
      type: 'braid', // was "multus"
      kubeconfig: '/etc/cni/net.d/multus.d/multus.kubeconfig',
      confDir: sb.confDir,
      cniDir: sb.cniDir,
      binDir: '/opt/cni/bin',
      multusNamespace: 'kube-system',
      systemNamespaces: ['kube-system'],
      namespaceIsolation: false,
      globalNamespaces: 'default,shared',
      readinessindicatorfile: '',
      retryDeleteOnError: false,
      logLevel: 'verbose',
      logToStderr: true,
      capabilities: { portMappings: true },
      delegates: [{
        cniVersion: '0.3.1',
        name: 'podnet',
        type: 'bridge',
        bridge,
        isGateway: true,
        ipMasq: false,
        ipam: { type: 'host-local', subnet: '10.250.20.0/24', dataDir: sb.ipamDir, routes: [{ dst: '0.0.0.0/0' }] },
      }],
    };
    const a = addOk({ containerID: 'ctr-multus', netns, config: multusConfig });
    expect(a.json.cniVersion).toBe('0.3.1');
    const addrs = addressesIn(nsName(netns), 'eth0');
    expect(addrs).toHaveLength(1);
    expect(addrs[0]).toMatch(/^10\.250\.20\.\d+\/24$/);
    expect(a.json.ips.map((i: { address: string }) => i.address)).toEqual(addrs);
    expect(hostLocalLeases(sb.ipamDir)).toEqual([`podnet/${addrs[0].split('/')[0]}`]);
    // every key is one braid knows: nothing is reported as unknown
    expect(a.stderr).not.toContain('unknown config keys');

    delOk({ containerID: 'ctr-multus', netns, config: multusConfig });
    expect(linksIn(nsName(netns))).toEqual([]);
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
  });
});

describe('clusterNetwork', () => {
  it('as a path to a .conflist runs bridge, tuning and portmap, portmap getting runtimeConfig.portMappings', () => {
    const netns = sb.netns();
    // braid runs in a netns of its own as the "host": portmap's chains, which its DEL leaves (they are
    // shared by every pod), go away with that netns instead of staying in the host's nat table.
    const hostNetns = nsName(sb.netns('host'));
    const bridge = sb.linkName('br');
    const hostPort = 25021;
    const file = sb.write('cluster/podnet.conflist', {
      cniVersion: '1.0.0',
      name: 'podnet',
      plugins: [
        { type: 'bridge', bridge, isGateway: true, ipam: { type: 'host-local', ranges: [[{ subnet: '10.250.21.0/24' }]], dataDir: sb.ipamDir } },
        { type: 'tuning', mtu: 1400 },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      ],
    });
    const config = braid({
      clusterNetwork: file,
      capabilities: { portMappings: true },
      runtimeConfig: { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] },
    });
    const a = addOk({ containerID: 'ctr-conflist', netns, config, hostNetns });
    const [addr] = addressesIn(nsName(netns), 'eth0');
    expect(addr).toMatch(/^10\.250\.21\.\d+\/24$/);
    expect(a.json.ips.map((i: { address: string }) => i.address)).toContain(addr);
    expect(mtuIn(netns, 'eth0')).toBe(1400);
    const dnat = natRules(hostNetns).split('\n').filter((l) => l.includes(`--dport ${hostPort}`));
    expect(dnat.length).toBeGreaterThan(0);
    expect(dnat.join('\n')).toContain(addr.split('/')[0]);

    delOk({ containerID: 'ctr-conflist', netns, config, hostNetns });
    expect(natRules(hostNetns)).not.toContain(`--dport ${hostPort}`);
    expect(linksIn(nsName(netns))).toEqual([]);
    expect(hostLocalLeases(sb.ipamDir)).toEqual([]);
  });

  it('as a directory uses its alphabetically first conf file', () => {
    const netns = sb.netns();
    const dir = path.join(sb.dir, 'clusterdir');
    sb.write('clusterdir/05-readme.txt', 'not a network');
    sb.write('clusterdir/20-second.conflist', { cniVersion: '1.0.0', name: 'second', plugins: [{ type: 'fake', ip: '10.250.22.6/24' }] });
    sb.write('clusterdir/10-first.conf', { cniVersion: '1.0.0', name: 'first', type: 'fake', ip: '10.250.22.5/24' });
    const config = braid({ clusterNetwork: dir });
    const a = addOk({ containerID: 'ctr-dir', netns, config });
    expect(a.json.ips).toEqual([{ interface: 0, address: '10.250.22.5/24' }]);
    delOk({ containerID: 'ctr-dir', netns, config });
    expect(fakeCalls(sb.fakeLog).map((c) => [c.command, c.config.name, c.env.CNI_IFNAME])).toEqual([['ADD', 'first', 'eth0'], ['DEL', 'first', 'eth0']]);
  });

  it('as a name is looked up in confDir by the network name inside the files', () => {
    const netns = sb.netns();
    fs.writeFileSync(path.join(sb.confDir, '10-other.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'other', plugins: [{ type: 'fake' }] }));
    fs.writeFileSync(path.join(sb.confDir, '20-renamed.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'mynet', type: 'fake', ip: '10.250.22.7/24' }));
    fs.writeFileSync(path.join(sb.confDir, '30-broken.conf'), '{ not json');
    const config = braid({ clusterNetwork: 'mynet' });
    const a = addOk({ containerID: 'ctr-byname', netns, config });
    expect(a.json.ips).toEqual([{ interface: 0, address: '10.250.22.7/24' }]);
    expect(fakeCalls(sb.fakeLog).map((c) => c.config.name)).toEqual(['mynet']);
    delOk({ containerID: 'ctr-byname', netns, config });
  });

  it('as a .conflist gets the plugins of <dir>/<name>/*.conf appended after its own', () => {
    const netns = sb.netns();
    const file = path.join(sb.confDir, '40-withsub.conflist');
    fs.writeFileSync(file, JSON.stringify({ cniVersion: '1.0.0', name: 'withsub', plugins: [{ type: 'fake', tag: 'inline', ip: '10.250.23.5/24' }] }));
    sb.write('net.d/withsub/50-extra.conf', { type: 'fake', tag: 'extra' });
    const config = braid({ clusterNetwork: file });
    const a = addOk({ containerID: 'ctr-sub', netns, config });
    expect(a.json.ips).toEqual([{ interface: 0, address: '10.250.23.5/24' }]);
    delOk({ containerID: 'ctr-sub', netns, config });
    const calls = fakeCalls(sb.fakeLog);
    expect(calls.map((c) => [c.command, c.config.tag])).toEqual([['ADD', 'inline'], ['ADD', 'extra'], ['DEL', 'extra'], ['DEL', 'inline']]);
    // the appended plugin is part of the list: it gets the list's name and cniVersion
    expect(calls[1].config).toMatchObject({ name: 'withsub', cniVersion: '1.0.0' });
  });

  it('as a .conflist with loadOnlyInlinedPlugins: true ignores <dir>/<name>/*.conf', () => {
    const netns = sb.netns();
    const file = path.join(sb.confDir, '40-inlineonly.conflist');
    fs.writeFileSync(file, JSON.stringify({
      cniVersion: '1.0.0',
      name: 'inlineonly',
      loadOnlyInlinedPlugins: true,
      plugins: [{ type: 'fake', tag: 'inline', ip: '10.250.23.6/24' }],
    }));
    sb.write('net.d/inlineonly/50-extra.conf', { type: 'fake', tag: 'extra' });
    const config = braid({ clusterNetwork: file });
    addOk({ containerID: 'ctr-inline', netns, config });
    delOk({ containerID: 'ctr-inline', netns, config });
    expect(fakeCalls(sb.fakeLog).map((c) => [c.command, c.config.tag])).toEqual([['ADD', 'inline'], ['DEL', 'inline']]);
  });
});

describe('networks and versions', () => {
  it('defaultNetworks given by name are attached as net1.. after the cluster network', () => {
    const netns = sb.netns();
    fs.writeFileSync(path.join(sb.confDir, '10-podnet.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'podnet', type: 'fake', ip: '10.250.24.5/24' }));
    fs.writeFileSync(path.join(sb.confDir, '20-side.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'side', plugins: [{ type: 'fake', ip: '10.250.25.5/24' }] }));
    const config = braid({ clusterNetwork: 'podnet', defaultNetworks: ['side'] });
    const a = addOk({ containerID: 'ctr-defaults', netns, config });
    delOk({ containerID: 'ctr-defaults', netns, config });
    expect(fakeCalls(sb.fakeLog).map((c) => [c.command, c.config.name, c.env.CNI_IFNAME])).toEqual([
      ['ADD', 'podnet', 'eth0'],
      ['ADD', 'side', 'net1'],
      ['DEL', 'side', 'net1'],
      ['DEL', 'podnet', 'eth0'],
    ]);
    expect(a.json.interfaces.map((i: { name: string }) => i.name)).toEqual(['eth0', 'net1']);
    expect(a.json.ips).toEqual([{ interface: 0, address: '10.250.24.5/24' }, { interface: 1, address: '10.250.25.5/24' }]);
  });

  it('a conflist with cniVersions runs at the highest version braid supports (["0.4.0","1.0.0","9.0.0"] gives 1.0.0)', () => {
    const netns = sb.netns();
    const file = sb.write('vers.conflist', { cniVersions: ['0.4.0', '1.0.0', '9.0.0'], name: 'versnet', plugins: [{ type: 'fake', ip: '10.250.26.5/24' }] });
    const config = braid({ cniVersion: '1.1.0', clusterNetwork: file });
    addOk({ containerID: 'ctr-versions', netns, config });
    delOk({ containerID: 'ctr-versions', netns, config });
    const calls = fakeCalls(sb.fakeLog);
    expect(calls).toHaveLength(2);
    for (const c of calls) expect(c.config.cniVersion).toBe('1.0.0');
  });

  it('a delegate without cniVersion is run at braid\'s cniVersion', () => {
    const netns = sb.netns();
    const config = braid({ cniVersion: '0.4.0', delegates: [{ name: 'nover', type: 'fake', ip: '10.250.26.6/24' }] });
    const a = addOk({ containerID: 'ctr-nover', netns, config });
    expect(a.json.cniVersion).toBe('0.4.0');
    delOk({ containerID: 'ctr-nover', netns, config });
    const calls = fakeCalls(sb.fakeLog);
    expect(calls.map((c) => c.command)).toEqual(['ADD', 'DEL']);
    for (const c of calls) expect(c.config.cniVersion).toBe('0.4.0');
  });
});

describe('logging', () => {
  it('unknown top-level keys are logged as a warning on stderr and ADD still works', () => {
    const netns = sb.netns();
    const config = braid({
      logLevel: 'warning',
      frobnicate: true,
      colourScheme: 'dark',
      delegates: [{ cniVersion: '1.0.0', name: 'podnet', type: 'fake', ip: '10.250.27.5/24' }],
    });
    const a = addOk({ containerID: 'ctr-unknown', netns, config });
    expect(a.json.ips).toEqual([{ interface: 0, address: '10.250.27.5/24' }]);
    const warning = a.stderr.split('\n').find((l) => l.includes('[warning]') && l.includes('frobnicate'));
    expect(warning, a.stderr).toBeDefined();
    expect(warning).toContain('colourScheme');
    delOk({ containerID: 'ctr-unknown', netns, config });
  });

  it('logFile rotates at maxSize, keeps at most maxBackups valid gzip backups, and stdout stays JSON only', () => {
    const netns = sb.netns();
    const logDir = path.join(sb.dir, 'logs');
    const logFile = path.join(logDir, 'braid.log');
    const config = braid({
      logLevel: 'debug',
      logToStderr: false,
      logFile,
      logOptions: { maxSize: 0.001, maxBackups: 2, compress: true },
      delegates: [{ cniVersion: '1.0.0', name: 'podnet', type: 'fake', ip: '10.250.28.5/24' }],
    });
    for (let i = 0; i < 12; i++) {
      const containerID = `ctr-log-${i}`;
      const a = addOk({ containerID, netns, config });
      expect(a.json.ips).toEqual([{ interface: 0, address: '10.250.28.5/24' }]);
      delOk({ containerID, netns, config });
    }
    const names = fs.readdirSync(logDir);
    expect(names).toContain('braid.log');
    const backups = names.filter((n) => n !== 'braid.log');
    expect(backups.length, names.join(' ')).toBeGreaterThan(0);
    expect(backups.length, names.join(' ')).toBeLessThanOrEqual(2);
    let kept = '';
    for (const b of backups) {
      expect(b).toMatch(/^braid\.log\..+\.gz$/);
      const text = zlib.gunzipSync(fs.readFileSync(path.join(logDir, b))).toString('utf8');
      expect(text).toMatch(/\[verbose\]/);
      kept += text;
    }
    // the current file is bounded by maxSize (1048 bytes) plus, at most, the one line that started it
    const current = fs.readFileSync(logFile, 'utf8');
    expect(current).toMatch(/\[verbose\]/);
    kept += current;
    // older backups were pruned: the first calls' lines are gone, the last ones are kept
    expect(kept).not.toContain('container=ctr-log-0:');
    expect(kept).toContain('DEL container=ctr-log-11:');
    const longest = Math.max(...current.split('\n').map((l) => Buffer.byteLength(l) + 1));
    expect(fs.statSync(logFile).size).toBeLessThanOrEqual(Math.max(0.001 * 1024 * 1024, longest));
  });
});
