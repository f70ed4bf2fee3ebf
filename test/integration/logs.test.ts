import * as path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { AgentNode, AGENT_NS } from '../helpers/agent-node';
import type { ApiServer } from '../helpers/apiserver.mjs';
import { fakeCalls, ok } from '../helpers/cni';
import { hostLocalLeases, linksIn, v4SubnetAllocator } from '../helpers/host';
import { NETWORKS, RESOURCE_NAME, useApiServer } from '../helpers/k8s';
import { startKubelet } from '../helpers/kubelet.mjs';
import { logWorld, entries, lines } from '../helpers/log-world';

// What braid's log tells an operator (context, levels, verbose): the real executable, exec'd as a runtime does, in real netns with the reference plugins,
// talking HTTPS (with a bearer token) to the test kube-apiserver.
// Address range of this file: 10.250.240.0/24 … 10.250.244.0/24.

let api: ApiServer;
useApiServer((s) => { api = s; });

const nextSubnet = v4SubnetAllocator(240, 5);
const world = (annotations: Record<string, string> = {}) => logWorld(api, nextSubnet, annotations);

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

