import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runBraidAsync, type BraidOutcome } from '../helpers/braid';
import { braidConf, fakeCalls, ok } from '../helpers/cni';
import { hostLocalLeases, hostOf, linksIn, sandbox, v4SubnetAllocator, type Sandbox } from '../helpers/host';
import { AgentNode, AGENT_NS } from '../helpers/agent-node';
import type { ApiServer } from '../helpers/apiserver.mjs';
import { NETWORKS, RESOURCE_NAME, useApiServer } from '../helpers/k8s';
import { startKubelet } from '../helpers/kubelet.mjs';

// What braid's log tells an operator: the real executable, exec'd as a runtime does, in real netns with
// the reference plugins, talking HTTPS (with a bearer token) to the test kube-apiserver.
// Address range of this file: 10.250.240.0/24 … 10.250.244.0/24.

let api: ApiServer;
useApiServer((s) => { api = s; });

const nextSubnet = v4SubnetAllocator(240, 5);

/** One pod's sandbox: netns, bridge cluster network, kubeconfig with the server's token, CNI_ARGS naming the pod. */
interface World {
  sb: Sandbox;
  netns: string;
  containerID: string;
  pod: string;
  args: string;
  conf(extra?: Record<string, unknown>): Record<string, unknown>;
  run(command: string, config: Record<string, unknown>): Promise<BraidOutcome>;
  /** A macvlan+host-local config on a fresh veth parent, with more plugins chained after it. */
  macvlan(name: string, macvlanExtra?: Record<string, unknown>, chained?: Record<string, unknown>[]): Record<string, unknown>;
}

let vethCounter = 0;
function world(annotations: Record<string, string> = {}): World {
  const sb = sandbox();
  const netns = sb.netns();
  const bridge = sb.linkName('br');
  const subnet = nextSubnet();
  const namespace = 'team-logs';
  const name = `pod-${sb.id}`;
  const uid = api.addPod({ metadata: { namespace, name, uid: `uid-${sb.id}`, annotations } }).metadata.uid;
  const containerID = `logs-${sb.id}-0123456789abcdef`;
  const kubeconfig = api.kubeconfig(sb.dir);
  const args = `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${name};K8S_POD_INFRA_CONTAINER_ID=${containerID};K8S_POD_UID=${uid}`;
  return {
    sb, netns, containerID, args, pod: `${namespace}/${name}`,
    conf: (extra = {}) => braidConf(sb, {
      kubeconfig,
      binDir: '/usr/lib/cni',
      delegates: [{
        cniVersion: '1.0.0', name: 'podnet', type: 'bridge', bridge,
        ipam: { type: 'host-local', subnet, dataDir: sb.ipamDir, routes: [{ dst: '0.0.0.0/0', gw: hostOf(subnet, 1) }] },
      }],
      ...extra,
    }),
    run: (command, config) => runBraidAsync({ command, containerID, netns, ifname: 'eth0', args, config, env: { FAKE_LOG: sb.fakeLog } }),
    macvlan: (netName, macvlanExtra = {}, chained = []) => {
      const [parent] = sb.veth(`m${vethCounter++ % 10}`);
      const macvlan = { type: 'macvlan', master: parent, mode: 'bridge', ipam: { type: 'host-local', subnet: nextSubnet(), dataDir: sb.ipamDir }, ...macvlanExtra };
      return { cniVersion: '1.0.0', name: netName, plugins: [macvlan, ...chained] };
    },
  };
}

/** key=value pairs of a text log line (values JSON when quoted or braced). */
function textFields(line: string): Record<string, any> {
  const out: Record<string, any> = {};
  for (const m of line.matchAll(/ (\w+)=("(?:[^"\\]|\\.)*"|\{.*\}$|\S+)/g)) {
    out[m[1]] = /^["{]/.test(m[2]) ? JSON.parse(m[2]) : m[2];
  }
  return out;
}

/** The text lines whose message is `msg`, as their key=value fields. */
function entries(stderr: string, msg: string): Array<Record<string, any>> {
  const marker = `: ${msg} `;
  return lines(stderr).filter((l) => l.includes(marker)).map((l) => textFields(l.slice(l.indexOf(marker) + marker.length - 1)));
}

/** The non-empty lines of a log. */
const lines = (text: string): string[] => text.split('\n').filter(Boolean);

describe('log lines', () => {
  it('every line names the command, the container and the pod, and a warning shows at the default level', async () => {
    const w = world();
    const conf = w.conf({ someUnknownKey: true });
    const added = await w.run('ADD', conf);
    ok(added);
    const warnings = lines(added.stderr).filter((l) => l.includes('[warning]'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`ADD container=${w.containerID} pod=${w.pod}: ignoring unknown config keys: someUnknownKey`);
    expect(warnings[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[warning\] /);
    // the default level shows warnings and errors, nothing else
    expect(lines(added.stderr).every((l) => /\[(warning|error)\]/.test(l))).toBe(true);

    const deleted = await w.run('DEL', { ...conf, logLevel: 'verbose' });
    ok(deleted);
    expect(lines(deleted.stderr).length).toBeGreaterThan(1);
    for (const line of lines(deleted.stderr)) expect(line).toContain(` DEL container=${w.containerID} pod=${w.pod}: `);
    expect(linksIn(path.basename(w.netns))).toEqual([]);
  });

  it('an explicit Multus level keeps its meaning: panic shows no warning', async () => {
    const w = world();
    const conf = w.conf({ someUnknownKey: true, logLevel: 'panic' });
    const added = await w.run('ADD', conf);
    ok(added);
    expect(added.stderr).toBe('');
    ok(await w.run('DEL', conf));
  });

  it('a failure is logged at the default level with the pod it is about', async () => {
    const w = world({ [NETWORKS]: 'no-such-nad' });
    const added = await w.run('ADD', w.conf());
    expect(added.status).not.toBe(0);
    const errors = lines(added.stderr).filter((l) => l.includes('[error]'));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.at(-1)).toContain(`ADD container=${w.containerID} pod=${w.pod}: `);
    expect(errors.at(-1)).toContain('team-logs/no-such-nad not found');
  });
});

describe('verbose', () => {
  it('shows the chosen networks with their sources, every delegate call with exit code and duration, and the API round trips', async () => {
    const w = world({ [NETWORKS]: 'mv-api' });
    api.addNad('team-logs', 'mv-api', w.macvlan('mv-api'));
    w.sb.write('net.d/10-side.conflist', w.macvlan('side'));
    const conf = w.conf({ logLevel: 'verbose', defaultNetworks: ['side'] });
    const podPath = `/api/v1/namespaces/${w.pod.replace('/', '/pods/')}`;
    api.fault({ method: 'GET', path: podPath, status: 503, message: 'etcd is slow', times: 1 });
    const added = await w.run('ADD', conf);
    ok(added);
    expect(entries(added.stderr, 'network chosen')).toEqual([
      { network: 'podnet', ifname: 'eth0', from: 'inline', by: 'delegates[0]', plugins: 'bridge' },
      { network: 'side', ifname: 'net1', from: `confDir ${w.sb.confDir}`, by: 'defaultNetworks', plugins: 'macvlan' },
      { network: 'team-logs/mv-api', ifname: 'net2', from: 'NAD from the API', by: `pod annotation ${NETWORKS}`, plugins: 'macvlan' },
    ]);
    const calls = entries(added.stderr, 'delegate call');
    expect(calls.map(({ durationMs, ...c }) => c)).toEqual([
      { command: 'ADD', plugin: 'bridge', network: 'podnet', ifname: 'eth0', exitCode: '0' },
      { command: 'ADD', plugin: 'macvlan', network: 'side', ifname: 'net1', exitCode: '0' },
      { command: 'ADD', plugin: 'macvlan', network: 'mv-api', ifname: 'net2', exitCode: '0' },
    ]);
    for (const c of calls) expect(Number(c.durationMs)).toBeGreaterThan(0);
    const trips = entries(added.stderr, 'API round trip');
    // the retried GET: both attempts, the second one numbered
    expect(trips.filter((t) => t.path === podPath).map(({ durationMs, ...t }) => t)).toEqual([
      { method: 'GET', path: podPath, status: '503' },
      { method: 'GET', path: podPath, status: '200', attempt: '2' },
    ]);
    expect(trips).toContainEqual(expect.objectContaining({ method: 'GET', path: '/apis/k8s.cni.cncf.io/v1/namespaces/team-logs/network-attachment-definitions/mv-api', status: '200' }));
    expect(trips).toContainEqual(expect.objectContaining({ method: 'GET', path: '/apis/k8s.cni.cncf.io/v1/namespaces/kube-system/network-attachment-definitions/side', status: '404' }));
    expect(trips).toContainEqual(expect.objectContaining({ method: 'PATCH', path: `${podPath}/status`, status: '200' }));
    // every round trip the server saw is in the log (events are posted in the background and may end later)
    const seen = api.calls.filter((c) => !c.path.endsWith('/events'));
    expect(trips.filter((t) => !t.path.endsWith('/events'))).toHaveLength(seen.length);
    expect(added.stderr).not.toContain(api.token);

    const deleted = await w.run('DEL', conf);
    ok(deleted);
    expect(entries(deleted.stderr, 'delegate call').map((c) => [c.command, c.network, c.exitCode])).toEqual([
      ['DEL', 'mv-api', '0'], ['DEL', 'side', '0'], ['DEL', 'podnet', '0'],
    ]);
    expect(hostLocalLeases(w.sb.ipamDir)).toEqual([]);
  });

  it('names a nadDir manifest as the source, and a failing delegate with its exit code', async () => {
    const w = world();
    const nadFile = w.sb.write('nads/failing.yaml', [
      'apiVersion: k8s.cni.cncf.io/v1',
      'kind: NetworkAttachmentDefinition',
      'metadata: {name: failing, namespace: default}',
      `spec: {config: '${JSON.stringify({ cniVersion: '1.0.0', name: 'failing', type: 'fake', fail: ['ADD'], failCode: 107 })}'}`,
    ].join('\n'));
    const conf = w.conf({ logLevel: 'verbose', kubeconfig: '', nadDir: path.dirname(nadFile), multusNamespace: 'default', defaultNetworks: ['failing'] });
    const added = await w.run('ADD', conf);
    expect(added.status).not.toBe(0);
    expect(entries(added.stderr, 'network chosen')[1]).toEqual({
      network: 'default/failing', ifname: 'net1', from: `nadDir ${nadFile}`, by: 'defaultNetworks', plugins: 'fake',
    });
    const calls = entries(added.stderr, 'delegate call').map((c) => [c.command, c.plugin, c.exitCode]);
    // the failed ADD, then the rollback's DELs, last attachment first
    expect(calls).toEqual([['ADD', 'bridge', '0'], ['ADD', 'fake', '1'], ['DEL', 'fake', '0'], ['DEL', 'bridge', '0']]);
    expect(linksIn(path.basename(w.netns))).toEqual([]);
  });

  it('shows a delegate killed at delegateTimeout with its time and the reason, and no exit code', async () => {
    const w = world();
    const conf = w.conf({ logLevel: 'verbose', delegateTimeout: 0.5 });
    (conf.delegates as unknown[]).push({ cniVersion: '1.0.0', name: 'slownet', type: 'slow' });
    const added = await w.run('ADD', conf);
    expect(added.status).not.toBe(0);
    const slow = entries(added.stderr, 'delegate call').find((c) => c.plugin === 'slow' && c.command === 'ADD')!;
    expect(slow).toMatchObject({ network: 'slownet', ifname: 'net1', exitCode: 'null' });
    expect(slow.error).toContain('timed out after 500 ms');
    expect(Number(slow.durationMs)).toBeGreaterThanOrEqual(500);
    expect(linksIn(path.basename(w.netns))).toEqual([]);
  });
});

describe('verbose with the kubelet', () => {
  it('shows each pod-resources call with its gRPC status and duration', async () => {
    const w = world({ [NETWORKS]: 'vf-net' });
    api.addNad('team-logs', 'vf-net', { cniVersion: '1.0.0', name: 'vf-net', type: 'fake' }, { [RESOURCE_NAME]: 'example.com/vf' });
    const [namespace, name] = w.pod.split('/');
    const kubelet = await startKubelet({ get: 'unimplemented', pods: [{ name, namespace, containers: [{ devices: [{ resourceName: 'example.com/vf', deviceIds: ['0000:03:02.1'] }] }] }] });
    onTestFinished(() => kubelet.stop());
    const conf = w.conf({ logLevel: 'verbose', kubeletSocket: kubelet.socket, deviceInfoDir: path.join(w.sb.dir, 'devinfo'), pciDevicesDir: path.join(w.sb.dir, 'pci') });
    const added = await w.run('ADD', conf);
    ok(added);
    const trips = entries(added.stderr, 'kubelet round trip');
    expect(trips.map((t) => [t.method, t.status])).toEqual([['Get', 'UNIMPLEMENTED'], ['List', 'OK']]);
    for (const t of trips) expect(Number(t.durationMs)).toBeGreaterThan(0);
    expect(fakeCalls(w.sb.fakeLog)[0].config.deviceID).toBe('0000:03:02.1');
    ok(await w.run('DEL', conf));
  });
});

describe('verbose with the node agent', () => {
  it('names the agent\'s cache as the NAD\'s source and shows the agent round trips instead of API ones', async () => {
    const node = new AgentNode(api, nextSubnet);
    node.nad('mv-agent');
    const pod = node.pod('mv-agent');
    await node.startAgent();
    const added = await pod.run('ADD');
    ok(added);
    expect(entries(added.stderr, 'network chosen')[1]).toEqual({
      network: `${AGENT_NS}/mv-agent`, ifname: 'net1', from: "NAD from the agent's cache", by: `pod annotation ${NETWORKS}`, plugins: 'macvlan',
    });
    const trips = entries(added.stderr, 'agent round trip');
    expect(trips.map((t) => [t.op, t.ok])).toEqual([['resolve', 'true'], ['report', 'true']]);
    for (const t of trips) expect(Number(t.durationMs)).toBeGreaterThan(0);
    expect(entries(added.stderr, 'API round trip')).toEqual([]);
    ok(await pod.run('DEL'));
  });
});

describe('debug', () => {
  it('shows the exact stdin of every delegate, with tokens and secrets redacted', async () => {
    const w = world({ [NETWORKS]: 'mv-secret' });
    const secrets = { token: api.token, auth: api.token, header: `Bearer ${api.token}`, kubeconfigData: { 'client-key-data': 'S0VZ', token: api.token } };
    api.addNad('team-logs', 'mv-secret', w.macvlan('mv-secret', { password: api.token }, [{ type: 'fake', ...secrets, keep: 'visible' }]));
    const conf = w.conf({ logLevel: 'debug' });
    const added = await w.run('ADD', conf);
    ok(added);
    expect(added.stderr).not.toContain(api.token);
    const stdins = entries(added.stderr, 'delegate stdin');
    expect(stdins.map((e) => [e.command, e.plugin, e.network, e.ifname])).toEqual([
      ['ADD', 'bridge', 'podnet', 'eth0'], ['ADD', 'macvlan', 'mv-secret', 'net1'], ['ADD', 'fake', 'mv-secret', 'net1'],
    ]);
    // what the chained plugin really got, and what the log shows of it
    const [received] = fakeCalls(w.sb.fakeLog);
    const logged = stdins[2].stdin;
    expect(received.config.token).toBe(api.token);
    expect(logged).toEqual({
      ...received.config,
      token: '[redacted]',
      auth: '[redacted]',
      header: 'Bearer [redacted]',
      kubeconfigData: { 'client-key-data': '[redacted]', token: '[redacted]' },
    });
    expect(logged.keep).toBe('visible');
    expect(stdins[1].stdin.password).toBe('[redacted]');
    ok(await w.run('DEL', conf));
  });
});

/** Every line of a JSON-format log, parsed; each must be one object with exactly the documented keys. */
function jsonRecords(text: string): Array<Record<string, any>> {
  return lines(text).map((line) => {
    const rec = JSON.parse(line);
    expect(Object.keys(rec)).toEqual(['time', 'level', 'container', 'pod', 'command', 'msg', 'fields']);
    expect(new Date(rec.time).toISOString()).toBe(rec.time);
    expect(['panic', 'error', 'warning', 'verbose', 'debug']).toContain(rec.level);
    expect(typeof rec.msg).toBe('string');
    expect(typeof rec.fields).toBe('object');
    return rec;
  });
}

describe('logFormat json', () => {
  it('writes one JSON object per line (time, level, container, pod, command, msg, fields) to stderr and logFile', async () => {
    const w = world({ [NETWORKS]: 'mv-json' });
    api.addNad('team-logs', 'mv-json', w.macvlan('mv-json'));
    const logFile = path.join(w.sb.dir, 'logs', 'braid.log');
    const conf = w.conf({ logLevel: 'debug', logFormat: 'json', logFile });
    const added = await w.run('ADD', conf);
    ok(added);
    const deleted = await w.run('DEL', conf);
    ok(deleted);
    const records = [...jsonRecords(added.stderr), ...jsonRecords(deleted.stderr)];
    for (const rec of records) {
      expect(rec.container).toBe(w.containerID);
      expect(rec.pod).toBe(w.pod);
    }
    expect(new Set(records.map((r) => r.command))).toEqual(new Set(['ADD', 'DEL']));
    // the file holds the same records
    expect(jsonRecords(fs.readFileSync(logFile, 'utf8')).map((r) => r.msg)).toEqual(records.map((r) => r.msg));

    const chosen = records.filter((r) => r.msg === 'network chosen').map((r) => r.fields);
    expect(chosen).toEqual([
      { network: 'podnet', ifname: 'eth0', from: 'inline', by: 'delegates[0]', plugins: 'bridge' },
      { network: 'team-logs/mv-json', ifname: 'net1', from: 'NAD from the API', by: `pod annotation ${NETWORKS}`, plugins: 'macvlan' },
    ]);
    const calls = records.filter((r) => r.msg === 'delegate call');
    expect(calls.map((r) => [r.command, r.fields.plugin, r.fields.exitCode])).toEqual([
      ['ADD', 'bridge', 0], ['ADD', 'macvlan', 0], ['DEL', 'macvlan', 0], ['DEL', 'bridge', 0],
    ]);
    for (const c of calls) expect(c.fields.durationMs).toBeTypeOf('number');
    const stdin = records.find((r) => r.msg === 'delegate stdin' && r.fields.plugin === 'macvlan')!;
    expect(stdin.level).toBe('debug');
    expect(stdin.fields.stdin).toMatchObject({ cniVersion: '1.0.0', name: 'mv-json', type: 'macvlan', mode: 'bridge' });
    const trip = records.find((r) => r.msg === 'API round trip' && r.fields.method === 'PATCH')!;
    expect(trip.fields).toMatchObject({ status: 200, path: `/api/v1/namespaces/${w.pod.replace('/', '/pods/')}/status` });
    expect(trip.fields.durationMs).toBeTypeOf('number');
  });

  it('wraps a delegate\'s stderr in a record, so stderr still parses line by line', async () => {
    const w = world();
    const conf = w.conf({ logFormat: 'JSON' });
    (conf.delegates as unknown[]).push({ cniVersion: '1.0.0', name: 'crashnet', type: 'crash' });
    const added = await w.run('ADD', conf);
    expect(added.status).not.toBe(0);
    const records = jsonRecords(added.stderr);
    const passed = records.find((r) => r.msg === 'plugin stderr')!;
    expect(passed.level).toBe('error');
    expect(passed.fields).toMatchObject({ command: 'ADD', plugin: 'crash', network: 'crashnet', ifname: 'net1' });
    expect(passed.fields.stderr).toContain('kaboom, the plugin fell over');
    expect(records.at(-1)).toMatchObject({ level: 'error', command: 'ADD', container: w.containerID, pod: w.pod });
    expect(linksIn(path.basename(w.netns))).toEqual([]);
  });

  it('a bad log setting is reported as a record even at panic, so stderr still parses', async () => {
    const w = world();
    const conf = w.conf({ logFormat: 'json', logLevel: 'panic', logOptions: { maxAge: -1 } });
    const added = await w.run('ADD', conf);
    ok(added);
    const records = jsonRecords(added.stderr);
    expect(records).toEqual([expect.objectContaining({ level: 'warning', container: w.containerID, pod: w.pod, msg: expect.stringContaining('logOptions.maxAge') })]);
    ok(await w.run('DEL', conf));
  });

  it('an unknown logFormat warns and falls back to text; it never fails the command', async () => {
    const w = world();
    const conf = w.conf({ logFormat: 'xml' });
    const added = await w.run('ADD', conf);
    ok(added);
    expect(lines(added.stderr)).toEqual([expect.stringContaining(`[warning] ADD container=${w.containerID} pod=${w.pod}: unknown logFormat "xml": using text`)]);
    ok(await w.run('DEL', conf));
  });
});

describe('secrets', () => {
  it('the API token never appears in any log output, at any level, in either format, on stderr or in logFile', async () => {
    const w = world({ [NETWORKS]: 'mv-token' });
    const tokenBearing = {
      type: 'fake',
      token: api.token,
      header: `Bearer ${api.token}`,
      httpLine: `Authorization: Bearer ${api.token}`,
      note: `K8S_TOKEN=${api.token}`,
      kubeconfig: { users: [{ user: { token: api.token, 'client-key-data': Buffer.from(api.token).toString('base64') } }] },
      yaml: `users:\n- user:\n    token: ${api.token}\n`,
    };
    api.addNad('team-logs', 'mv-token', w.macvlan('mv-token', { password: api.token }, [tokenBearing]));
    const logFile = path.join(w.sb.dir, 'braid.log');
    let everything = '';
    for (const logFormat of ['text', 'json']) {
      for (const logLevel of ['', 'panic', 'error', 'warning', 'verbose', 'debug']) {
        const conf = w.conf({ logLevel, logFormat, logFile, someUnknownKey: true });
        const added = await w.run('ADD', conf);
        ok(added);
        const deleted = await w.run('DEL', conf);
        ok(deleted);
        everything += added.stdout + added.stderr + deleted.stdout + deleted.stderr;
      }
    }
    everything += fs.readFileSync(logFile, 'utf8');
    // the secrets were logged (redacted) at debug, and everything else too
    expect(everything).toContain('[redacted]');
    expect(everything).toContain('"plugin":"fake"');
    expect(everything).toContain('Bearer [redacted]');
    expect(everything).not.toContain(api.token);
    expect(everything).not.toContain(Buffer.from(api.token).toString('base64'));
    expect(fakeCalls(w.sb.fakeLog).filter((c) => c.command === 'ADD').every((c) => c.config.token === api.token)).toBe(true);
  });
});

describe('GC', () => {
  it('lines about a stale container it deletes carry that container and its pod', async () => {
    const w = world();
    const conf = w.conf({ cniVersion: '1.1.0' });
    ok(await w.run('ADD', conf));
    const gc = await runBraidAsync({ command: 'GC', config: { ...conf, logLevel: 'verbose', 'cni.dev/valid-attachments': [] } });
    ok(gc);
    const about = lines(gc.stderr).filter((l) => l.includes(w.containerID));
    expect(about.map((l) => l.replace(/^\S+ /, ''))).toEqual([
      `[verbose] GC container=${w.containerID} pod=${w.pod}: GC: container ${w.containerID} is stale; deleting its attachments`,
      expect.stringMatching(`^\\[verbose\\] GC container=${w.containerID} pod=${w.pod}: delegate call command=DEL plugin=bridge network=podnet ifname=eth0 exitCode=0 durationMs=`),
      `[verbose] GC container=${w.containerID} pod=${w.pod}: Del: podnet:eth0 ok`,
    ]);
    expect(hostLocalLeases(w.sb.ipamDir)).toEqual([]);
    expect(w.sb.cacheFiles()).toEqual([]);
  });
});
