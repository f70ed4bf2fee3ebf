import { describe, it, expect } from 'vitest';
import type { Result } from '../../src/cni/result';
import { mergeResults } from '../../src/result/merge';

// Cluster network (bridge: host veth + pod eth0), then a delegated-IPAM-style result with no
// interfaces, then a macvlan-style result with three interfaces.
const cluster: Result = {
  cniVersion: '1.1.0',
  interfaces: [
    { name: 'veth1a2b', mac: '6e:4f:2a:11:22:33' },
    { name: 'eth0', mac: '0a:58:0a:f4:00:05', sandbox: '/var/run/netns/pod' },
  ],
  ips: [
    { interface: 1, address: '10.244.0.5/24', gateway: '10.244.0.1' },
    { interface: 1, address: 'fd00:10:244::5/64', gateway: 'fd00:10:244::1' },
  ],
  routes: [
    { dst: '0.0.0.0/0', gw: '10.244.0.1' },
    { dst: '::/0', gw: 'fd00:10:244::1' },
  ],
  dns: { nameservers: ['10.96.0.10'], search: ['default.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] },
};

const noInterfaces: Result = {
  cniVersion: '1.0.0',
  ips: [{ address: '192.168.50.7/24' }],
  routes: [{ dst: '192.168.0.0/16', gw: '192.168.50.1' }],
  dns: { nameservers: ['192.168.50.53', '10.96.0.10'], domain: 'storage.local', search: ['svc.cluster.local', 'storage.local'] },
};

const third: Result = {
  cniVersion: '1.1.0',
  interfaces: [
    { name: 'net1', sandbox: '/var/run/netns/pod' },
    { name: 'net1-peer' },
    { name: 'net2', sandbox: '/var/run/netns/pod', mtu: 9000 },
  ],
  ips: [
    { interface: 0, address: '172.16.0.9/24' },
    { address: '172.17.0.9/24' },
    { interface: 2, address: '172.18.0.9/24', gateway: '172.18.0.1' },
  ],
  routes: [
    { dst: '0.0.0.0/0', gw: '10.244.0.1' },
    { dst: '172.20.0.0/16', gw: '172.18.0.1', table: 100 },
  ],
  dns: { domain: 'other.local', options: ['ndots:5', 'edns0'] },
};

describe('mergeResults', () => {
  it('gives just the cniVersion for an empty list', () => {
    expect(mergeResults([], '1.1.0')).toStrictEqual({ cniVersion: '1.1.0' });
  });

  it('returns a single result unchanged apart from the requested cniVersion', () => {
    expect(mergeResults([cluster], '1.0.0')).toStrictEqual({ ...cluster, cniVersion: '1.0.0' });
  });

  it('merges three results (one without interfaces) into the exact expected result', () => {
    expect(mergeResults([cluster, noInterfaces, third], '1.1.0')).toStrictEqual({
      cniVersion: '1.1.0',
      interfaces: [
        { name: 'veth1a2b', mac: '6e:4f:2a:11:22:33' },
        { name: 'eth0', mac: '0a:58:0a:f4:00:05', sandbox: '/var/run/netns/pod' },
        { name: 'net1', sandbox: '/var/run/netns/pod' },
        { name: 'net1-peer' },
        { name: 'net2', sandbox: '/var/run/netns/pod', mtu: 9000 },
      ],
      ips: [
        { interface: 1, address: '10.244.0.5/24', gateway: '10.244.0.1' },
        { interface: 1, address: 'fd00:10:244::5/64', gateway: 'fd00:10:244::1' },
        { address: '192.168.50.7/24' },
        { interface: 2, address: '172.16.0.9/24' },
        { address: '172.17.0.9/24' },
        { interface: 4, address: '172.18.0.9/24', gateway: '172.18.0.1' },
      ],
      routes: [
        { dst: '0.0.0.0/0', gw: '10.244.0.1' },
        { dst: '::/0', gw: 'fd00:10:244::1' },
        { dst: '192.168.0.0/16', gw: '192.168.50.1' },
        { dst: '172.20.0.0/16', gw: '172.18.0.1', table: 100 },
      ],
      dns: {
        nameservers: ['10.96.0.10', '192.168.50.53'],
        domain: 'storage.local',
        search: ['default.svc.cluster.local', 'svc.cluster.local', 'storage.local'],
        options: ['ndots:5', 'edns0'],
      },
    });
  });

  it('shifts each result’s interface indices by the interfaces of all earlier results', () => {
    const merged = mergeResults([cluster, noInterfaces, third], '1.1.0');
    for (const ip of merged.ips ?? []) {
      if (ip.interface === undefined) continue;
      const iface = merged.interfaces![ip.interface]!;
      const expectedName = ip.address.startsWith('10.') || ip.address.startsWith('fd00') ? 'eth0' : ip.address.startsWith('172.16.') ? 'net1' : 'net2';
      expect(iface.name).toBe(expectedName);
    }
  });

  it('keeps an IP without an interface index without one, leaving no undefined key', () => {
    const merged = mergeResults([cluster, noInterfaces, third], '1.1.0');
    const indexless = merged.ips!.filter((ip) => !('interface' in ip)).map((ip) => ip.address);
    expect(indexless).toEqual(['192.168.50.7/24', '172.17.0.9/24']);
    expect(JSON.parse(JSON.stringify(merged))).toStrictEqual(merged);
  });

  it('uses offsets from results before an interface-less result too', () => {
    const merged = mergeResults([noInterfaces, cluster], '1.1.0');
    expect(merged.ips!.map((ip) => ip.interface)).toEqual([undefined, 1, 1]);
  });

  it('lists a route shared by several results once, at its first position', () => {
    const merged = mergeResults([cluster, third], '1.1.0');
    expect(merged.routes!.filter((r) => r.dst === '0.0.0.0/0')).toStrictEqual([{ dst: '0.0.0.0/0', gw: '10.244.0.1' }]);
    expect(merged.routes![0]).toStrictEqual({ dst: '0.0.0.0/0', gw: '10.244.0.1' });
  });

  it('dedups identical routes within one result as well', () => {
    const r: Result = { cniVersion: '1.1.0', routes: [{ dst: '10.0.0.0/8' }, { dst: '10.0.0.0/8' }] };
    expect(mergeResults([r], '1.1.0').routes).toStrictEqual([{ dst: '10.0.0.0/8' }]);
  });

  it('keeps routes that differ in gw or any other field', () => {
    const routes = [
      { dst: '10.0.0.0/8' },
      { dst: '10.0.0.0/8', gw: '10.0.0.1' },
      { dst: '10.0.0.0/8', gw: '10.0.0.2' },
      { dst: '10.0.0.0/8', gw: '10.0.0.1', mtu: 1400 },
      { dst: '10.0.0.0/8', gw: '10.0.0.1', advmss: 1360 },
      { dst: '10.0.0.0/8', gw: '10.0.0.1', priority: 5 },
      { dst: '10.0.0.0/8', gw: '10.0.0.1', table: 100 },
      { dst: '10.0.0.0/8', gw: '10.0.0.1', table: 0 },
      { dst: '10.0.0.0/8', gw: '10.0.0.1', scope: 253 },
    ];
    const merged = mergeResults(
      [
        { cniVersion: '1.1.0', routes },
        { cniVersion: '1.1.0', routes: structuredClone(routes) },
      ],
      '1.1.0',
    );
    expect(merged.routes).toStrictEqual(routes);
  });

  it('treats a route field that is undefined like an absent one when deduplicating', () => {
    const merged = mergeResults(
      [
        { cniVersion: '1.1.0', routes: [{ dst: '10.0.0.0/8', gw: '10.0.0.1' }] },
        { cniVersion: '1.1.0', routes: [{ dst: '10.0.0.0/8', gw: '10.0.0.1', table: undefined, mtu: undefined }] },
      ],
      '1.1.0',
    );
    expect(merged.routes).toStrictEqual([{ dst: '10.0.0.0/8', gw: '10.0.0.1' }]);
  });

  it('unions nameservers, search and options in first-seen order and takes the first domain', () => {
    const merged = mergeResults(
      [
        { cniVersion: '1.1.0', dns: { nameservers: ['a', 'b'], search: ['x'] } },
        { cniVersion: '1.1.0', dns: { nameservers: ['c', 'a'], domain: 'first.local', options: ['o1'] } },
        { cniVersion: '1.1.0', dns: { nameservers: ['b', 'd'], domain: 'second.local', search: ['y', 'x'], options: ['o1', 'o2'] } },
      ],
      '1.1.0',
    );
    expect(merged.dns).toStrictEqual({
      nameservers: ['a', 'b', 'c', 'd'],
      domain: 'first.local',
      search: ['x', 'y'],
      options: ['o1', 'o2'],
    });
  });

  it('skips an empty domain when choosing the first one set', () => {
    const merged = mergeResults(
      [
        { cniVersion: '1.1.0', dns: { domain: '' } },
        { cniVersion: '1.1.0', dns: { domain: 'set.local' } },
      ],
      '1.1.0',
    );
    expect(merged.dns).toStrictEqual({ domain: 'set.local' });
  });

  it('omits dns when no result had any DNS settings', () => {
    const merged = mergeResults(
      [
        { cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }] },
        { cniVersion: '1.1.0', dns: {} },
      ],
      '1.1.0',
    );
    expect(merged).toStrictEqual({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }] });
  });

  it('omits empty interfaces, ips and routes', () => {
    expect(
      mergeResults([{ cniVersion: '1.1.0', interfaces: [], ips: [], routes: [] }, { cniVersion: '1.1.0' }], '1.1.0'),
    ).toStrictEqual({ cniVersion: '1.1.0' });
  });

  it('uses the requested cniVersion, not those of the inputs', () => {
    expect(mergeResults([noInterfaces], '1.1.0').cniVersion).toBe('1.1.0');
  });

  it('neither mutates nor aliases its inputs', () => {
    const inputs = structuredClone([cluster, noInterfaces, third]);
    const merged = mergeResults(inputs, '1.1.0');
    expect(inputs).toStrictEqual([cluster, noInterfaces, third]);
    merged.interfaces![0]!.name = 'changed';
    merged.ips![3]!.address = '192.0.2.1/32';
    merged.routes![0]!.gw = '192.0.2.1';
    merged.dns!.nameservers!.push('192.0.2.53');
    expect(inputs).toStrictEqual([cluster, noInterfaces, third]);
  });
});
