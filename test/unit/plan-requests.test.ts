import { describe, expect, it } from 'vitest';
import type { CniError } from '../../src/cni/errors';
import type { NetworkConfig } from '../../src/config/netconf';
import { buildPlan, extendCniArgs, requestedRuntimeConfig, undeclaredWarning, type PlanInput, type Selection } from '../../src/plan/plan';
import type { NetworkSelection } from '../../src/selection/networks';
import { cniError } from '../helpers/unit';

// buildPlan applying the pod's selection requests (NAD spec §4.1.2 / §7): runtimeConfig keys,
// capability checks, cni-args, CNI_ARGS IP=/MAC= and default-route ownership.

const ALL_CAPS = { ips: true, mac: true, infinibandGUID: true, portMappings: true, bandwidth: true, deviceID: true };

function conf(name: string, plugins: Record<string, unknown>[] = [{ type: 'fake', capabilities: ALL_CAPS }]): NetworkConfig {
  return { name, cniVersion: '1.0.0', plugins };
}

/** A NAD selection `ns/<name>` with the pod's request fields. */
function nad(name: string, request: Partial<NetworkSelection> = {}, plugins?: Record<string, unknown>[]): Selection {
  return { config: conf(name, plugins), network: `ns/${name}`, request: { name, namespace: 'ns', ...request } };
}

function input(secondaries: Selection[], extra: Partial<PlanInput> = {}): PlanInput {
  return { clusterNetwork: { config: conf('podnet') }, secondaries, ifname: 'eth0', runtimeConfig: {}, cniArgs: '', ...extra };
}

/** buildPlan's CniError for `i` (asserts it fails). */
function planError(i: PlanInput): CniError {
  return cniError(() => buildPlan(i));
}

const FULL_REQUEST: Partial<NetworkSelection> = {
  interface: 'data0',
  ips: ['10.250.174.5/24', 'fd00:250:174::5/64'],
  mac: '02:00:00:00:17:05',
  infinibandGUID: '00:11:22:33:44:55:66:77',
  portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
  bandwidth: { ingressRate: 1000, ingressBurst: 2000 },
  deviceID: '0000:03:00.1',
  defaultRoute: ['10.250.174.1'],
  cniArgs: { foo: 'bar' },
};

/** One request per runtimeConfig key a selection element can ask for. */
const ONE_REQUEST_EACH: Array<[string, Partial<NetworkSelection>]> = [
  ['ips', { ips: ['10.250.176.5/24'] }],
  ['mac', { mac: '02:00:00:00:17:06' }],
  ['infinibandGUID', { infinibandGUID: '00:11:22:33:44:55:66:77' }],
  ['portMappings', { portMappings: [{ hostPort: 1, containerPort: 2, protocol: 'tcp' }] }],
  ['bandwidth', { bandwidth: { egressRate: 1 } }],
  ['deviceID', { deviceID: '0000:03:00.2' }],
];

describe('requestedRuntimeConfig', () => {
  it('is empty without a request, or for a request with nothing the runtimeConfig carries', () => {
    expect(requestedRuntimeConfig(undefined)).toStrictEqual({});
    expect(requestedRuntimeConfig({ name: 'a', namespace: 'ns', interface: 'x', defaultRoute: ['10.250.174.1'], cniArgs: { a: 1 }, ipamClaimReference: 'c' })).toStrictEqual({});
  });

  it('maps ips, mac, infiniband-guid, portMappings, bandwidth and deviceID to their capability keys', () => {
    expect(requestedRuntimeConfig({ name: 'a', namespace: 'ns', ...FULL_REQUEST })).toStrictEqual({
      ips: ['10.250.174.5/24', 'fd00:250:174::5/64'],
      mac: '02:00:00:00:17:05',
      infinibandGUID: '00:11:22:33:44:55:66:77',
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
      bandwidth: { ingressRate: 1000, ingressBurst: 2000 },
      deviceID: '0000:03:00.1',
    });
  });
});

describe('buildPlan with selection requests', () => {
  it('gives a secondary the runtimeConfig keys its request asks for', () => {
    const plan = buildPlan(input([nad('a', FULL_REQUEST)]));
    expect(plan[1].runtimeConfig).toStrictEqual(requestedRuntimeConfig({ name: 'a', namespace: 'ns', ...FULL_REQUEST }));
    expect(plan[1].ifname).toBe('data0');
  });

  it('gives each secondary only its own requests, never the runtime\'s portMappings or bandwidth (NAD spec §7.5)', () => {
    const runtimeConfig = { portMappings: [{ hostPort: 9090, containerPort: 90, protocol: 'tcp' }], bandwidth: { egressRate: 5 } };
    const plan = buildPlan(input([nad('a', { mac: '02:00:00:00:17:0a' }), nad('b', { ips: ['10.250.175.9/24'] }), nad('c')], { runtimeConfig }));
    expect(plan[0].runtimeConfig).toStrictEqual(runtimeConfig);
    expect(plan[1].runtimeConfig).toStrictEqual({ mac: '02:00:00:00:17:0a' });
    expect(plan[2].runtimeConfig).toStrictEqual({ ips: ['10.250.175.9/24'] });
    expect(plan[3].runtimeConfig).toStrictEqual({});
  });

  it('gives the cluster network the runtime\'s runtimeConfig plus its own request (default-network override)', () => {
    const runtimeConfig = { portMappings: [{ hostPort: 9090, containerPort: 90, protocol: 'tcp' }] };
    const cluster = nad('cilium', { mac: '02:00:00:00:17:0b' });
    const plan = buildPlan(input([], { clusterNetwork: cluster, runtimeConfig }));
    expect(plan[0].runtimeConfig).toStrictEqual({ ...runtimeConfig, mac: '02:00:00:00:17:0b' });
  });

  it.each(ONE_REQUEST_EACH)('with strictCapabilities, refuses a %s request no plugin of the network declares, code 7 naming the key and the network', (key, request) => {
    const err = planError(input([nad('plain', request, [{ type: 'fake' }, { type: 'tuning', capabilities: { other: true } }])], { strictCapabilities: true }));
    expect(err.code).toBe(7);
    expect(err.message).toContain(JSON.stringify(key));
    expect(err.message).toContain('"ns/plain"');
    expect(err.message).toContain('strictCapabilities');
  });

  it.each(ONE_REQUEST_EACH)('by default, plans a %s request no plugin declares and records it as undeclared (Multus)', (key, request) => {
    const plan = buildPlan(input([nad('plain', request, [{ type: 'fake' }, { type: 'tuning', capabilities: { other: true } }])]));
    expect(plan[1].undeclared).toStrictEqual([key]);
    expect(undeclaredWarning('ns/plain', key)).toContain(key === 'ips' ? 'CNI_ARGS IP=' : key === 'mac' ? 'CNI_ARGS MAC=' : 'ignored');
  });

  it('sends IP= and MAC= in CNI_ARGS whether or not a plugin declares ips/mac', () => {
    const req = { ips: ['10.250.176.7/24', '10.250.176.8/24'], mac: '02:00:00:00:17:09' };
    const plan = buildPlan(input([nad('none', req, [{ type: 'static' }]), nad('both', req)], { cniArgs: 'IgnoreUnknown=1;K8S_POD_NAME=p' }));
    for (const att of plan.slice(1)) {
      expect(att.cniArgs).toBe('IgnoreUnknown=1;K8S_POD_NAME=p;IP=10.250.176.7/24,10.250.176.8/24;MAC=02:00:00:00:17:09');
    }
    expect(plan[1].undeclared).toStrictEqual(['ips', 'mac']);
    expect(plan[2].undeclared).toBeUndefined();
  });

  it('with strictCapabilities, refuses a request whose capability a plugin declares as false', () => {
    const err = planError(input([nad('off', { mac: '02:00:00:00:17:07' }, [{ type: 'fake', capabilities: { mac: false } }])], { strictCapabilities: true }));
    expect(err.code).toBe(7);
    expect(err.message).toContain('"mac"');
  });

  it('with strictCapabilities, checks the cluster network\'s own request too', () => {
    const cluster = nad('cilium', { ips: ['10.250.176.6/24'] }, [{ type: 'cilium-cni' }]);
    const err = planError(input([], { clusterNetwork: cluster, strictCapabilities: true }));
    expect(err.code).toBe(7);
    expect(err.message).toContain('"ips"');
    expect(err.message).toContain('"ns/cilium"');
  });

  it('accepts a request when any one plugin of a conflist declares the capability', () => {
    const plugins = [{ type: 'macvlan' }, { type: 'tuning', capabilities: { mac: true } }, { type: 'bandwidth', capabilities: { bandwidth: true } }];
    const plan = buildPlan(input([nad('chain', { mac: '02:00:00:00:17:08', bandwidth: { ingressRate: 10 } }, plugins)]));
    expect(plan[1].runtimeConfig).toStrictEqual({ mac: '02:00:00:00:17:08', bandwidth: { ingressRate: 10 } });
  });

  it('merges "cni-args" into args.cni of every plugin, the annotation winning over the NAD\'s args.cni', () => {
    const plugins = [
      { type: 'macvlan', args: { cni: { foo: 'nad', keep: 'nad' }, other: { x: 1 } } },
      { type: 'tuning' },
    ];
    const sel = nad('argy', { cniArgs: { foo: 'pod', extra: true } }, plugins);
    const plan = buildPlan(input([sel]));
    expect(plan[1].config.plugins).toStrictEqual([
      { type: 'macvlan', args: { cni: { foo: 'pod', keep: 'nad', extra: true }, other: { x: 1 } } },
      { type: 'tuning', args: { cni: { foo: 'pod', extra: true } } },
    ]);
    // The NAD's own config is not modified.
    expect(sel.config.plugins[0]).toStrictEqual({ type: 'macvlan', args: { cni: { foo: 'nad', keep: 'nad' }, other: { x: 1 } } });
    expect(sel.config.plugins[1]).toStrictEqual({ type: 'tuning' });
  });

  it('puts "ipam-claim-reference" into args.cni of every plugin', () => {
    const plan = buildPlan(input([nad('claimed', { ipamClaimReference: 'pod-claim' }, [{ type: 'ovn' }, { type: 'tuning' }])]));
    expect(plan[1].config.plugins.map((p) => p.args)).toStrictEqual([
      { cni: { 'ipam-claim-reference': 'pod-claim' } },
      { cni: { 'ipam-claim-reference': 'pod-claim' } },
    ]);
  });

  it('leaves a config untouched (same object) when the pod asks for no cni-args', () => {
    const sel = nad('same', { mac: '02:00:00:00:17:09' });
    expect(buildPlan(input([sel]))[1].config).toBe(sel.config);
  });

  it('appends IP= (comma-joined) and MAC= to the requesting attachment\'s CNI_ARGS only', () => {
    const cniArgs = 'K8S_POD_NAMESPACE=ns;K8S_POD_NAME=web-0';
    const plan = buildPlan(input([nad('a', { ips: ['10.250.177.5/24', 'fd00:250:177::5/64'], mac: '02:00:00:00:17:0c' }), nad('b')], { cniArgs }));
    expect(plan[0].cniArgs).toBe(cniArgs);
    expect(plan[1].cniArgs).toBe('IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=web-0;IP=10.250.177.5/24,fd00:250:177::5/64;MAC=02:00:00:00:17:0c');
    expect(plan[2].cniArgs).toBe(cniArgs);
  });

  it('accepts one IPv4 and one IPv6 default-route on different attachments', () => {
    const plan = buildPlan(input([nad('v4', { defaultRoute: ['10.250.178.1'] }), nad('v6', { defaultRoute: ['fd00:250:178::1'] })]));
    expect(plan.map((a) => a.defaultRoute)).toEqual([undefined, ['10.250.178.1'], ['fd00:250:178::1']]);
  });

  it('accepts one IPv4 and one IPv6 default-route on the same attachment', () => {
    const plan = buildPlan(input([nad('dual', { defaultRoute: ['10.250.178.1', 'fd00:250:178::1'] })]));
    expect(plan[1].defaultRoute).toEqual(['10.250.178.1', 'fd00:250:178::1']);
  });

  it('refuses two IPv4 default-routes on two attachments, code 7 naming both networks', () => {
    const err = planError(input([nad('first', { defaultRoute: ['10.250.178.1'] }), nad('second', { defaultRoute: ['10.250.179.1'] })]));
    expect(err.code).toBe(7);
    expect(err.message).toContain('default-route');
    expect(err.message).toContain('IPv4');
    expect(err.message).toContain('ns/first');
    expect(err.message).toContain('ns/second');
  });

  it('refuses two IPv6 default-routes, code 7 naming both networks', () => {
    const err = planError(input([nad('first', { defaultRoute: ['fd00:250:178::1'] }), nad('second', { defaultRoute: ['fd00:250:179::1'] })]));
    expect(err.code).toBe(7);
    expect(err.message).toContain('IPv6');
    expect(err.message).toContain('ns/first');
    expect(err.message).toContain('ns/second');
  });
});

describe('extendCniArgs', () => {
  it('returns the CNI_ARGS unchanged when there is nothing to add', () => {
    expect(extendCniArgs('K8S_POD_NAME=a', [])).toBe('K8S_POD_NAME=a');
    expect(extendCniArgs('', [])).toBe('');
  });

  it('appends the pairs and adds IgnoreUnknown=1 when it is absent', () => {
    expect(extendCniArgs('K8S_POD_NAME=a', [['IP', '10.250.177.9'], ['MAC', '02:00:00:00:17:0d']]))
      .toBe('IgnoreUnknown=1;K8S_POD_NAME=a;IP=10.250.177.9;MAC=02:00:00:00:17:0d');
    expect(extendCniArgs('', [['IP', '10.250.177.9']])).toBe('IgnoreUnknown=1;IP=10.250.177.9');
  });

  it('keeps an IgnoreUnknown that is already there, without adding another', () => {
    expect(extendCniArgs('IgnoreUnknown=true;K8S_POD_NAME=a', [['IP', '10.250.177.9']])).toBe('IgnoreUnknown=true;K8S_POD_NAME=a;IP=10.250.177.9');
    expect(extendCniArgs('K8S_POD_NAME=a;IgnoreUnknown=1', [['MAC', '02:00:00:00:17:0d']])).toBe('K8S_POD_NAME=a;IgnoreUnknown=1;MAC=02:00:00:00:17:0d');
  });

  it('replaces same keys instead of repeating them', () => {
    expect(extendCniArgs('IgnoreUnknown=1;IP=10.250.177.1;K8S_POD_NAME=a;MAC=02:00:00:00:00:01', [['IP', '10.250.177.9'], ['MAC', '02:00:00:00:17:0d']]))
      .toBe('IgnoreUnknown=1;K8S_POD_NAME=a;IP=10.250.177.9;MAC=02:00:00:00:17:0d');
  });
});

describe('buildPlan with kubelet devices', () => {
  const sel = (resourceName: string): Selection => ({ ...nad('dev', {}, [{ type: 'host-device' }, { type: 'tuning', capabilities: { mac: true } }]), resourceName });

  it('injects a VF\'s PCI address as top-level deviceID and pciBusID into every plugin', () => {
    const plan = buildPlan(input([sel('intel.com/vf')], { devices: new Map([['intel.com/vf', ['0000:03:02.3']]]) }));
    expect(plan[1].config.plugins).toEqual([
      { type: 'host-device', deviceID: '0000:03:02.3', pciBusID: '0000:03:02.3' },
      { type: 'tuning', capabilities: { mac: true }, deviceID: '0000:03:02.3', pciBusID: '0000:03:02.3' },
    ]);
    expect(plan[1].runtimeConfig).toStrictEqual({ deviceID: '0000:03:02.3' });
  });

  it('offers an auxiliary-bus device (a subfunction) to every plugin as runtimeConfig.deviceID, never as pciBusID', () => {
    const plan = buildPlan(input([sel('nvidia.com/sf')], { devices: new Map([['nvidia.com/sf', ['mlx5_core.sf.4']]]) }));
    expect(plan[1].config.plugins).toEqual([
      { type: 'host-device', deviceID: 'mlx5_core.sf.4', capabilities: { deviceID: true } },
      { type: 'tuning', capabilities: { mac: true, deviceID: true }, deviceID: 'mlx5_core.sf.4' },
    ]);
    expect(plan[1].runtimeConfig).toStrictEqual({ deviceID: 'mlx5_core.sf.4' });
  });
});
