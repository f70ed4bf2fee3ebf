import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startAgentProcess } from '../helpers/agent';
import { AgentNode, fromBraid, until } from '../helpers/agent-node';
import type { ApiServer } from '../helpers/apiserver.mjs';
import { ok } from '../helpers/cni';
import { v4SubnetAllocator } from '../helpers/host';
import { useApiServer } from '../helpers/k8s';

// The agent tightens its socket's directory to 0700 only when the directory is its own: an agentSocket
// set directly in a shared directory (/run, /tmp) must not make that directory root-only for the host.
// Address range of this file: 10.250.178.0/24 … 10.250.179.0/24.

let api: ApiServer;
useApiServer((s) => { api = s; });

const nextSubnet = v4SubnetAllocator(178, 2);

describe('braid agent socket directory', () => {
  it('a directory holding other files keeps its mode; the socket is still 0600 and serves ADDs', async () => {
    const node = new AgentNode(api, nextSubnet);
    node.nad('nad-s');
    const pod = node.pod('nad-s');
    const shared = path.join(node.sb.dir, 'shared');
    fs.mkdirSync(shared);
    fs.chmodSync(shared, 0o755);
    fs.writeFileSync(path.join(shared, 'someone-elses.pid'), '1\n');
    const socket = path.join(shared, 'agent.sock');
    const conf = node.conf({ agentSocket: socket });
    const agent = await startAgentProcess(node.sb.dir, conf, node.name);
    await agent.ready();
    await until(() => fs.existsSync(socket), 'the agent listens');
    expect(fs.statSync(shared).mode & 0o7777).toBe(0o755);
    expect(fs.statSync(socket).mode & 0o777).toBe(0o600);
    expect(agent.stderr()).toContain(`${shared} holds other files: its mode is left as it is`);
    api.resetCalls();
    ok(await pod.run('ADD', conf));
    expect(api.calls.filter(fromBraid)).toEqual([]); // answered by the agent, not the direct path
    ok(await pod.run('DEL', conf));
  });

  it('its own directory (nothing else in it) is tightened to 0700', async () => {
    const node = new AgentNode(api, nextSubnet);
    const own = path.join(node.sb.dir, 'own');
    fs.mkdirSync(own);
    fs.chmodSync(own, 0o755);
    const agent = await startAgentProcess(node.sb.dir, node.conf({ agentSocket: path.join(own, 'agent.sock') }), node.name);
    await agent.ready();
    await until(() => fs.existsSync(path.join(own, 'agent.sock')), 'the agent listens');
    expect(fs.statSync(own).mode & 0o7777).toBe(0o700);
  });
});
