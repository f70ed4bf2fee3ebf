import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AgentNode, fromAgent, fromBraid, isWatch } from '../helpers/agent-node';
import { startApiServer, type ApiServer } from '../helpers/apiserver.mjs';
import { REFERENCE_PLUGINS, FIXTURE_PLUGINS, runBraid, runBraidAsync, type BraidOutcome } from '../helpers/braid';
import { braidConf, fakeCalls, failed, ok } from '../helpers/cni';
import { addressesIn, linksIn, PodSandbox, v4SubnetAllocator } from '../helpers/host';
import { NETWORKS, networkStatusOf } from '../helpers/k8s';

// Malformed input from the runtime gets a CNI error naming the field, and no delegate runs. Also: a
// kubeconfig with a plain http:// server works, as client-go allows. Addresses: 10.250.234.0/24 - 10.250.235.0/24,
// and 10.250.238.0/24 - 10.250.239.0/24 for the agent's node (no address on the host).

let pod: PodSandbox;
beforeEach(() => {
  pod = new PodSandbox('malformed', 'ctr-malformed');
});

/** braid's config with one recording fake delegate (which would take runtimeConfig's well-known keys), plus `extra`. */
function fakeConf(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const capabilities = { ips: true, mac: true, portMappings: true, bandwidth: true, dns: true, deviceID: true, infinibandGUID: true, aliases: true };
  return braidConf(pod.sb, {
    capabilities,
    delegates: [{ cniVersion: '1.0.0', name: 'podnet', type: 'fake', ip: '10.250.234.5/24', capabilities }],
    ...extra,
  });
}

function call(command: string, config: unknown, more: { ifname?: string; args?: string } = {}): BraidOutcome {
  return runBraid({ command, containerID: pod.containerID, netns: pod.netns, ifname: 'eth0', config, ...more, env: { FAKE_LOG: pod.sb.fakeLog } });
}

/** Asserts that no delegate ran and braid left nothing: no interface, no cache. */
function nothingRan(): void {
  expect(fakeCalls(pod.sb.fakeLog)).toEqual([]);
  expect(linksIn(pod.ns)).toEqual([]);
  expect(pod.sb.cacheFiles()).toEqual([]);
}

describe('CNI_IFNAME is limited to 15 bytes (IFNAMSIZ), not 15 characters', () => {
  it('refuses "eth0éééééé" (10 characters, 16 bytes) on ADD with code 4 naming CNI_IFNAME, and nothing runs', () => {
    expect(failed(call('ADD', fakeConf(), { ifname: 'eth0éééééé' }), 4)).toMatch(/CNI_IFNAME "eth0éééééé" .*16 given/);
    nothingRan();
  });

  it('refuses it on DEL too, and a DEL with the real name still tears the pod down', () => {
    ok(call('ADD', fakeConf()));
    expect(failed(call('DEL', fakeConf(), { ifname: 'eth0éééééé' }), 4)).toContain('CNI_IFNAME');
    expect(fakeCalls(pod.sb.fakeLog).map((c) => c.command)).toEqual(['ADD']);
    ok(call('DEL', fakeConf()));
    expect(fakeCalls(pod.sb.fakeLog).map((c) => c.command)).toEqual(['ADD', 'DEL']);
  });
});

describe('half a pod reference in CNI_ARGS', () => {
  it.each([
    ['K8S_POD_NAME without K8S_POD_NAMESPACE', 'IgnoreUnknown=1;K8S_POD_NAME=web-0', /K8S_POD_NAME is "web-0" but K8S_POD_NAMESPACE is empty/],
    ['K8S_POD_NAMESPACE without K8S_POD_NAME', 'IgnoreUnknown=1;K8S_POD_NAMESPACE=team-a;K8S_POD_NAME=', /K8S_POD_NAMESPACE is "team-a" but K8S_POD_NAME is empty/],
  ])('%s fails ADD with code 7 naming both, and nothing runs', (_what, args, message) => {
    expect(failed(call('ADD', fakeConf(), { args }), 7)).toMatch(message);
    nothingRan();
  });
});

describe('runtimeConfig values of well-known capabilities are type-checked before any delegate runs', () => {
  it.each([
    ['ips', ['10.250.234.7/24', 'ten'], 'a list of IP or CIDR strings'],
    ['mac', 12, 'a string'],
    ['portMappings', { hostPort: 8080 }, 'a list of objects'],
    ['bandwidth', 'fast', 'an object'],
    ['dns', ['10.250.0.10'], 'an object'],
    ['deviceID', 7, 'a string'],
    ['infinibandGUID', true, 'a string'],
    ['aliases', 'db', 'a list of strings'],
  ])('runtimeConfig.%s = %j fails ADD with code 7: it must be %s', (key, value, what) => {
    expect(failed(call('ADD', fakeConf({ runtimeConfig: { [key]: value } })), 7)).toContain(`runtimeConfig.${key} must be ${what}`);
    nothingRan();
  });

  it('well-typed values reach the delegate that declares the capabilities', () => {
    const runtimeConfig = { ips: ['10.250.234.9/24'], mac: 'c2:11:22:33:44:55', portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], aliases: ['db'] };
    ok(call('ADD', fakeConf({ runtimeConfig })));
    const [add] = fakeCalls(pod.sb.fakeLog);
    expect(add.config.runtimeConfig).toEqual(runtimeConfig);
    ok(call('DEL', fakeConf({ runtimeConfig })));
  });
});

describe('a kubeconfig whose server is plain http:// (kubectl proxy, a local API server)', () => {
  let server: ApiServer;
  beforeAll(async () => {
    server = await startApiServer({ plainHttp: true });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('is accepted with a warning: the pod\'s NAD is read and network-status written over it, eth0 on a real bridge', async () => {
    expect(server.url).toMatch(/^http:\/\//);
    const name = `web-${pod.sb.id}`;
    const uid = server.addPod({ metadata: { namespace: 'team-a', name, annotations: { [NETWORKS]: 'side' } } }).metadata.uid;
    server.addNad('team-a', 'side', { cniVersion: '1.0.0', type: 'fake', ip: '10.250.235.5/24' });
    const kubeconfig = server.kubeconfig(pod.sb.dir);
    const config = braidConf(pod.sb, {
      kubeconfig, kubeRequestTimeout: 2, kubeTimeout: 4,
      delegates: [{
        cniVersion: '1.0.0', name: 'podnet', type: 'bridge', bridge: pod.sb.linkName('br'),
        ipam: { type: 'host-local', subnet: '10.250.234.0/24', dataDir: pod.sb.ipamDir },
      }],
    });
    const args = `IgnoreUnknown=1;K8S_POD_NAMESPACE=team-a;K8S_POD_NAME=${name};K8S_POD_UID=${uid}`;
    const run = (command: string) => runBraidAsync({
      command, containerID: pod.containerID, netns: pod.netns, ifname: 'eth0', args, config,
      path: `${REFERENCE_PLUGINS}:${FIXTURE_PLUGINS}`, env: { FAKE_LOG: pod.sb.fakeLog },
    });
    const a = await run('ADD');
    ok(a);
    expect(a.stderr).toMatch(new RegExp(`\\[warning\\].*server ${server.url} is plain http://`));
    expect(linksIn(pod.ns)).toEqual(['eth0']); // net1 is the recording fake's: it makes no link
    expect(fakeCalls(pod.sb.fakeLog).map((c) => [c.command, c.env.CNI_IFNAME])).toEqual([['ADD', 'net1']]);
    expect(addressesIn(pod.ns, 'eth0')).toEqual([expect.stringMatching(/^10\.250\.234\.\d+\/24$/)]);
    expect(networkStatusOf(server, 'team-a', name).map((s: { name: string }) => s.name)).toEqual(['podnet', 'team-a/side']);
    ok(await run('DEL'));
    expect(linksIn(pod.ns)).toEqual([]);
  });

  it('serves the resident agent too: it lists and watches over plain HTTP and answers the ADD', async () => {
    const node = new AgentNode(server, v4SubnetAllocator(238, 2));
    node.nad('side-ag', 'team-ag');
    const agentPod = node.pod('side-ag');
    const agent = await node.startAgent();
    expect(agent.stderr()).toMatch(/server http:\/\/127\.0\.0\.1:\d+ is plain http:\/\//);
    expect(server.calls.some((c) => fromAgent(c) && isWatch(c))).toBe(true);
    server.resetCalls();
    const a = await agentPod.run('ADD');
    ok(a);
    expect(a.stderr).not.toContain('direct path'); // the agent answered
    expect(server.calls.filter(fromBraid)).toEqual([]);
    expect(linksIn(agentPod.ns).sort()).toEqual(['eth0', 'net1']);
    ok(await agentPod.run('DEL'));
    expect(linksIn(agentPod.ns)).toEqual([]);
  });
});
