import { describe, expect, it } from 'vitest';
import { CniError } from '../../src/cni/errors';
import {
  DEFAULT_NETWORK_ANNOTATION,
  NETWORKS_ANNOTATION,
  parseDefaultNetworkAnnotation,
  parseNetworksAnnotation,
} from '../../src/selection/networks';
import { cniError } from '../helpers/unit';

// The pod's network selection annotations (NAD spec v1.3 §4.1), in both the comma and the JSON form.

/** Parses one JSON-form element (given as an object) in namespace "pods". */
function one(el: Record<string, unknown>) {
  const list = parseNetworksAnnotation(JSON.stringify([el]), 'pods');
  expect(list).toHaveLength(1);
  return list[0];
}

/** The error for one JSON-form element; checks code 7 and that the message quotes the element. */
function elementError(el: unknown): CniError {
  const err = cniError(() => parseNetworksAnnotation(JSON.stringify([el]), 'pods'));
  expect(err.code).toBe(7);
  expect(err.message).toContain(NETWORKS_ANNOTATION);
  expect(err.message).toContain(JSON.stringify(el));
  return err;
}

describe('parseNetworksAnnotation, comma form', () => {
  it('gives an empty list for an empty or blank annotation', () => {
    expect(parseNetworksAnnotation('', 'pods')).toEqual([]);
    expect(parseNetworksAnnotation('   ', 'pods')).toEqual([]);
  });

  it('takes a bare name in the pod\'s namespace', () => {
    expect(parseNetworksAnnotation('a', 'pods')).toStrictEqual([{ name: 'a', namespace: 'pods' }]);
  });

  it('takes "ns/name" as a network in another namespace', () => {
    expect(parseNetworksAnnotation('ns/b', 'pods')).toStrictEqual([{ name: 'b', namespace: 'ns' }]);
  });

  it('takes "name@ifname" as a requested interface name', () => {
    expect(parseNetworksAnnotation('c@net5', 'pods')).toStrictEqual([{ name: 'c', namespace: 'pods', interface: 'net5' }]);
  });

  it('takes "ns/name@ifname" with both namespace and interface', () => {
    expect(parseNetworksAnnotation('ns/c@data0', 'pods')).toStrictEqual([{ name: 'c', namespace: 'ns', interface: 'data0' }]);
  });

  it('keeps the order of a list, trims whitespace around items and skips empty items', () => {
    expect(parseNetworksAnnotation(' a ,, ns/b ,\tc@net5 , ', 'pods')).toStrictEqual([
      { name: 'a', namespace: 'pods' },
      { name: 'b', namespace: 'ns' },
      { name: 'c', namespace: 'pods', interface: 'net5' },
    ]);
  });

  it('allows the same network twice (two attachments to one NAD)', () => {
    expect(parseNetworksAnnotation('a,a', 'pods').map((s) => s.name)).toEqual(['a', 'a']);
  });

  it('refuses an item with more than one "/", code 7 quoting the item', () => {
    const err = cniError(() => parseNetworksAnnotation('a, x/y/z', 'pods'));
    expect(err.code).toBe(7);
    expect(err.message).toContain('"x/y/z"');
    expect(err.message).toContain('more than one "/"');
  });

  it.each([
    ['Upper', 'name "Upper"'],
    ['under_score', 'name "under_score"'],
    ['-lead', 'name "-lead"'],
    ['trail-', 'name "trail-"'],
    ['a'.repeat(254), `name "${'a'.repeat(254)}"`],
    ['a..b', 'name "a..b"'],
    ['.a', 'name ".a"'],
    ['a.', 'name "a."'],
    ['a.-b', 'name "a.-b"'],
    ['Bad/b', 'namespace "Bad"'],
    ['ns.x/b', 'namespace "ns.x"'],
    [`${'n'.repeat(64)}/b`, `namespace "${'n'.repeat(64)}"`],
    ['/b', 'namespace ""'],
    ['ns/', 'name ""'],
  ])('refuses the invalid DNS-1123 item %j, code 7 naming the bad part', (item, part) => {
    const err = cniError(() => parseNetworksAnnotation(item, 'pods'));
    expect(err.code).toBe(7);
    expect(err.message).toContain(JSON.stringify(item));
    expect(err.message).toContain(part);
    expect(err.message).toContain('DNS-1123');
  });

  it('accepts a 253-character name, the longest DNS-1123 subdomain', () => {
    const name = `a${'.b'.repeat(126)}`;
    expect(name.length).toBe(253);
    expect(parseNetworksAnnotation(name, 'pods')[0].name).toBe(name);
  });

  it('accepts NAD names with dots (DNS-1123 subdomains, as Multus does), in either form and in the default-network annotation', () => {
    expect(parseNetworksAnnotation('macvlan.v1, other/sriov.net-a.v2@data', 'pods')).toStrictEqual([
      { name: 'macvlan.v1', namespace: 'pods' },
      { name: 'sriov.net-a.v2', namespace: 'other', interface: 'data' },
    ]);
    expect(parseNetworksAnnotation('[{"name":"macvlan.v1"}]', 'pods')).toStrictEqual([{ name: 'macvlan.v1', namespace: 'pods' }]);
    expect(parseDefaultNetworkAnnotation('kube-system/calico.v3', 'x')).toStrictEqual({ name: 'calico.v3', namespace: 'kube-system' });
  });

  it.each([
    ['a@abcdefghijklmnop', 'abcdefghijklmnop'],
    ['a@x/y', 'x/y'],
    ['a@', ''],
    ['a@has:colon', 'has:colon'],
  ])('refuses the bad interface name in %j, code 7 quoting item and interface', (item, iface) => {
    const err = cniError(() => parseNetworksAnnotation(item, 'pods'));
    expect(err.code).toBe(7);
    expect(err.message).toContain(JSON.stringify(item));
    expect(err.message).toContain(`interface ${JSON.stringify(iface)}`);
  });

  it('accepts a 15-character interface name, the longest Linux allows', () => {
    expect(parseNetworksAnnotation('a@abcdefghijklmno', 'pods')[0].interface).toBe('abcdefghijklmno');
  });
});

describe('parseNetworksAnnotation, JSON form', () => {
  it('takes a name alone, in the pod\'s namespace', () => {
    expect(parseNetworksAnnotation('[{"name":"a"}]', 'pods')).toStrictEqual([{ name: 'a', namespace: 'pods' }]);
  });

  it('keeps the order of the list and accepts surrounding whitespace and newlines', () => {
    const list = parseNetworksAnnotation('\n  [\n {"name":"a"},\n {"name":"b","namespace":"ns"}\n ]\n', 'pods');
    expect(list).toStrictEqual([{ name: 'a', namespace: 'pods' }, { name: 'b', namespace: 'ns' }]);
  });

  it('gives an empty list for "[]"', () => {
    expect(parseNetworksAnnotation('[]', 'pods')).toEqual([]);
  });

  it('uses "namespace" when given, and the pod\'s namespace when it is absent or empty', () => {
    expect(one({ name: 'a', namespace: 'other' }).namespace).toBe('other');
    expect(one({ name: 'a', namespace: '' }).namespace).toBe('pods');
    expect(one({ name: 'a' }).namespace).toBe('pods');
  });

  it('takes "interface", and "interfaceRequest" as its alias (Multus)', () => {
    expect(one({ name: 'a', interface: 'data0' }).interface).toBe('data0');
    expect(one({ name: 'a', interfaceRequest: 'data1' }).interface).toBe('data1');
    expect(one({ name: 'a', interface: '' })).toStrictEqual({ name: 'a', namespace: 'pods' });
  });

  it('prefers "interface" over "interfaceRequest" when both are given', () => {
    expect(one({ name: 'a', interface: 'data0', interfaceRequest: 'data1' }).interface).toBe('data0');
  });

  it('takes every key of a full element into the selection', () => {
    const sel = one({
      name: 'full',
      namespace: 'ns',
      interface: 'net7',
      ips: ['10.250.160.5/24', 'fd00:250::5/64'],
      mac: '02:00:00:00:00:01',
      'infiniband-guid': 'c2:11:22:33:44:55:66:77',
      'default-route': ['10.250.160.1', 'fd00:250::1'],
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'TCP', hostIP: '10.250.160.9' }],
      bandwidth: { ingressRate: 1000, ingressBurst: 2000, egressRate: 3000, egressBurst: 4000 },
      'cni-args': { foo: 'bar', n: 1 },
      deviceID: '0000:03:00.1',
    });
    expect(sel).toStrictEqual({
      name: 'full',
      namespace: 'ns',
      interface: 'net7',
      ips: ['10.250.160.5/24', 'fd00:250::5/64'],
      mac: '02:00:00:00:00:01',
      infinibandGUID: 'c2:11:22:33:44:55:66:77',
      defaultRoute: ['10.250.160.1', 'fd00:250::1'],
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '10.250.160.9' }],
      bandwidth: { ingressRate: 1000, ingressBurst: 2000, egressRate: 3000, egressBurst: 4000 },
      cniArgs: { foo: 'bar', n: 1 },
      deviceID: '0000:03:00.1',
    });
  });

  it('accepts plain IPv4 and IPv6 addresses and CIDRs in "ips"', () => {
    const ips = ['10.250.160.5', '10.250.160.6/24', 'fd00:250::5', 'fd00:250::6/64', '::ffff:10.250.160.7'];
    expect(one({ name: 'a', ips }).ips).toEqual(ips);
  });

  it.each([
    [['10.250.160.256']],
    [['10.250.160.5/33']],
    [['fd00::1/129']],
    [['010.250.160.5']],
    [['fe80::1%eth0']],
    [['not-an-ip']],
    [[]],
    [[5]],
    ['10.250.160.5'],
  ])('refuses "ips": %j, code 7 quoting the element', (ips) => {
    const err = elementError({ name: 'a', ips });
    expect(err.message).toContain('"ips"');
  });

  it('accepts a MAC with ":" or "-" separators', () => {
    expect(one({ name: 'a', mac: '02:00:00:aa:BB:01' }).mac).toBe('02:00:00:aa:BB:01');
    expect(one({ name: 'a', mac: '02-00-00-aa-bb-01' }).mac).toBe('02-00-00-aa-bb-01');
  });

  it.each(['02:00:00:00:00', '02:00:00:00:00:00:01', 'zz:00:00:00:00:01', ''])(
    'refuses the "mac" %j, code 7 quoting the element', (mac) => {
      const err = elementError({ name: 'a', mac });
      expect(err.message).toContain('"mac"');
    },
  );

  it('accepts an 8-byte and a 20-byte "infiniband-guid" and refuses a 6-byte one', () => {
    expect(one({ name: 'a', 'infiniband-guid': '00:11:22:33:44:55:66:77' }).infinibandGUID).toBe('00:11:22:33:44:55:66:77');
    const twenty = Array.from({ length: 20 }, (_, i) => i.toString(16).padStart(2, '0')).join(':');
    expect(one({ name: 'a', 'infiniband-guid': twenty }).infinibandGUID).toBe(twenty);
    expect(elementError({ name: 'a', 'infiniband-guid': '00:11:22:33:44:55' }).message).toContain('"infiniband-guid"');
  });

  it('refuses a "default-route" that is not a list of IP addresses, naming the bad gateway', () => {
    expect(elementError({ name: 'a', 'default-route': ['10.250.160.0/24'] }).message).toContain('"10.250.160.0/24"');
    expect(elementError({ name: 'a', 'default-route': '10.250.160.1' }).message).toContain('"default-route"');
  });

  it('lowercases the portMappings protocol and defaults it to tcp', () => {
    const sel = one({
      name: 'a',
      portMappings: [
        { hostPort: 1, containerPort: 65535, protocol: 'UDP' },
        { hostPort: 65535, containerPort: 1, protocol: 'sctp' },
        { hostPort: 8080, containerPort: 80 },
      ],
    });
    expect(sel.portMappings).toStrictEqual([
      { hostPort: 1, containerPort: 65535, protocol: 'udp' },
      { hostPort: 65535, containerPort: 1, protocol: 'sctp' },
      { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
    ]);
  });

  it.each([
    [{ hostPort: 0, containerPort: 80 }],
    [{ hostPort: 65536, containerPort: 80 }],
    [{ hostPort: 8080, containerPort: 0 }],
    [{ hostPort: 8080, containerPort: 70000 }],
    [{ hostPort: 80.5, containerPort: 80 }],
    [{ hostPort: '8080', containerPort: 80 }],
    [{ containerPort: 80 }],
    [null],
  ])('refuses the portMappings entry %j (ports must be integers in 1-65535), code 7', (pm) => {
    const err = elementError({ name: 'a', portMappings: [pm] });
    expect(err.message).toContain('1-65535');
  });

  it('refuses a portMappings protocol other than TCP, UDP or SCTP, naming it', () => {
    const err = elementError({ name: 'a', portMappings: [{ hostPort: 1, containerPort: 2, protocol: 'icmp' }] });
    expect(err.message).toContain('"icmp"');
  });

  it('refuses a portMappings hostIP that is not an IP and a portMappings that is not a list', () => {
    expect(elementError({ name: 'a', portMappings: [{ hostPort: 1, containerPort: 2, hostIP: 'host' }] }).message).toContain('"host"');
    expect(elementError({ name: 'a', portMappings: { hostPort: 1, containerPort: 2 } }).message).toContain('"portMappings" must be a list');
  });

  it('accepts bandwidth with a rate and no burst', () => {
    expect(one({ name: 'a', bandwidth: { egressRate: 10 } }).bandwidth).toStrictEqual({ egressRate: 10 });
  });

  it.each([
    [{ ingressBurst: 10 }, 'ingressBurst needs ingressRate'],
    [{ egressBurst: 10, ingressRate: 5 }, 'egressBurst needs egressRate'],
    [{ ingressRate: 0 }, 'ingressRate must be a positive integer'],
    [{ egressRate: -1 }, 'egressRate must be a positive integer'],
    [{ ingressRate: 1.5 }, 'ingressRate must be a positive integer'],
    [{ ingressRate: '100' }, 'ingressRate must be a positive integer'],
    [{ rate: 1 }, 'unknown key "rate"'],
  ])('refuses bandwidth %j: %s', (bandwidth, why) => {
    expect(elementError({ name: 'a', bandwidth }).message).toContain(why);
  });

  it('refuses a bandwidth that is not an object', () => {
    expect(elementError({ name: 'a', bandwidth: [1] }).message).toContain('"bandwidth" must be an object');
  });

  it('takes "cni-args" as an object, ignores a null one and refuses a list or a string', () => {
    expect(one({ name: 'a', 'cni-args': { x: [1, 2] } }).cniArgs).toStrictEqual({ x: [1, 2] });
    expect(one({ name: 'a', 'cni-args': null })).toStrictEqual({ name: 'a', namespace: 'pods' });
    expect(elementError({ name: 'a', 'cni-args': ['x'] }).message).toContain('"cni-args" must be an object');
    expect(elementError({ name: 'a', 'cni-args': 'x=y' }).message).toContain('"cni-args" must be an object');
  });

  it('takes "ipam-claim-reference" as a name', () => {
    expect(one({ name: 'a', 'ipam-claim-reference': 'claim-1' }).ipamClaimReference).toBe('claim-1');
    expect(elementError({ name: 'a', 'ipam-claim-reference': '' }).message).toContain('"ipam-claim-reference"');
  });

  it('refuses "ips" together with "ipam-claim-reference", code 7', () => {
    const err = elementError({ name: 'a', ips: ['10.250.160.5/24'], 'ipam-claim-reference': 'claim-1' });
    expect(err.message).toContain('mutually exclusive');
  });

  it('takes "deviceID" as a string and refuses a number', () => {
    expect(one({ name: 'a', deviceID: '0000:03:00.1' }).deviceID).toBe('0000:03:00.1');
    expect(elementError({ name: 'a', deviceID: 3 }).message).toContain('"deviceID"');
  });

  it.each([
    [{}, '"name" is required'],
    [{ name: '' }, '"name" is required'],
    [{ name: 5 }, '"name" is required'],
    [{ name: 'Bad' }, 'name "Bad"'],
    [{ name: 'a', namespace: 'Bad_NS' }, 'namespace "Bad_NS"'],
    [{ name: 'a', namespace: 7 }, '"namespace" must be a string'],
    [{ name: 'a', interface: 'abcdefghijklmnop' }, 'interface "abcdefghijklmnop"'],
    [{ name: 'a', interface: 'a/b' }, 'interface "a/b"'],
    [{ name: 'a', interfaceRequest: 'x'.repeat(16) }, `interface "${'x'.repeat(16)}"`],
    ['a', 'must be an object'],
    [['a'], 'must be an object'],
    [null, 'must be an object'],
  ])('refuses the element %j, code 7 quoting it: %s', (el, why) => {
    expect(elementError(el).message).toContain(why);
  });

  it('quotes only the offending element of a longer list', () => {
    const err = cniError(() => parseNetworksAnnotation('[{"name":"good"},{"name":"bad","mac":"nope"}]', 'pods'));
    expect(err.message).toContain('{"name":"bad","mac":"nope"}');
    expect(err.message).not.toContain('"good"');
  });

  it('refuses a JSON object instead of a list, code 7', () => {
    const err = cniError(() => parseNetworksAnnotation('{"name":"a"}', 'pods'));
    expect(err.code).toBe(7);
    expect(err.message).toContain(NETWORKS_ANNOTATION);
    expect(err.message).toContain('must be a list');
  });

  it('refuses invalid JSON, code 7 naming the annotation', () => {
    const err = cniError(() => parseNetworksAnnotation('[{"name":"a"', 'pods'));
    expect(err.code).toBe(7);
    expect(err.message).toContain(NETWORKS_ANNOTATION);
    expect(err.message).toContain('not valid JSON');
  });
});

describe('parseDefaultNetworkAnnotation', () => {
  it('takes a bare name in the fallback namespace', () => {
    expect(parseDefaultNetworkAnnotation('calico', 'kube-system')).toStrictEqual({ name: 'calico', namespace: 'kube-system' });
  });

  it('takes "ns/name"', () => {
    expect(parseDefaultNetworkAnnotation('net/cilium', 'kube-system')).toStrictEqual({ name: 'cilium', namespace: 'net' });
  });

  it('takes a one-element JSON list, defaulting its namespace to the fallback', () => {
    expect(parseDefaultNetworkAnnotation('[{"name":"calico"}]', 'kube-system')).toStrictEqual({ name: 'calico', namespace: 'kube-system' });
    expect(parseDefaultNetworkAnnotation('[{"name":"calico","namespace":"x"}]', 'kube-system').namespace).toBe('x');
  });

  it.each(['a,b', '[{"name":"a"},{"name":"b"}]', '', '[]'])('refuses %j: exactly one network, code 7 naming the annotation', (value) => {
    const err = cniError(() => parseDefaultNetworkAnnotation(value, 'kube-system'));
    expect(err.code).toBe(7);
    expect(err.message).toContain(DEFAULT_NETWORK_ANNOTATION);
    expect(err.message).toContain('exactly one');
  });

  it.each([
    ['a bad comma-form name', 'Bad', '"Bad"'],
    ['a bad comma-form interface', 'calico@bad/if', '"calico@bad/if"'],
    ['a bad JSON-form element', '[{"name":"calico","mac":"nope"}]', '{"name":"calico","mac":"nope"}'],
  ])('refuses %s with code 7 naming the default-network annotation, not the networks one, and quoting the element', (_what, value, quoted) => {
    const err = cniError(() => parseDefaultNetworkAnnotation(value, 'kube-system'));
    expect(err.code).toBe(7);
    expect(err.message).toContain(`invalid ${DEFAULT_NETWORK_ANNOTATION} element ${quoted}`);
    expect(err.message).not.toContain(NETWORKS_ANNOTATION);
  });

  it.each(['[{"name":', '{"name":"calico"}'])('refuses the JSON form %j naming the default-network annotation', (value) => {
    const err = cniError(() => parseDefaultNetworkAnnotation(value, 'kube-system'));
    expect(err.code).toBe(7);
    expect(err.message).toMatch(new RegExp(`^invalid ${DEFAULT_NETWORK_ANNOTATION.replace(/\./g, '\\.')}: `));
  });
});
