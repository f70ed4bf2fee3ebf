import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBraidAsync, type BraidOutcome } from '../helpers/braid';
import { braidConf, ok } from '../helpers/cni';
import { hostOf, linksIn, sandbox, v4SubnetAllocator, type Sandbox } from '../helpers/host';
import type { ApiServer } from '../helpers/apiserver.mjs';
import { NETWORKS, useApiServer } from '../helpers/k8s';

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
}

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
    run: (command, config) => runBraidAsync({ command, containerID, netns, ifname: 'eth0', args, config }),
  };
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
