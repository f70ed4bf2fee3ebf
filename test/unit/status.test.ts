import { describe, expect, it } from 'vitest';
import type { Result } from '../../src/cni/result';
import { statusEntries } from '../../src/result/status';

// k8s.v1.cni.cncf.io/network-status entries built from one attachment's CNI result (NAD spec §5),
// with Multus's field names and key order.

const NS = '/var/run/netns/pod';

// A bridge-style cluster network: bridge and host veth on the host, eth0 in the pod, dual stack.
const bridgeResult: Result = {
  cniVersion: '1.1.0',
  interfaces: [
    { name: 'cni0', mac: '0a:00:00:00:00:01' },
    { name: 'veth1234', mac: '0a:00:00:00:00:02' },
    { name: 'eth0', mac: '0a:00:00:00:00:03', mtu: 1450, sandbox: NS },
  ],
  ips: [
    { interface: 2, address: '10.250.160.5/24', gateway: '10.250.160.1' },
    { interface: 2, address: 'fd00:250::5/64', gateway: 'fd00:250::1' },
  ],
  routes: [
    { dst: '0.0.0.0/0', gw: '10.250.160.1' },
    { dst: '10.250.161.0/24', gw: '10.250.160.254' },
    { dst: '::/0', gw: 'fd00:250::1' },
  ],
  dns: { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] },
};

describe('statusEntries', () => {
  it('writes the exact Multus entry for a dual-stack cluster network, in Multus\'s key order', () => {
    const entries = statusEntries('podnet', 'eth0', bridgeResult, true);
    expect(JSON.stringify(entries)).toBe(
      '[{"name":"podnet","interface":"eth0","ips":["10.250.160.5","fd00:250::5"],"mac":"0a:00:00:00:00:03","mtu":1450,' +
        '"default":true,"dns":{"nameservers":["10.96.0.10"],"search":["svc.cluster.local"]},' +
        '"gateway":["10.250.160.1","fd00:250::1"]}]',
    );
  });

  it('orders every key as name, interface, ips, mac, mtu, default, dns, device-info, gateway', () => {
    const deviceInfo = { type: 'pci', version: '1.1.0', pci: { 'pci-address': '0000:03:00.1' } };
    const entries = statusEntries('kube-system/sriov', 'net1', bridgeResult, true, deviceInfo);
    expect(JSON.stringify(entries[0])).toBe(
      '{"name":"kube-system/sriov","interface":"eth0","ips":["10.250.160.5","fd00:250::5"],"mac":"0a:00:00:00:00:03","mtu":1450,' +
        '"default":true,"dns":{"nameservers":["10.96.0.10"],"search":["svc.cluster.local"]},' +
        '"device-info":{"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:03:00.1"}},' +
        '"gateway":["10.250.160.1","fd00:250::1"]}',
    );
  });

  it('leaves out the keys it has no value for (mac, mtu, default, gateway), keeping the order of the rest', () => {
    const result: Result = { cniVersion: '1.0.0', interfaces: [{ name: 'net1', sandbox: NS }], ips: [{ interface: 0, address: '10.250.161.5/24' }] };
    expect(JSON.stringify(statusEntries('ns/macnet', 'net1', result, false))).toBe(
      '[{"name":"ns/macnet","interface":"net1","ips":["10.250.161.5"],"dns":{}}]',
    );
  });

  it('writes one entry per sandbox interface, skipping host-side interfaces, in result order', () => {
    const result: Result = {
      cniVersion: '1.1.0',
      interfaces: [
        { name: 'net1', sandbox: NS },
        { name: 'net1-peer' },
        { name: 'net2', sandbox: NS, mtu: 9000 },
      ],
      ips: [{ interface: 0, address: '10.250.162.9/24' }, { interface: 2, address: '10.250.163.9/24' }],
    };
    const entries = statusEntries('ns/multi', 'net1', result, false);
    expect(entries.map((e) => [e.interface, e.ips, e.mtu])).toEqual([
      ['net1', ['10.250.162.9'], undefined],
      ['net2', ['10.250.163.9'], 9000],
    ]);
  });

  it('maps IPs to their entry by interface index, even when the index skips host interfaces', () => {
    const entries = statusEntries('podnet', 'eth0', {
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0', sandbox: NS }, { name: 'host0' }, { name: 'eth1', sandbox: NS }],
      ips: [{ interface: 2, address: '10.250.164.2/24' }, { interface: 0, address: '10.250.164.1/24' }, { interface: 2, address: 'fd00:250:164::2/64' }],
    }, false);
    expect(entries.map((e) => [e.interface, e.ips])).toEqual([
      ['eth0', ['10.250.164.1']],
      ['eth1', ['10.250.164.2', 'fd00:250:164::2']],
    ]);
  });

  it('prints IPs without their prefix length, IPv4 and IPv6 alike', () => {
    const [entry] = statusEntries('podnet', 'eth0', bridgeResult, false);
    expect(entry.ips).toEqual(['10.250.160.5', 'fd00:250::5']);
  });

  it('gives IPs without an interface index to the last sandbox interface', () => {
    const result: Result = {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'net1', sandbox: NS }, { name: 'net2', sandbox: NS }, { name: 'host-side' }],
      ips: [{ address: '10.250.165.7/24' }, { interface: 0, address: '10.250.165.8/24' }, { address: 'fd00:250:165::7/64' }],
    };
    const entries = statusEntries('ns/x', 'net1', result, false);
    expect(entries.map((e) => [e.interface, e.ips])).toEqual([
      ['net1', ['10.250.165.8']],
      ['net2', ['10.250.165.7', 'fd00:250:165::7']],
    ]);
  });

  it('leaves "ips" out of an entry whose interface got none', () => {
    const entries = statusEntries('ns/x', 'net1', {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'net1', sandbox: NS }, { name: 'net2', sandbox: NS }],
      ips: [{ interface: 1, address: '10.250.166.2/24' }],
    }, false);
    expect(entries[0]).not.toHaveProperty('ips');
    expect(entries[1].ips).toEqual(['10.250.166.2']);
  });

  it('takes "gateway" only from 0.0.0.0/0 and ::/0 routes that have a gw, and puts it on every entry', () => {
    const result: Result = {
      cniVersion: '1.1.0',
      interfaces: [{ name: 'net1', sandbox: NS }, { name: 'net2', sandbox: NS }],
      ips: [{ interface: 0, address: '10.250.167.2/24' }],
      routes: [
        { dst: '10.0.0.0/8', gw: '10.250.167.254' },
        { dst: '0.0.0.0/0' },
        { dst: '::/0', gw: 'fd00:250:167::1' },
        { dst: '0.0.0.0/0', gw: '10.250.167.1' },
        { dst: '::/64', gw: 'fd00:250:167::fe' },
      ],
    };
    const entries = statusEntries('ns/x', 'net1', result, false);
    expect(entries.map((e) => e.gateway)).toEqual([['fd00:250:167::1', '10.250.167.1'], ['fd00:250:167::1', '10.250.167.1']]);
  });

  it('counts every prefix-length-0 destination as a default route, however it is spelled', () => {
    const result: Result = {
      cniVersion: '1.1.0',
      interfaces: [{ name: 'net1', sandbox: NS }],
      routes: [
        { dst: '::0/0', gw: 'fd00:250:167::1' },
        { dst: '10.0.0.0/0', gw: '10.250.167.1' },
        { dst: '0:0:0:0:0:0:0:0/0', gw: 'fd00:250:167::2' },
        { dst: '0.0.0.0/1', gw: '10.250.167.254' },
      ],
    };
    const [entry] = statusEntries('ns/x', 'net1', result, false);
    expect(entry.gateway).toEqual(['fd00:250:167::1', '10.250.167.1', 'fd00:250:167::2']);
  });

  it('leaves "gateway" out when no default route has a gw', () => {
    const [entry] = statusEntries('ns/x', 'net1', { ...bridgeResult, routes: [{ dst: '10.250.0.0/16', gw: '10.250.160.1' }] }, false);
    expect(entry).not.toHaveProperty('gateway');
  });

  it('always writes "dns": {} when the result has none, and a copy of the result\'s dns when it has one', () => {
    const [none] = statusEntries('ns/x', 'net1', { cniVersion: '1.0.0', interfaces: [{ name: 'net1', sandbox: NS }] }, false);
    expect(none.dns).toStrictEqual({});
    const dns = { nameservers: ['10.250.168.53'], domain: 'example.test', search: ['example.test'], options: ['ndots:2'] };
    const [some] = statusEntries('ns/x', 'net1', { cniVersion: '1.0.0', interfaces: [{ name: 'net1', sandbox: NS }], dns }, false);
    expect(some.dns).toStrictEqual(dns);
    expect(JSON.stringify(some)).toBe('{"name":"ns/x","interface":"net1","dns":{"nameservers":["10.250.168.53"],"domain":"example.test","search":["example.test"],"options":["ndots:2"]}}');
  });

  it('never marks a secondary network "default", even with a gateway', () => {
    const entries = statusEntries('ns/x', 'net1', bridgeResult, false);
    expect(entries.some((e) => 'default' in e)).toBe(false);
  });

  it('marks "default" on the cluster network\'s interface of the first IP with a gateway, and only there', () => {
    const result: Result = {
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0', sandbox: NS }, { name: 'host' }, { name: 'eth1', sandbox: NS }, { name: 'eth2', sandbox: NS }],
      ips: [
        { interface: 0, address: '10.250.169.2/24' },
        { interface: 2, address: '10.250.170.2/24', gateway: '10.250.170.1' },
        { interface: 3, address: '10.250.171.2/24', gateway: '10.250.171.1' },
      ],
    };
    const entries = statusEntries('podnet', 'eth0', result, true);
    expect(entries.map((e) => [e.interface, e.default])).toEqual([['eth0', undefined], ['eth1', true], ['eth2', undefined]]);
  });

  it('marks the cluster network\'s first entry "default" when no IP has a gateway', () => {
    const result: Result = {
      cniVersion: '1.1.0',
      interfaces: [{ name: 'host' }, { name: 'eth0', sandbox: NS }, { name: 'eth1', sandbox: NS }],
      ips: [{ interface: 1, address: '10.250.172.2/24' }, { interface: 2, address: '10.250.172.3/24' }],
    };
    const entries = statusEntries('podnet', 'eth0', result, true);
    expect(entries.map((e) => [e.interface, e.default])).toEqual([['eth0', true], ['eth1', undefined]]);
  });

  it('writes a minimal entry named after the attachment\'s ifname when no interface is in the sandbox', () => {
    const result: Result = {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'vf-host', mac: '0a:00:00:00:00:09' }],
      ips: [{ interface: 0, address: '10.250.173.4/24', gateway: '10.250.173.1' }],
      routes: [{ dst: '0.0.0.0/0', gw: '10.250.173.1' }],
    };
    expect(JSON.stringify(statusEntries('ns/dpdk', 'net3', result, false))).toBe(
      '[{"name":"ns/dpdk","interface":"net3","ips":["10.250.173.4"],"dns":{},"gateway":["10.250.173.1"]}]',
    );
  });

  it('writes a minimal entry for a result without interfaces or IPs; on the cluster network it is "default"', () => {
    expect(JSON.stringify(statusEntries('ns/none', 'net1', { cniVersion: '1.0.0' }, false))).toBe('[{"name":"ns/none","interface":"net1","dns":{}}]');
    expect(JSON.stringify(statusEntries('podnet', 'eth0', { cniVersion: '1.0.0' }, true))).toBe('[{"name":"podnet","interface":"eth0","default":true,"dns":{}}]');
  });
});
