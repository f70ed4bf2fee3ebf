import { describe, expect, it } from 'vitest';
import { containerView } from '../../src/cli/inspect-view';
import { routeDecision } from '../../src/cli/plan-view';
import { normalizeNetwork } from '../../src/config/netconf';
import { parseNetworksAnnotation } from '../../src/selection/networks';
import { selectionWarnings } from '../../src/selection/warnings';
import type { ContainerCache } from '../../src/store/cache';
import { cniError } from '../helpers/unit';

// The pure parts of the operator tools: the pointers the core's errors carry, plan's default-route
// wording, and what inspect flags in a cache.

describe('errors carry a JSON pointer to the field', () => {
  it.each([
    [{ cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'a' }, { type: '../b' }] }, '/plugins/1/type'],
    [{ cniVersion: '1.0.0', name: 'bad name', type: 'x' }, '/name'],
    [{ cniVersion: '1.0.0', name: 'n', plugins: [] }, '/plugins'],
    [{ cniVersion: '1.0.0', name: 'n', cniVersions: ['1.0.0', 'x'], type: 'x' }, '/cniVersions/1'],
    [{ cniVersion: '9.9.9', name: 'n', type: 'x' }, '/cniVersion'],
  ])('normalizeNetwork(%j) points at %s', (doc, pointer) => {
    expect(cniError(() => normalizeNetwork(doc, 'src', '')).pointer).toBe(pointer);
  });

  it.each([
    ['[{"name": "a"}, {"name": "b", "mac": "zz"}]', '/1/mac'],
    ['[{"name": "a", "portMappings": [{"hostPort": 1, "containerPort": 0}]}]', '/0/portMappings/0'],
    ['[{"name": "a", "bandwidth": {"egressBurst": 5}}]', '/0/bandwidth/egressBurst'],
    ['a, b/c/d', '/1'],
    ['[{"name": "a"}', ''],
  ])('the networks annotation %s points at %j', (value, pointer) => {
    expect(cniError(() => parseNetworksAnnotation(value, 'default')).pointer).toBe(pointer);
  });

  it('warnings point at interfaceRequest and unknown keys, and the comma form has none', () => {
    expect(selectionWarnings('[{"name": "a", "interfaceRequest": "x", "ipz": 1}]').map((w) => w.pointer)).toEqual(['/0/interfaceRequest', '/0/ipz']);
    expect(selectionWarnings('a@x, b')).toEqual([]);
  });
});

describe('plan: the default-route decision', () => {
  it('names the owner, the interfaces that lose a family, and leaves others alone', () => {
    const change = { owners: [{ ifname: 'net1', gateway: '10.250.0.1' }], cleared: ['net2'] };
    expect(routeDecision({ ifname: 'net1' }, change)).toBe('IPv4 default via 10.250.0.1 (default-route)');
    expect(routeDecision({ ifname: 'eth0' }, change)).toBe('IPv4 default removed (net1 owns it)');
    expect(routeDecision({ ifname: 'net2' }, change)).toBe('IPv4 default removed (net1 owns it); IPv6 default removed (default-route: [])');
    expect(routeDecision({ ifname: 'eth0' }, undefined)).toBe('as the delegates set it (no default-route request)');
  });
});

describe('inspect: what a cache shows', () => {
  const att = (ifname: string, state: 'added' | 'deleted' | 'planned') => ({
    network: ifname === 'eth0' ? 'pod' : 'ns/x', ifname, state, clusterNetwork: ifname === 'eth0', runtimeConfig: {}, cniArgs: '',
    config: { name: 'n', cniVersion: '1.0.0', plugins: [{ type: 't' }] },
    result: state === 'planned' ? undefined : { cniVersion: '1.0.0', interfaces: [{ name: ifname, mac: '02:00:00:00:00:01' }], ips: [{ interface: 0, address: '10.250.0.2/24' }] },
  });
  const cache = (attachments: any[]): ContainerCache => ({
    kind: 'braidCacheV1', containerID: 'c1', netns: '/n', ifname: 'eth0', cniVersion: '1.0.0', args: 'K8S_POD_NAMESPACE=a;K8S_POD_NAME=b', attachments,
  });

  it('reads the pod from CNI_ARGS and interfaces and IPs from the results', () => {
    const v = containerView('c1', { status: 'ok', cache: cache([att('eth0', 'added'), att('net1', 'planned')]) }, undefined);
    expect(v.pod).toBe('a/b');
    expect(v.attachments[0]).toMatchObject({ ips: ['10.250.0.2/24'], interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:01' }] });
    expect(v.attachments[1]).toMatchObject({ state: 'planned', ips: [], interfaces: [] });
    expect(v.problems).toEqual([]);
  });

  it('flags an unfinished DEL, a corrupt cache and a dead holder\'s lock', () => {
    expect(containerView('c1', { status: 'ok', cache: cache([att('eth0', 'deleted'), att('net1', 'added')]) }, undefined).problems)
      .toEqual([expect.stringMatching(/^unfinished DEL: net1 \(ns\/x\)/)]);
    expect(containerView('c1', { status: 'corrupt', reason: 'truncated' }, undefined).problems).toEqual([expect.stringMatching(/^corrupt cache: truncated/)]);
    expect(containerView('c1', { status: 'missing' }, { token: '1 2', alive: false }).problems).toEqual([expect.stringContaining('holder that is gone')]);
    expect(containerView('c1', { status: 'missing' }, { token: '1 2', alive: true }).problems).toEqual([]);
  });
});
