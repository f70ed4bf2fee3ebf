import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { FIXTURE_PLUGINS, REFERENCE_PLUGINS, runBraid, type BraidCall, type BraidOutcome } from '../helpers/braid';
import { fakeCalls } from '../helpers/cni';
import { sandbox, type Sandbox } from '../helpers/host';

// The CNI protocol of the real executable: environment, stdin, stdout, exit status, error codes,
// and what braid hands its delegates. Addresses: 10.250.10.0/24 - 10.250.14.0/24.

const ALL_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
const CALLER_PATH = `${REFERENCE_PLUGINS}:${FIXTURE_PLUGINS}`;

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox();
});

/** A valid braid config around `delegates`, with the sandbox's cache dir. */
function braidConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: 'braid-net',
    type: 'braid',
    cniDir: sb.cniDir,
    confDir: sb.confDir,
    binDir: path.join(sb.dir, 'bin'),
    delegates: [{ cniVersion: '1.0.0', name: 'podnet', type: 'fake', ip: '10.250.10.5/24' }],
    ...extra,
  };
}

/** A full, valid runtime environment for `command` (override or drop keys with `patch`). */
function runtimeEnv(command: string, patch: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'ctr-env-check',
    CNI_NETNS: '/var/run/netns/does-not-matter',
    CNI_IFNAME: 'eth0',
    CNI_PATH: CALLER_PATH,
    FAKE_LOG: sb.fakeLog,
    ...patch,
  };
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

/** Asserts braid failed and printed exactly one CNI error object (and nothing else) on stdout; returns it. */
function expectCniError(r: BraidOutcome, code: number): { cniVersion: string; code: number; msg: string; details?: string } {
  expect(r.status, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).not.toBe(0);
  expect(r.json, `stdout is not one JSON document: ${JSON.stringify(r.stdout)}`).toBeTypeOf('object');
  expect(r.stdout).toBe(`${JSON.stringify(r.json)}\n`);
  expect(r.json.code, r.json.msg).toBe(code);
  expect(typeof r.json.msg).toBe('string');
  expect(ALL_VERSIONS).toContain(r.json.cniVersion);
  return r.json;
}

function add(call: Omit<BraidCall, 'command'>): BraidOutcome {
  return runBraid({ command: 'ADD', ifname: 'eth0', ...call, env: { FAKE_LOG: sb.fakeLog, ...call.env } });
}

function del(call: Omit<BraidCall, 'command'>): BraidOutcome {
  return runBraid({ command: 'DEL', ifname: 'eth0', ...call, env: { FAKE_LOG: sb.fakeLog, ...call.env } });
}

describe('VERSION', () => {
  it('answers with a minimal env -i environment, listing exactly 0.1.0 to 1.1.0, and nothing on stderr', () => {
    const r = runBraid({ command: 'VERSION', rawEnv: { CNI_COMMAND: 'VERSION' } });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${JSON.stringify(r.json)}\n`);
    expect(Object.keys(r.json).sort()).toEqual(['cniVersion', 'supportedVersions']);
    expect(r.json.supportedVersions).toEqual(ALL_VERSIONS);
    expect(ALL_VERSIONS).toContain(r.json.cniVersion);
    expect(r.stderr).toBe('');
  });

  it.each(['0.3.1', '0.4.0', '1.0.0', '1.1.0'])('echoes the supported input cniVersion %s', (v) => {
    const r = runBraid({ command: 'VERSION', rawEnv: { CNI_COMMAND: 'VERSION' }, config: { cniVersion: v } });
    expect(r.status).toBe(0);
    expect(r.json).toEqual({ cniVersion: v, supportedVersions: ALL_VERSIONS });
  });

  it('answers an input cniVersion it does not know with its own version instead of failing', () => {
    const r = runBraid({ command: 'VERSION', rawEnv: { CNI_COMMAND: 'VERSION' }, config: { cniVersion: '9.9.9' } });
    expect(r.status).toBe(0);
    expect(r.json).toEqual({ cniVersion: '1.1.0', supportedVersions: ALL_VERSIONS });
  });
});

describe('environment validation', () => {
  const required: Array<[string, string]> = [
    ...['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'].map((v) => ['ADD', v] as [string, string]),
    ...['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'].map((v) => ['CHECK', v] as [string, string]),
    ...['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'].map((v) => ['DEL', v] as [string, string]),
    ['GC', 'CNI_PATH'],
  ];

  it.each(required)('%s without %s fails with code 4 naming the variable, stdout holding only the error', (command, variable) => {
    const r = runBraid({ command, rawEnv: runtimeEnv(command, { [variable]: undefined }), config: braidConfig({ cniVersion: '1.1.0' }) });
    const err = expectCniError(r, 4);
    expect(err.msg).toContain(variable);
    expect(fakeCalls(sb.fakeLog)).toEqual([]);
  });

  it('without CNI_COMMAND fails with code 4 naming CNI_COMMAND', () => {
    const r = runBraid({ command: '', rawEnv: runtimeEnv('ADD', { CNI_COMMAND: undefined }), config: braidConfig() });
    expect(expectCniError(r, 4).msg).toContain('CNI_COMMAND');
  });

  it('DEL without CNI_NETNS succeeds and still DELs the delegates', () => {
    const netns = sb.netns();
    expect(add({ containerID: 'ctr-nonetns', netns, config: braidConfig() }).status).toBe(0);
    const r = runBraid({ command: 'DEL', rawEnv: runtimeEnv('DEL', { CNI_CONTAINERID: 'ctr-nonetns', CNI_NETNS: undefined }), config: braidConfig() });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const dels = fakeCalls(sb.fakeLog).filter((c) => c.command === 'DEL');
    expect(dels).toHaveLength(1);
    expect(dels[0].env.CNI_NETNS ?? '').toBe('');
    expect(sb.cacheFiles()).toEqual([]);
  });

  it('an unknown CNI_COMMAND fails with code 4', () => {
    const r = runBraid({ command: 'FROB', rawEnv: runtimeEnv('FROB'), config: braidConfig() });
    expect(expectCniError(r, 4).msg).toContain('FROB');
  });

  it.each([
    ['CNI_CONTAINERID', '../x'],
    ['CNI_IFNAME', 'abcdefghijklmnop'], // 16 characters: one more than IFNAMSIZ allows
    ['CNI_IFNAME', 'a/b'],
    ['CNI_ARGS', 'foo'],
  ])('ADD with the invalid %s %j fails with code 4 naming the variable and runs no delegate', (variable, value) => {
    const r = runBraid({ command: 'ADD', rawEnv: runtimeEnv('ADD', { [variable]: value }), config: braidConfig() });
    expect(expectCniError(r, 4).msg).toContain(variable);
    expect(fakeCalls(sb.fakeLog)).toEqual([]);
    expect(sb.cacheFiles()).toEqual([]);
  });
});

describe('stdin validation', () => {
  const call = (config: unknown): BraidOutcome => runBraid({ command: 'ADD', rawEnv: runtimeEnv('ADD'), config });

  it('stdin that is not JSON fails with code 6', () => {
    expectCniError(call('{"cniVersion": "1.0.0", "type": '), 6);
  });

  it('a JSON array on stdin fails with code 6', () => {
    expectCniError(call('[{"type": "braid"}]'), 6);
  });

  it('empty stdin fails with code 6', () => {
    expectCniError(call(''), 6);
  });

  it('namespaceIsolation of the wrong type fails the schema with code 7 naming namespaceIsolation', () => {
    expect(expectCniError(call(braidConfig({ namespaceIsolation: 'yes' })), 7).msg).toContain('namespaceIsolation');
  });

  it('delegates that are not a list fail the schema with code 7 naming delegates', () => {
    expect(expectCniError(call(braidConfig({ delegates: 'x' })), 7).msg).toContain('delegates');
  });

  it('an unsupported cniVersion fails with code 1 (incompatible CNI version, per the spec), naming cniVersion', () => {
    const err = expectCniError(call(braidConfig({ cniVersion: '9.9.9' })), 1);
    expect(err.msg).toContain('cniVersion');
    expect(err.msg).toContain('9.9.9');
  });

  it('a config with neither delegates nor clusterNetwork fails with code 7 "at least one delegate/clusterNetwork"', () => {
    const { delegates: _, ...config } = braidConfig();
    expect(expectCniError(call(config), 7).msg).toContain('at least one delegate/clusterNetwork');
  });
});

describe('version gating', () => {
  it('CHECK with config cniVersion 0.3.1 fails with code 1', () => {
    const r = runBraid({ command: 'CHECK', rawEnv: runtimeEnv('CHECK'), config: braidConfig({ cniVersion: '0.3.1' }) });
    expect(expectCniError(r, 1).msg).toContain('CHECK');
  });

  it.each(['STATUS', 'GC'])('%s with config cniVersion 1.0.0 fails with code 1', (command) => {
    const r = runBraid({ command, rawEnv: runtimeEnv(command), config: braidConfig({ cniVersion: '1.0.0' }) });
    expect(expectCniError(r, 1).msg).toContain(command);
    expect(fakeCalls(sb.fakeLog)).toEqual([]);
  });
});

describe('stdout carries only the JSON result', () => {
  it('with logLevel debug and logToStderr, ADD prints only its result on stdout and the logs on stderr', () => {
    const netns = sb.netns();
    const config = braidConfig({ logLevel: 'debug', logToStderr: true });
    const a = add({ containerID: 'ctr-quiet', netns, config });
    expect(a.status, a.stderr).toBe(0);
    expect(a.stdout).toBe(`${JSON.stringify(a.json)}\n`);
    expect(a.json.ips).toEqual([{ interface: 0, address: '10.250.10.5/24' }]);
    expect(a.stderr).toMatch(/\[verbose\]/);

    const d = del({ containerID: 'ctr-quiet', netns, config });
    expect(d.status, d.stderr).toBe(0);
    expect(d.stdout).toBe('');
    expect(d.stderr).toMatch(/\[verbose\]/);
  });

  it('with logLevel debug, a failing ADD prints only the error object on stdout', () => {
    const netns = sb.netns();
    const config = braidConfig({
      logLevel: 'debug',
      logToStderr: true,
      delegates: [{ cniVersion: '1.0.0', name: 'podnet', type: 'fake', fail: ['ADD'], failCode: 107 }],
    });
    const r = add({ containerID: 'ctr-quiet-fail', netns, config });
    expectCniError(r, 107);
    expect(r.stderr).toMatch(/\[error\]/);
  });
});

describe('delegate errors', () => {
  it('keep the delegate error code (133) and details, and are wrapped with the network name', () => {
    const netns = sb.netns();
    const config = braidConfig({
      delegates: [
        { cniVersion: '1.0.0', name: 'podnet', type: 'fake', ip: '10.250.10.6/24' },
        { cniVersion: '1.0.0', name: 'brokennet', type: 'fake', fail: ['ADD'], failCode: 133 },
      ],
    });
    const err = expectCniError(add({ containerID: 'ctr-fail133', netns, config }), 133);
    expect(err.msg).toContain('brokennet');
    expect(err.msg).toContain('net1');
    expect(err.msg).toContain('fake: ADD failed on demand');
    expect(err.details).toBe('requested by test');
  });

  it('a plugin that exits non-zero with nothing on stdout gives an error carrying its stderr', () => {
    const netns = sb.netns();
    const config = braidConfig({ delegates: [{ cniVersion: '1.0.0', name: 'crashnet', type: 'crash' }] });
    const r = add({ containerID: 'ctr-crash', netns, config });
    const err = expectCniError(r, 999);
    expect(err.msg).toContain('crashnet');
    expect(err.msg).toContain('kaboom, the plugin fell over');
    // the delegate's stderr is passed on to braid's stderr too
    expect(r.stderr).toContain('kaboom, the plugin fell over');
  });
});

describe('the environment delegates get', () => {
  it('is the one a runtime would give: CNI_* per attachment, binDir first in CNI_PATH, other variables inherited', () => {
    const netns = sb.netns();
    const binDir = path.join(sb.dir, 'bin');
    fs.mkdirSync(binDir);
    // binDir is searched before CNI_PATH: this "crash" is the fake, not test/fixtures/plugins/crash.
    fs.copyFileSync(path.join(FIXTURE_PLUGINS, 'fake'), path.join(binDir, 'crash'));
    fs.chmodSync(path.join(binDir, 'crash'), 0o755);
    const config = braidConfig({
      binDir,
      delegates: [
        { cniVersion: '1.0.0', name: 'podnet', type: 'fake', ip: '10.250.11.5/24' },
        { cniVersion: '1.0.0', name: 'sidenet', type: 'crash', ip: '10.250.11.6/24' },
      ],
    });
    const args = 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0';
    const common = { containerID: 'ctr-env', netns, args, path: CALLER_PATH, config, env: { FAKE_ECHO: 'bar', FAKE_LOG: sb.fakeLog } };
    const a = runBraid({ command: 'ADD', ifname: 'eth0', ...common });
    expect(a.status, a.stdout + a.stderr).toBe(0);
    const d = runBraid({ command: 'DEL', ifname: 'eth0', ...common });
    expect(d.status, d.stdout + d.stderr).toBe(0);

    const calls = fakeCalls(sb.fakeLog);
    expect(calls.map((c) => [c.command, c.config.name, c.env.CNI_IFNAME])).toEqual([
      ['ADD', 'podnet', 'eth0'],
      ['ADD', 'sidenet', 'net1'],
      ['DEL', 'sidenet', 'net1'],
      ['DEL', 'podnet', 'eth0'],
    ]);
    for (const c of calls) {
      expect(c.env).toEqual({
        CNI_COMMAND: c.command,
        CNI_CONTAINERID: 'ctr-env',
        CNI_NETNS: netns,
        CNI_IFNAME: c.env.CNI_IFNAME,
        CNI_ARGS: args,
        CNI_PATH: `${binDir}:${CALLER_PATH}`,
      });
      expect(c.echo).toBe('bar');
    }
  });
});

describe('conflist delegation', () => {
  it('injects name and cniVersion, chains prevResult on ADD in order and DELs in reverse with the cached result', () => {
    const netns = sb.netns();
    const p2Result = {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'eth0', sandbox: netns }],
      ips: [{ interface: 0, address: '10.250.12.6/24', gateway: '10.250.12.1' }],
    };
    const plugins = [
      { type: 'fake', tag: 'p1', ip: '10.250.12.5/24' },
      { type: 'fake', tag: 'p2', result: p2Result },
      { type: 'fake', tag: 'p3' },
    ];
    const config = braidConfig({ delegates: [{ cniVersion: '1.0.0', name: 'chain', plugins }] });
    const a = add({ containerID: 'ctr-chain', netns, config });
    expect(a.status, a.stdout + a.stderr).toBe(0);
    const p1Result = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', sandbox: netns }], ips: [{ interface: 0, address: '10.250.12.5/24' }] };

    const adds = fakeCalls(sb.fakeLog).filter((c) => c.command === 'ADD');
    expect(adds.map((c) => c.config.tag)).toEqual(['p1', 'p2', 'p3']);
    // the exact stdin each plugin received: itself plus name, cniVersion and (after the first) prevResult
    expect(adds[0].config).toEqual({ ...plugins[0], name: 'chain', cniVersion: '1.0.0' });
    expect(adds[1].config).toEqual({ ...plugins[1], name: 'chain', cniVersion: '1.0.0', prevResult: p1Result });
    expect(adds[2].config).toEqual({ ...plugins[2], name: 'chain', cniVersion: '1.0.0', prevResult: p2Result });
    // the list's result is the last plugin's (p3 passed p2's through)
    expect(a.json.ips).toEqual(p2Result.ips);

    const d = del({ containerID: 'ctr-chain', netns, config });
    expect(d.status, d.stdout + d.stderr).toBe(0);
    const dels = fakeCalls(sb.fakeLog).filter((c) => c.command === 'DEL');
    expect(dels.map((c) => c.config.tag)).toEqual(['p3', 'p2', 'p1']);
    dels.forEach((c, i) => {
      expect(c.config).toEqual({ ...plugins[2 - i], name: 'chain', cniVersion: '1.0.0', prevResult: p2Result });
    });
  });

  it('sends runtimeConfig only to cluster-network plugins with the matching capability, and only the enabled keys', () => {
    const netns = sb.netns();
    const portMappings = [{ hostPort: 28080, containerPort: 80, protocol: 'tcp' }];
    const bandwidth = { ingressRate: 1000000, ingressBurst: 100000, egressRate: 1000000, egressBurst: 100000 };
    const config = braidConfig({
      runtimeConfig: { portMappings, bandwidth },
      delegates: [
        {
          cniVersion: '1.0.0',
          name: 'podnet',
          plugins: [
            { type: 'fake', tag: 'main', ip: '10.250.13.5/24' },
            { type: 'fake', tag: 'pm', capabilities: { portMappings: true, bandwidth: false } },
          ],
        },
        { cniVersion: '1.0.0', name: 'sidenet', type: 'fake', tag: 'side', ip: '10.250.13.6/24', capabilities: { portMappings: true } },
      ],
    });
    expect(add({ containerID: 'ctr-rc', netns, config }).status).toBe(0);
    expect(del({ containerID: 'ctr-rc', netns, config }).status).toBe(0);

    const calls = fakeCalls(sb.fakeLog);
    expect(calls).toHaveLength(6);
    for (const c of calls) {
      if (c.config.tag === 'pm') expect(c.config.runtimeConfig, c.command).toEqual({ portMappings });
      else expect(c.config, `${c.command} ${c.config.tag}`).not.toHaveProperty('runtimeConfig');
    }
    expect(calls.filter((c) => c.config.tag === 'pm').map((c) => c.command)).toEqual(['ADD', 'DEL']);
  });
});

describe('ADD result conversion', () => {
  const address = '10.250.14.7/24';
  const gateway = '10.250.14.1';
  const delegateResults: Record<string, Record<string, unknown>> = {
    '0.2.0': { cniVersion: '0.2.0', ip4: { ip: address, gateway, routes: [{ dst: '0.0.0.0/0', gw: gateway }] }, dns: { nameservers: ['10.250.14.53'] } },
    '0.3.1': {
      cniVersion: '0.3.1',
      interfaces: [{ name: 'eth0', mac: '0a:58:0a:fa:0e:07', sandbox: '/var/run/netns/x' }],
      ips: [{ version: '4', interface: 0, address, gateway }],
      routes: [{ dst: '0.0.0.0/0', gw: gateway }],
      dns: { nameservers: ['10.250.14.53'] },
    },
    '0.4.0': {
      cniVersion: '0.4.0',
      interfaces: [{ name: 'eth0', mac: '0a:58:0a:fa:0e:07', sandbox: '/var/run/netns/x' }],
      ips: [{ version: '4', interface: 0, address, gateway }],
      routes: [{ dst: '0.0.0.0/0', gw: gateway }],
      dns: { nameservers: ['10.250.14.53'] },
    },
    '1.0.0': {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'eth0', mac: '0a:58:0a:fa:0e:07', sandbox: '/var/run/netns/x' }],
      ips: [{ interface: 0, address, gateway }],
      routes: [{ dst: '0.0.0.0/0', gw: gateway }],
      dns: { nameservers: ['10.250.14.53'] },
    },
  };
  const cases = Object.keys(delegateResults).flatMap((d) => ['0.2.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'].map((b) => [d, b]));

  it.each(cases)('a %s delegate result is returned in braid config version %s with that version\'s shape', (delegateVersion, braidVersion) => {
    const containerID = `ctr-conv-${delegateVersion}-${braidVersion}`.replace(/\./g, '');
    const config = braidConfig({
      cniVersion: braidVersion,
      delegates: [{ cniVersion: delegateVersion, name: 'convnet', type: 'fake', result: delegateResults[delegateVersion] }],
    });
    const netns = sb.netns();
    const r = add({ containerID, netns, config });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toBe(`${JSON.stringify(r.json)}\n`);
    const out = r.json;
    expect(out.cniVersion).toBe(braidVersion);
    if (braidVersion === '0.2.0') {
      expect(out).not.toHaveProperty('ips');
      expect(out).not.toHaveProperty('interfaces');
      expect(out.ip4).toEqual({ ip: address, gateway, routes: [{ dst: '0.0.0.0/0', gw: gateway }] });
    } else {
      expect(out).not.toHaveProperty('ip4');
      const ip = braidVersion.startsWith('0.') ? { version: '4', address, gateway } : { address, gateway };
      expect(out.ips).toHaveLength(1);
      expect(out.ips[0]).toMatchObject(ip);
      if (!braidVersion.startsWith('0.')) expect(out.ips[0]).not.toHaveProperty('version');
      expect(out.routes).toEqual([{ dst: '0.0.0.0/0', gw: gateway }]);
      if (delegateVersion !== '0.2.0') {
        expect(out.interfaces).toEqual([{ name: 'eth0', mac: '0a:58:0a:fa:0e:07', sandbox: '/var/run/netns/x' }]);
        expect(out.ips[0].interface).toBe(0);
      }
    }
    expect(out.dns).toEqual({ nameservers: ['10.250.14.53'] });
    expect(del({ containerID, netns, config }).status).toBe(0);
  });
});
