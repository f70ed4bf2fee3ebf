import { describe, expect, it } from 'vitest';
import type { CniError } from '../../src/cni/errors';
import type { NetworkConfig } from '../../src/config/netconf';
import { buildPlan, type PlanInput, type Selection } from '../../src/plan/plan';
import { cniError } from '../helpers/unit';

function net(name: string): NetworkConfig {
  return { name, cniVersion: '1.0.0', plugins: [{ type: 'fake' }] };
}

function sel(name: string, extra: { ifname?: string } & Partial<Selection> = {}): Selection {
  const { ifname, ...rest } = extra;
  return { config: net(name), ...(ifname !== undefined ? { request: { name, namespace: 'default', interface: ifname } } : {}), ...rest };
}

function input(secondaries: Selection[], extra: Partial<PlanInput> = {}): PlanInput {
  return { clusterNetwork: sel('podnet'), secondaries, ifname: 'eth0', runtimeConfig: {}, cniArgs: '', ...extra };
}

/** buildPlan's CniError for `i` (asserts it fails). */
function planError(i: PlanInput): CniError {
  return cniError(() => buildPlan(i));
}

describe('buildPlan', () => {
  it('names the cluster network CNI_IFNAME and the secondaries net1..netN by position, keeping their order', () => {
    const plan = buildPlan(input([sel('a'), sel('b'), sel('c')]));
    expect(plan.map((a) => [a.network, a.ifname, a.clusterNetwork])).toEqual([
      ['podnet', 'eth0', true],
      ['a', 'net1', false],
      ['b', 'net2', false],
      ['c', 'net3', false],
    ]);
  });

  it('uses the runtime\'s CNI_IFNAME for the cluster network, whatever it is', () => {
    const plan = buildPlan(input([sel('a')], { ifname: 'pod0' }));
    expect(plan.map((a) => a.ifname)).toEqual(['pod0', 'net1']);
  });

  it('with no secondaries plans the cluster network alone', () => {
    const plan = buildPlan(input([]));
    expect(plan).toHaveLength(1);
    expect(plan[0]).toMatchObject({ network: 'podnet', ifname: 'eth0', clusterNetwork: true });
  });

  it('uses an explicitly requested interface name; the others keep their positional names', () => {
    const plan = buildPlan(input([sel('a'), sel('b', { ifname: 'data0' }), sel('c')]));
    expect(plan.map((a) => a.ifname)).toEqual(['eth0', 'net1', 'data0', 'net3']);
  });

  it('uses the selection\'s network name (e.g. ns/nad) over the config name', () => {
    const plan = buildPlan(input([sel('macvlan-conf', { network: 'default/macvlan-conf' })]));
    expect(plan[1].network).toBe('default/macvlan-conf');
    expect(plan[1].config.name).toBe('macvlan-conf');
  });

  it('keeps each selection\'s NetworkConfig and gives every attachment the CNI_ARGS', () => {
    const a = sel('a');
    const plan = buildPlan(input([a], { cniArgs: 'K8S_POD_NAME=web-0;IgnoreUnknown=1' }));
    expect(plan[1].config).toBe(a.config);
    expect(plan.map((p) => p.cniArgs)).toEqual(['K8S_POD_NAME=web-0;IgnoreUnknown=1', 'K8S_POD_NAME=web-0;IgnoreUnknown=1']);
  });

  it('gives the runtimeConfig to the cluster network only', () => {
    const runtimeConfig = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], bandwidth: { ingressRate: 1 } };
    const plan = buildPlan(input([sel('a'), sel('b')], { runtimeConfig }));
    expect(plan[0].runtimeConfig).toEqual(runtimeConfig);
    expect(plan[1].runtimeConfig).toEqual({});
    expect(plan[2].runtimeConfig).toEqual({});
  });

  it('refuses a secondary that asks for the cluster network\'s interface name, code 7 naming both networks', () => {
    const err = planError(input([sel('a', { ifname: 'eth0' })]));
    expect(err.code).toBe(7);
    expect(err.message).toContain('"a"');
    expect(err.message).toContain('"podnet"');
    expect(err.message).toContain('eth0');
  });

  it('refuses two secondaries with the same explicit interface name, code 7 naming both networks', () => {
    const err = planError(input([sel('a', { ifname: 'data0' }), sel('b', { ifname: 'data0' })]));
    expect(err.code).toBe(7);
    expect(err.message).toContain('"a"');
    expect(err.message).toContain('"b"');
    expect(err.message).toContain('data0');
  });

  it('refuses an explicit name that clashes with a later positional name, code 7 naming both networks', () => {
    const err = planError(input([sel('a', { ifname: 'net2' }), sel('b')]));
    expect(err.code).toBe(7);
    expect(err.message).toContain('"a"');
    expect(err.message).toContain('"b"');
    expect(err.message).toContain('net2');
  });

  it.each(['abcdefghijklmnop', 'a/b', 'has space', 'x:y', '.', '..'])(
    'refuses the invalid requested interface name %j with code 7 naming the network',
    (ifname) => {
      const err = planError(input([sel('a', { ifname })]));
      expect(err.code).toBe(7);
      expect(err.message).toContain('"a"');
    },
  );
});
