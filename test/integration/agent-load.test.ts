import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { AGENT_NS, AgentNode, fromAgent, fromBraid, isWatch } from '../helpers/agent-node';
import type { ApiServer } from '../helpers/apiserver.mjs';
import { failed, fakeCalls, ok } from '../helpers/cni';
import { hostLinkExists, hostLocalLeases, linksIn, v4SubnetAllocator } from '../helpers/host';
import { networkStatusOf, RESOURCE_NAME, useApiServer } from '../helpers/k8s';
import { startKubelet } from '../helpers/kubelet.mjs';

// The agent under load and with devices: an SR-IOV pod whose device IDs come from the kubelet through
// the agent, and 50 pods ADDed at once through one agent. Real executable, real agent, real netns.
// Address range of this file: 10.250.100.0/24 … 10.250.103.0/24.

let api: ApiServer;
useApiServer((s) => { api = s; });

const nextSubnet = v4SubnetAllocator(100, 4);
const RES = 'intel.com/sriov_ag';

describe('braid agent with devices and under load', () => {
  it('an SR-IOV pod gets its device ID through the agent: braid itself opens no kubelet or API connection', async () => {
    const node = new AgentNode(api, nextSubnet);
    const [vf] = node.sb.veth('v');
    const kubelet = await startKubelet({ pods: [] });
    onTestFinished(() => kubelet.stop());
    api.addNad(AGENT_NS, 'sriov-a', { cniVersion: '1.0.0', type: 'sriov', hostVeth: vf, ip: '10.250.101.10/24' }, { [RESOURCE_NAME]: RES });
    const pod = node.pod('sriov-a');
    kubelet.addPod({ name: pod.name, namespace: AGENT_NS, containers: [{ name: 'app', devices: [{ resourceName: RES, deviceIds: ['0000:03:02.3'] }] }] });
    const devices = { deviceInfoDir: path.join(node.sb.dir, 'devinfo'), pciDevicesDir: path.join(node.sb.dir, 'pci') };
    await node.startAgent({ kubeletSocket: kubelet.socket, ...devices });
    // braid's own config names no reachable kubelet: only the agent can supply the device.
    const nowhere = { kubeletSocket: path.join(node.sb.dir, 'no-kubelet.sock'), kubeletCheckpoint: path.join(node.sb.dir, 'no-checkpoint') };
    api.resetCalls();
    const log = path.join(node.sb.dir, 'plugins.log');
    const probe = path.resolve(__dirname, '../fixtures/builtin-modules-probe.cjs');
    const r = await pod.run('ADD', node.conf({ ...nowhere, ...devices }), { FAKE_LOG: log, NODE_OPTIONS: `--require=${probe}` });
    ok(r);
    expect(r.stderr).not.toContain('direct path');
    expect(JSON.parse(/^BUILTINS (.*)$/m.exec(r.stderr)![1])).not.toContain('http2'); // gRPC's transport: not loaded
    expect(api.calls.filter(fromBraid)).toEqual([]);
    expect(kubelet.calls.map((c) => [c.method, c.request])).toEqual([['Get', { pod_name: pod.name, pod_namespace: AGENT_NS }]]);
    const [add] = fakeCalls(log).filter((c) => c.command === 'ADD');
    expect(add.config).toMatchObject({ deviceID: '0000:03:02.3', pciBusID: '0000:03:02.3' });
    expect(linksIn(pod.ns).sort()).toEqual(['eth0', 'net1']);
    expect(networkStatusOf(api, AGENT_NS, pod.name)[1]).toMatchObject({ name: `${AGENT_NS}/sriov-a`, interface: 'net1', 'device-info': { pci: { 'pci-address': '0000:03:02.3' } } });
    ok(await pod.run('DEL', node.conf({ ...nowhere, ...devices }), { FAKE_LOG: log }));
    expect(hostLinkExists(vf)).toBe(true);
    expect(linksIn(pod.ns)).toEqual([]);
  });

  it('an SR-IOV pod whose device the agent cannot learn fails with code 11 naming the kubelet, and leaves nothing', async () => {
    const node = new AgentNode(api, nextSubnet);
    api.addNad(AGENT_NS, 'sriov-b', { cniVersion: '1.0.0', type: 'sriov' }, { [RESOURCE_NAME]: RES });
    const pod = node.pod('sriov-b');
    const nowhere = { kubeletSocket: path.join(node.sb.dir, 'no-kubelet.sock'), kubeletCheckpoint: path.join(node.sb.dir, 'no-checkpoint') };
    await node.startAgent(nowhere);
    api.resetCalls();
    const r = await pod.run('ADD', node.conf(nowhere));
    expect(failed(r, 11)).toContain(`kubelet pod-resources socket ${nowhere.kubeletSocket} and checkpoint ${nowhere.kubeletCheckpoint} are both missing`);
    expect(r.stderr).not.toContain('direct path'); // the agent answered: its kubelet error is the ADD's
    expect(api.calls.filter(fromBraid)).toEqual([]);
    expect(linksIn(pod.ns)).toEqual([]);
    expect(node.sb.cacheFiles()).toEqual([]);
  });

  it('50 pods ADDed at once through one agent: every ADD is served by it, with one PATCH per pod', async () => {
    const node = new AgentNode(api, nextSubnet);
    node.nad('nad-b');
    const pods = Array.from({ length: 50 }, () => node.pod('nad-b'));
    const agent = await node.startAgent();
    api.resetCalls();
    const results = await Promise.all(pods.map((p) => p.run('ADD')));
    for (const r of results) {
      ok(r);
      expect(r.stderr).not.toContain('direct path');
    }
    expect(api.calls.filter(fromBraid)).toEqual([]);
    const patched = api.calls.filter((c) => fromAgent(c) && c.method === 'PATCH').map((c) => c.path).sort();
    expect(patched).toEqual(pods.map((p) => `/api/v1/namespaces/${AGENT_NS}/pods/${p.name}/status`).sort());
    expect(api.calls.filter((c) => fromAgent(c) && c.method === 'GET' && !isWatch(c))).toEqual([]);
    for (const p of pods) {
      expect(linksIn(p.ns).sort()).toEqual(['eth0', 'net1']);
      expect(networkStatusOf(api, AGENT_NS, p.name).map((s) => s.interface)).toEqual(['eth0', 'net1']);
    }
    expect(agent.stderr()).not.toContain('[error]');
    for (const r of await Promise.all(pods.map((p) => p.run('DEL')))) ok(r);
    expect(hostLocalLeases(node.sb.ipamDir)).toEqual([]);
    expect(fs.readdirSync(node.sb.cniDir).filter((f) => f !== 'locks' && f !== 'tls-sessions')).toEqual([]);
  }, 240_000);
});
