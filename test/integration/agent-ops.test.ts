import * as fs from 'node:fs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { askAgent, httpGet, metric, startAgentProcess } from '../helpers/agent';
import { runBraidTool } from '../helpers/braid';
import { AgentNode, fromAgent, fromBraid, isWatch, until } from '../helpers/agent-node';
import type { ApiCall, ApiServer } from '../helpers/apiserver.mjs';
import { ok } from '../helpers/cni';
import { linksIn, v4SubnetAllocator } from '../helpers/host';
import { useApiServer } from '../helpers/k8s';

// The agent as a DaemonSet runs it: health and readiness probes, Prometheus metrics, graceful SIGTERM.
// Address range of this file: 10.250.104.0/24 … 10.250.107.0/24.

let api: ApiServer;
useApiServer((s) => { api = s; });

const nextSubnet = v4SubnetAllocator(104, 4);

describe('braid agent operations', () => {
  it('is healthy at once and ready only once its caches have synced', async () => {
    const node = new AgentNode(api, nextSubnet);
    api.fault({ method: 'GET', path: '^/apis/k8s\\.cni\\.cncf\\.io/v1/network-attachment-definitions$', delayMs: 2000 });
    const agent = await startAgentProcess(node.sb.dir, node.conf(), node.name);
    await until(async () => (await httpGet(agent.port, '/healthz').catch(() => undefined))?.status === 200, 'healthz answers');
    expect(await httpGet(agent.port, '/readyz')).toEqual({ status: 503, body: 'caches not synced\n' });
    await agent.ready();
    expect(api.calls.some((c) => fromAgent(c) && c.path.endsWith('/network-attachment-definitions') && !isWatch(c) && c.status === 200)).toBe(true);
    expect((await httpGet(agent.port, '/nope')).status).toBe(404);
  });

  it('counts requests, cache misses, protocol mismatches and cache sizes, and times resolve and report', async () => {
    const node = new AgentNode(api, nextSubnet);
    node.nad('nad-m');
    const pod = node.pod('nad-m');
    const agent = await node.startAgent();
    ok(await pod.run('ADD'));
    const m = (s: string) => metric(agent.port, s);
    expect(await m('braid_agent_requests_total{op="resolve",outcome="ok"}')).toBe(1);
    expect(await m('braid_agent_requests_total{op="report",outcome="ok"}')).toBe(1);
    expect(await m('braid_agent_request_duration_seconds_count{op="resolve"}')).toBe(1);
    expect(await m('braid_agent_request_duration_seconds_count{op="report"}')).toBe(1);
    expect(await m('braid_agent_cache_objects{kind="pods"}')).toBe(1);
    expect(await m('braid_agent_cache_objects{kind="nads"}')).toBe(1);
    expect(await m('braid_agent_cache_misses_total{kind="pod"}')).toBeUndefined();

    const reply = await askAgent(node.socket, { op: 'resolve', pod: { namespace: 'nowhere', name: 'unseen', uid: '' }, nads: [] });
    expect(reply).toEqual({ v: 1, ok: true, nads: [] }); // not in the cache, not in the API either
    expect(await m('braid_agent_cache_misses_total{kind="pod"}')).toBe(1);
    expect(await askAgent(node.socket, { v: 2, op: 'resolve' })).toMatchObject({ v: 1, ok: false, code: 1 });
    expect(await askAgent(node.socket, { op: 'resolve', pod: { namespace: 1 } })).toEqual({ v: 1, ok: false, code: 7, error: 'malformed resolve request' });
    expect(await m('braid_agent_fallbacks_total{reason="version"}')).toBe(1);
    expect(await m('braid_agent_process_resident_memory_bytes')).toBeGreaterThan(0);
    ok(await pod.run('DEL'));
  });

  it('on SIGTERM finishes the request in flight, then removes its socket and exits 0', async () => {
    const node = new AgentNode(api, nextSubnet);
    node.nad('nad-t');
    const pod = node.pod('nad-t');
    const agent = await node.startAgent();
    api.faults.push((c: ApiCall) => (fromAgent(c) && c.method === 'PATCH' ? { delayMs: 1500 } : undefined));
    onTestFinished(() => { api.clearFaults(); });
    api.resetCalls();
    const adding = pod.run('ADD');
    await until(() => api.calls.some((c) => fromAgent(c) && c.method === 'PATCH'), 'the agent sends its PATCH');
    agent.signal('SIGTERM');
    const r = await adding;
    ok(r);
    expect(r.stderr).not.toContain('direct path'); // the agent answered before it went
    expect(api.calls.filter(fromBraid)).toEqual([]);
    expect(await agent.exited).toBe(0);
    expect(fs.existsSync(node.socket)).toBe(false);
    expect(agent.stderr()).toContain('SIGTERM: finishing requests in flight');
    expect(linksIn(pod.ns).sort()).toEqual(['eth0', 'net1']);
    ok(await pod.run('DEL'));
  });

  it('explains itself with --help, refuses a command line without --config or a node name (exit 2), and waits for a config not written yet', async () => {
    const help = runBraidTool(['agent', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: braid agent --config <file>');
    expect(runBraidTool(['agent'])).toMatchObject({ status: 2, stderr: expect.stringContaining('braid: --config is required') });
    expect(runBraidTool(['agent', '--config', '/x'])).toMatchObject({ status: 2, stderr: expect.stringContaining('the node name is required: --node-name or NODE_NAME') });
    expect(runBraidTool(['agent', '--bogus'])).toMatchObject({ status: 2, stderr: expect.stringContaining('unknown flag --bogus') });

    // On a node whose installer has not written the config yet, the agent waits for it.
    const node = new AgentNode(api, nextSubnet);
    const agent = await startAgentProcess(node.sb.dir, node.conf(), node.name, { configLater: true });
    await until(() => agent.stderr().includes(`braid agent: waiting for ${agent.configFile}`), 'the agent says it waits');
    expect(agent.child.exitCode).toBeNull();
    agent.writeConfig();
    await agent.ready();
    expect(fs.existsSync(node.socket)).toBe(true);
  });
});
