import * as path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { askAgent, metric } from '../helpers/agent';
import { AGENT_NS, AgentNode, fromAgent, fromBraid, isWatch, until } from '../helpers/agent-node';
import { startApiServer, type ApiCall, type ApiServer } from '../helpers/apiserver.mjs';
import { ok } from '../helpers/cni';
import { addressesIn, hostLocalLeases, inSubnet, linksIn, v4SubnetAllocator } from '../helpers/host';
import { NETWORKS, networkStatusOf, POD_ANNOTATIONS, useApiServer } from '../helpers/k8s';

// The resident agent end to end: `dist/braid agent` watching the test kube-apiserver (list+watch with
// resourceVersion, bookmarks, 410 Gone), and the real executable exec'd as a runtime does, asking the
// agent over its unix socket, in real netns with the reference plugins.
// Address range of this file: 10.250.20.0/24 … 10.250.35.0/24.

let api: ApiServer;
useApiServer((s) => { api = s; });

const nextSubnet = v4SubnetAllocator(20, 16);
/** Lists the built-in modules braid loaded (see the file). */
const PROBE = path.resolve(__dirname, '../fixtures/builtin-modules-probe.cjs');
const NS = AGENT_NS;

const isPatch = (c: ApiCall) => c.method === 'PATCH';
const isEvent = (c: ApiCall) => c.method === 'POST' && c.path.endsWith('/events');

describe('braid agent', () => {
  it('serves an ADD: braid itself loads no TLS code and makes no API request, the agent makes exactly one PATCH plus the events', async () => {
    const node = new AgentNode(api, nextSubnet);
    const subnet = node.nad('nad-a');
    const pod = node.pod('nad-a');
    await node.startAgent();
    const listsAndWatches = api.calls.filter(fromAgent);
    api.resetCalls();
    const r = await pod.run('ADD', undefined, { NODE_OPTIONS: `--require=${PROBE}` });
    ok(r);
    expect(r.stderr).not.toContain('direct path');
    // No TLS, HTTPS or HTTP/2 (which gRPC needs) in the exec'd process: only the socket's net.
    const builtins: string[] = JSON.parse(/^BUILTINS (.*)$/m.exec(r.stderr)![1]);
    expect(builtins).toContain('net');
    expect(builtins.filter((m) => ['tls', '_tls_wrap', 'https', 'http2', 'http'].includes(m))).toEqual([]);
    expect(api.calls.filter(fromBraid)).toEqual([]);
    const agentCalls = api.calls.filter((c) => fromAgent(c) && !isWatch(c));
    expect(agentCalls.filter(isPatch).map((c) => c.path)).toEqual([`/api/v1/namespaces/${NS}/pods/${pod.name}/status`]);
    expect(agentCalls.filter((c) => !isPatch(c) && !isEvent(c))).toEqual([]); // served from the cache: no GET
    expect(agentCalls.filter(isEvent).map((c) => c.body.message).sort()).toEqual([
      expect.stringMatching(/^Add eth0 \[10\.250\.\d+\.\d+\/24\] from podnet$/),
      expect.stringMatching(new RegExp(`^Add net1 \\[10\\.250\\.\\d+\\.\\d+/24\\] from ${NS}/nad-a$`)),
    ]);
    // One warm connection: lists, both watches, the PATCH and the events are streams of one HTTP/2 connection.
    const everything = [...listsAndWatches, ...api.calls.filter(fromAgent)];
    expect(listsAndWatches.filter(isWatch)).toHaveLength(2);
    expect(new Set(everything.map((c) => c.connection)).size).toBe(1);
    expect(everything[0].protocol).toBe('h2');
    expect(linksIn(pod.ns).sort()).toEqual(['eth0', 'net1']);
    expect(inSubnet(addressesIn(pod.ns, 'net1')[0], subnet)).toBe(true);
    const status = networkStatusOf(api, NS, pod.name);
    expect(status.map((s) => [s.name, s.interface])).toEqual([['podnet', 'eth0'], [`${NS}/nad-a`, 'net1']]);
    ok(await pod.run('DEL'));
    expect(linksIn(pod.ns)).toEqual([]);
    expect(hostLocalLeases(node.sb.ipamDir)).toEqual([]);
  });

  it('takes the direct path when no agent runs on the node, and logs why', async () => {
    const node = new AgentNode(api, nextSubnet);
    node.nad('nad-a');
    const pod = node.pod('nad-a');
    const r = await pod.run('ADD');
    ok(r);
    expect(r.stderr).toContain(`agent: no socket at ${node.socket}; using the direct path`);
    expect(api.calls.filter(fromBraid).filter(isPatch)).toHaveLength(1);
    expect(linksIn(pod.ns).sort()).toEqual(['eth0', 'net1']);
    ok(await pod.run('DEL'));
  });

  it('serves a NAD created a moment before its pod, before its watch event arrived, with a live GET', async () => {
    const node = new AgentNode(api, nextSubnet);
    await node.startAgent();
    api.watches.deliveryDelayMs = 3000; // the watch lags: only a live read can know the new NAD and pod
    onTestFinished(() => { api.watches.deliveryDelayMs = 0; });
    api.resetCalls();
    const subnet = node.nad('late-nad');
    const pod = node.pod('late-nad');
    const r = await pod.run('ADD');
    ok(r);
    expect(r.stderr).not.toContain('direct path');
    expect(api.calls.filter(fromBraid)).toEqual([]);
    const gets = api.calls.filter((c) => fromAgent(c) && c.method === 'GET' && !isWatch(c)).map((c) => c.path).sort();
    expect(gets).toEqual([
      `/api/v1/namespaces/${NS}/pods/${pod.name}`,
      `/apis/k8s.cni.cncf.io/v1/namespaces/${NS}/network-attachment-definitions/late-nad`,
    ]);
    expect(inSubnet(addressesIn(pod.ns, 'net1')[0], subnet)).toBe(true);
    ok(await pod.run('DEL'));
  });

  it('serves a NAD changed after its first use with the new config, once its watch event arrived', async () => {
    const node = new AgentNode(api, nextSubnet);
    const first = node.nad('nad-c');
    await node.startAgent();
    const before = node.pod('nad-c');
    ok(await before.run('ADD'));
    expect(inSubnet(addressesIn(before.ns, 'net1')[0], first)).toBe(true);
    const second = node.nad('nad-c'); // the same NAD, a new subnet: a MODIFIED event
    const cached = async () => (await askAgent(node.socket, { op: 'resolve', pod: { namespace: NS, name: before.name, uid: before.uid }, nads: [] })).nads[0].nad.spec.config;
    await until(async () => (await cached()).includes(second), 'the agent holds the new config');
    api.resetCalls();
    const after = node.pod('nad-c');
    await until(async () => (await metric(node.agent!.port, 'braid_agent_cache_objects{kind="pods"}')) === 2, 'the agent caches the new pod');
    ok(await after.run('ADD'));
    expect(api.calls.filter(fromBraid)).toEqual([]);
    expect(api.calls.filter((c) => fromAgent(c) && c.method === 'GET' && !isWatch(c))).toEqual([]); // from the cache
    expect(inSubnet(addressesIn(after.ns, 'net1')[0], second)).toBe(true);
    ok(await after.run('DEL'));
    ok(await before.run('DEL'));
  });

  it('a restarted agent lists again and serves what changed while it was down', async () => {
    const node = new AgentNode(api, nextSubnet);
    node.nad('nad-r1');
    const gone = node.pod('nad-r1');
    await node.startAgent();
    node.agent!.signal('SIGTERM');
    await node.agent!.exited;
    api.deleteNad(NS, 'nad-r1');
    api.deletePod(NS, gone.name);
    const subnet = node.nad('nad-r2');
    const pod = node.pod('nad-r2');
    const agent = await node.startAgent();
    expect(await metric(agent.port, 'braid_agent_cache_objects{kind="pods"}')).toBe(1);
    expect(await metric(agent.port, 'braid_agent_cache_objects{kind="nads"}')).toBe(1);
    api.resetCalls();
    ok(await pod.run('ADD'));
    expect(api.calls.filter(fromBraid)).toEqual([]);
    expect(api.calls.filter((c) => fromAgent(c) && c.method === 'GET' && !isWatch(c))).toEqual([]);
    expect(inSubnet(addressesIn(pod.ns, 'net1')[0], subnet)).toBe(true);
    ok(await pod.run('DEL'));
  });

  it('relists when its watch expires (410 Gone), resumes from a bookmark when a watch ends, and keeps serving from the cache', async () => {
    const node = new AgentNode(api, nextSubnet);
    node.nad('nad-w');
    const agent = await node.startAgent();
    const isList = (c: ApiCall) => fromAgent(c) && c.method === 'GET' && !isWatch(c) && !c.path.includes('/namespaces/');
    api.resetCalls();
    const watches = api.watches.watchLog.length;
    api.watches.expire();
    await until(() => api.calls.filter(isList).length === 2 && api.watches.watchLog.length >= watches + 2, 'the agent lists and watches again');
    expect(await metric(agent.port, 'braid_agent_watch_restarts_total{resource="pods",reason="expired"}')).toBe(1);
    expect(await metric(agent.port, 'braid_agent_watch_restarts_total{resource="nads",reason="expired"}')).toBe(1);

    // A pod of another node moves the resourceVersion without an event for this agent; a bookmark tells it.
    const elsewhere = api.addPod({ metadata: { namespace: NS, name: `elsewhere-${node.sb.id}` }, spec: { nodeName: 'another-node' } });
    const podWatch = () => api.watches.watchLog.filter((w) => w.resource === 'pods' && w.query.includes(encodeURIComponent(node.name))).at(-1)!;
    expect(podWatch().query).toContain('allowWatchBookmarks=true');
    api.watches.bookmark();
    await until(() => podWatch().events.includes('BOOKMARK'), 'a bookmark is sent');
    const open = api.watches.watchLog.length;
    api.watches.closeWatches();
    await until(() => api.watches.watchLog.length >= open + 2, 'the agent watches again');
    expect(new URLSearchParams(podWatch().query).get('resourceVersion')).toBe(elsewhere.metadata.resourceVersion);
    expect(api.calls.filter(isList)).toHaveLength(2); // resumed, not relisted

    const pod = node.pod('nad-w');
    await until(async () => (await metric(agent.port, 'braid_agent_cache_objects{kind="pods"}')) === 1, 'the new watch delivers the pod');
    api.resetCalls();
    ok(await pod.run('ADD'));
    expect(api.calls.filter(fromBraid)).toEqual([]);
    expect(api.calls.filter((c) => fromAgent(c) && c.method === 'GET' && !isWatch(c))).toEqual([]);
    ok(await pod.run('DEL'));
  });

  it('with the pod-annotations capability asks the agent for the NADs only, and never for a pod without secondary networks, nor on DEL', async () => {
    const node = new AgentNode(api, nextSubnet);
    node.nad('nad-p');
    const agent = await node.startAgent();
    api.watches.deliveryDelayMs = 5000; // new objects reach the agent only through live reads
    onTestFinished(() => { api.watches.deliveryDelayMs = 0; });
    const withAnnotations = (networks: string) => node.conf({ capabilities: { [POD_ANNOTATIONS]: true }, runtimeConfig: { [POD_ANNOTATIONS]: { [NETWORKS]: networks } } });
    const resolves = () => metric(agent.port, 'braid_agent_requests_total{op="resolve",outcome="ok"}');

    const plain = node.pod('');
    api.resetCalls();
    const r = await plain.run('ADD', withAnnotations(''));
    ok(r);
    expect(r.stderr).not.toContain('agent:');
    expect(await resolves()).toBeUndefined();
    expect(api.calls.filter((c) => fromBraid(c) && c.method === 'PATCH')).toHaveLength(1); // its status, directly
    ok(await plain.run('DEL', withAnnotations('')));

    const selecting = node.pod('nad-p');
    api.resetCalls();
    ok(await selecting.run('ADD', withAnnotations('nad-p')));
    expect(await resolves()).toBe(1);
    expect(api.calls.filter(fromBraid)).toEqual([]);
    expect(api.calls.filter((c) => fromAgent(c) && c.method === 'GET' && !isWatch(c))).toEqual([]); // cached NAD; the pod is not read
    expect(linksIn(selecting.ns).sort()).toEqual(['eth0', 'net1']);
    ok(await selecting.run('DEL', withAnnotations('nad-p')));
    expect(await resolves()).toBe(1);
    expect(await metric(agent.port, 'braid_agent_requests_total{op="report",outcome="ok"}')).toBe(1);
  });

  it('watches an HTTP/1.1-only API server on connections of its own, and serves as well', async () => {
    const h1 = await startApiServer({ http1Only: true });
    onTestFinished(() => h1.stop());
    const node = new AgentNode(h1, nextSubnet);
    node.nad('nad-h');
    const pod = node.pod('nad-h');
    await node.startAgent();
    expect(h1.calls.filter((c) => fromAgent(c) && isWatch(c)).map((c) => c.protocol)).toEqual(['http/1.1', 'http/1.1']);
    h1.resetCalls();
    ok(await pod.run('ADD'));
    expect(h1.calls.filter(fromBraid)).toEqual([]);
    expect(h1.calls.filter((c) => fromAgent(c) && c.method === 'PATCH')).toHaveLength(1);
    ok(await pod.run('DEL'));
  });
});
