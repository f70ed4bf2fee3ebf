import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { AGENT_NS, AgentNode, fromAgent, fromBraid, isWatch, until } from '../helpers/agent-node';
import type { ApiCall, ApiServer } from '../helpers/apiserver.mjs';
import { failed, ok } from '../helpers/cni';
import { hostLocalLeases, linksIn, v4SubnetAllocator } from '../helpers/host';
import { networkStatusOf, useApiServer } from '../helpers/k8s';

// What braid does when the agent is not there or fails it: every ADD still succeeds through the direct
// path, or fails cleanly with nothing left behind. The real executable, a real `braid agent`, real netns.
// Address range of this file: 10.250.36.0/24 … 10.250.39.0/24.

let api: ApiServer;
useApiServer((s) => { api = s; });

const nextSubnet = v4SubnetAllocator(36, 4);
const isPatch = (c: ApiCall) => c.method === 'PATCH';
const braidPatches = () => api.calls.filter((c) => fromBraid(c) && isPatch(c));

/** A node with its agent running and a pod selecting one NAD. */
async function nodeWithAgent() {
  const node = new AgentNode(api, nextSubnet);
  node.nad('nad-a');
  await node.startAgent();
  return { node, pod: node.pod('nad-a') };
}

/** Makes the agent's own requests matching `pred` hang (never answered); removed after the test. */
function hangAgentRequests(pred: (c: ApiCall) => boolean): void {
  const fault = (c: ApiCall) => (fromAgent(c) && !isWatch(c) && pred(c) ? { hang: true } : undefined);
  api.faults.push(fault);
  onTestFinished(() => { api.clearFaults(); });
}

/** Asserts the pod got both networks and its status, then DELs it and asserts nothing is left. */
async function attachedThenClean(node: AgentNode, pod: ReturnType<AgentNode['pod']>): Promise<void> {
  expect(linksIn(pod.ns).sort()).toEqual(['eth0', 'net1']);
  expect(networkStatusOf(api, AGENT_NS, pod.name).map((s) => s.interface)).toEqual(['eth0', 'net1']);
  ok(await pod.run('DEL'));
  expect(linksIn(pod.ns)).toEqual([]);
  expect(hostLocalLeases(node.sb.ipamDir)).toEqual([]);
  expect(node.sb.cacheFiles()).toEqual([]);
}

describe('braid without a working agent', () => {
  it('an agent stopped with SIGTERM removes its socket, and ADD takes the direct path', async () => {
    const { node, pod } = await nodeWithAgent();
    node.agent!.signal('SIGTERM');
    expect(await node.agent!.exited).toBe(0);
    expect(fs.existsSync(node.socket)).toBe(false);
    const r = await pod.run('ADD');
    ok(r);
    expect(r.stderr).toContain(`agent: no socket at ${node.socket}; using the direct path`);
    expect(braidPatches()).toHaveLength(1);
    await attachedThenClean(node, pod);
  });

  it('a hung agent (SIGSTOP): braid gives up on it after the resolve bound and the direct path completes the ADD', async () => {
    const { node, pod } = await nodeWithAgent();
    node.agent!.signal('SIGSTOP');
    onTestFinished(() => { node.agent!.signal('SIGCONT'); });
    const r = await pod.run('ADD');
    ok(r);
    expect(r.stderr).toContain('agent: no answer to resolve within 3000 ms; using the direct path');
    expect(braidPatches()).toHaveLength(1);
    await attachedThenClean(node, pod);
  });

  it('an agent killed while it resolves: the direct path completes the ADD', async () => {
    const { node } = await nodeWithAgent();
    api.watches.deliveryDelayMs = 5000; // the pod is not in the agent's cache yet: it must GET it
    onTestFinished(() => { api.watches.deliveryDelayMs = 0; });
    const late = node.pod('nad-a');
    hangAgentRequests((c) => c.method === 'GET');
    const adding = late.run('ADD');
    await until(() => api.calls.some((c) => fromAgent(c) && c.method === 'GET' && c.path.endsWith(`/pods/${late.name}`)), 'the agent GETs the pod');
    node.agent!.signal('SIGKILL');
    const r = await adding;
    ok(r);
    expect(r.stderr).toContain('agent: the agent closed the connection; using the direct path');
    expect(braidPatches()).toHaveLength(1);
    await attachedThenClean(node, late);
  });

  it('an agent killed during its status PATCH: braid writes the status itself, once', async () => {
    const { node, pod } = await nodeWithAgent();
    hangAgentRequests(isPatch);
    const adding = pod.run('ADD');
    await until(() => api.calls.some((c) => fromAgent(c) && isPatch(c)), 'the agent sends its PATCH');
    node.agent!.signal('SIGKILL');
    const r = await adding;
    ok(r);
    expect(r.stderr).toContain('agent: the agent closed the connection; using the direct path');
    expect(api.calls.filter((c) => fromBraid(c) && c.method === 'GET')).toEqual([]); // resolved by the agent before it died
    expect(braidPatches().map((c) => c.status)).toEqual([200]);
    await attachedThenClean(node, pod);
  });

  it('an agent killed during its PATCH while the API refuses braid\'s own: ADD fails and rolls back, leaving nothing', async () => {
    const { node, pod } = await nodeWithAgent();
    hangAgentRequests(isPatch);
    api.faults.push((c: ApiCall) => (fromBraid(c) && isPatch(c) ? { status: 403, message: 'pods "x" is forbidden' } : undefined));
    const adding = pod.run('ADD');
    await until(() => api.calls.some((c) => fromAgent(c) && isPatch(c)), 'the agent sends its PATCH');
    node.agent!.signal('SIGKILL');
    const r = await adding;
    expect(failed(r, 11)).toContain('forbidden');
    expect(linksIn(pod.ns)).toEqual([]);
    expect(hostLocalLeases(node.sb.ipamDir)).toEqual([]);
    expect(node.sb.cacheFiles()).toEqual([]);
  });

  it('a stale socket (its agent was killed) is refused: ADD takes the direct path; a new agent replaces it (0600 in a 0700 dir) and serves', async () => {
    const { node, pod } = await nodeWithAgent();
    node.agent!.signal('SIGKILL');
    await node.agent!.exited;
    expect(fs.existsSync(node.socket)).toBe(true);
    const r = await pod.run('ADD');
    ok(r);
    expect(r.stderr).toContain(`agent: connection refused at ${node.socket} (a stale socket: no agent listening); using the direct path`);
    await attachedThenClean(node, pod);

    const again = await node.startAgent();
    expect(again.stderr()).toContain(`removing stale socket ${node.socket}`);
    expect(fs.statSync(node.socket).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(node.socket)).mode & 0o777).toBe(0o700);
    api.resetCalls();
    const second = node.pod('nad-a');
    ok(await second.run('ADD'));
    expect(api.calls.filter(fromBraid)).toEqual([]);
  });

  it('an agent speaking another protocol version: braid takes the direct path and says so', async () => {
    const node = new AgentNode(api, nextSubnet);
    node.nad('nad-a');
    const pod = node.pod('nad-a');
    fs.mkdirSync(path.dirname(node.socket), { mode: 0o700 });
    const fake = net.createServer((c) => c.on('data', () => c.write('{"v":99,"ok":false,"code":1,"error":"speaks v99"}\n')));
    await new Promise<void>((r) => fake.listen(node.socket, () => r()));
    onTestFinished(() => new Promise<void>((r) => fake.close(() => r())));
    const r = await pod.run('ADD');
    ok(r);
    expect(r.stderr).toContain('agent: protocol version mismatch: the agent speaks 99, braid 1; using the direct path');
    await attachedThenClean(node, pod);
  });

  it('a socket in a directory others can write to is not trusted: braid takes the direct path', async () => {
    const node = new AgentNode(api, nextSubnet);
    node.nad('nad-a');
    const pod = node.pod('nad-a');
    fs.mkdirSync(path.dirname(node.socket));
    fs.chmodSync(path.dirname(node.socket), 0o777);
    const fake = net.createServer((c) => c.on('data', () => c.write('{"v":1,"ok":true,"nads":[]}\n')));
    await new Promise<void>((r) => fake.listen(node.socket, () => r()));
    onTestFinished(() => new Promise<void>((r) => fake.close(() => r())));
    const r = await pod.run('ADD');
    ok(r);
    expect(r.stderr).toContain(`agent: untrusted socket: ${path.dirname(node.socket)} is writable by group or others; using the direct path`);
    await attachedThenClean(node, pod);
  });
});
