import { describe, it, expect } from 'vitest';
import { ErrorCode } from '../../src/cni/errors';
import { convertResult, parseResult, renderResult, type Result } from '../../src/cni/result';
import { cniError } from '../helpers/unit';

const VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
type Version = (typeof VERSIONS)[number];
type Level = 'legacy' | 'v04' | 'v1';

const LEVEL: Record<Version, Level> = {
  '0.1.0': 'legacy',
  '0.2.0': 'legacy',
  '0.3.0': 'v04',
  '0.3.1': 'v04',
  '0.4.0': 'v04',
  '1.0.0': 'v1',
  '1.1.0': 'v1',
};

const DNS = {
  nameservers: ['10.96.0.10', 'fd00:10:96::a'],
  domain: 'cluster.local',
  search: ['default.svc.cluster.local', 'svc.cluster.local'],
  options: ['ndots:5'],
};

// Dual-stack bridge-style result: bridge, host veth, pod eth0 (index 2) with two IPv4s and one IPv6.
const V1_BODY = {
  interfaces: [
    { name: 'cni0', mac: '0a:58:0a:f4:00:01' },
    { name: 'veth1a2b3c4d', mac: '6e:4f:2a:11:22:33', mtu: 1450 },
    {
      name: 'eth0',
      mac: '0a:58:0a:f4:00:05',
      mtu: 1450,
      sandbox: '/var/run/netns/cni-1234',
      socketPath: '/run/vhost-user/eth0.sock',
      pciID: '0000:00:1f.6',
    },
  ],
  ips: [
    { interface: 2, address: '10.244.0.5/24', gateway: '10.244.0.1' },
    { interface: 2, address: 'fd00:10:244::5/64', gateway: 'fd00:10:244::1' },
    { interface: 2, address: '10.244.0.6/24' },
  ],
  routes: [
    { dst: '0.0.0.0/0', gw: '10.244.0.1', mtu: 1400, advmss: 1360, priority: 100, table: 254, scope: 0 },
    { dst: '::/0', gw: 'fd00:10:244::1', priority: 1024 },
    { dst: '10.96.0.0/12' },
  ],
  dns: DNS,
};

const V04_BODY = {
  interfaces: [
    { name: 'cni0', mac: '0a:58:0a:f4:00:01' },
    { name: 'veth1a2b3c4d', mac: '6e:4f:2a:11:22:33' },
    { name: 'eth0', mac: '0a:58:0a:f4:00:05', sandbox: '/var/run/netns/cni-1234' },
  ],
  ips: [
    { version: '4', interface: 2, address: '10.244.0.5/24', gateway: '10.244.0.1' },
    { version: '6', interface: 2, address: 'fd00:10:244::5/64', gateway: 'fd00:10:244::1' },
    { version: '4', interface: 2, address: '10.244.0.6/24' },
  ],
  routes: [{ dst: '0.0.0.0/0', gw: '10.244.0.1' }, { dst: '::/0', gw: 'fd00:10:244::1' }, { dst: '10.96.0.0/12' }],
  dns: DNS,
};

const LEGACY_BODY = {
  ip4: {
    ip: '10.244.0.5/24',
    gateway: '10.244.0.1',
    routes: [{ dst: '0.0.0.0/0', gw: '10.244.0.1' }, { dst: '10.96.0.0/12' }],
  },
  ip6: {
    ip: 'fd00:10:244::5/64',
    gateway: 'fd00:10:244::1',
    routes: [{ dst: '::/0', gw: 'fd00:10:244::1' }],
  },
  dns: DNS,
};

const BODY: Record<Level, object> = { legacy: LEGACY_BODY, v04: V04_BODY, v1: V1_BODY };

/** The dual-stack fixture as a plugin of `version` would print it. */
function fixture(version: Version): Record<string, unknown> {
  return structuredClone({ cniVersion: version, ...BODY[LEVEL[version]] });
}

// What survives of each source layout, rendered in each target layout (cniVersion added per pair).
const EXPECTED: Record<Level, Record<Level, object>> = {
  v1: { v1: V1_BODY, v04: V04_BODY, legacy: LEGACY_BODY },
  v04: {
    v1: {
      interfaces: V04_BODY.interfaces,
      ips: [
        { interface: 2, address: '10.244.0.5/24', gateway: '10.244.0.1' },
        { interface: 2, address: 'fd00:10:244::5/64', gateway: 'fd00:10:244::1' },
        { interface: 2, address: '10.244.0.6/24' },
      ],
      routes: V04_BODY.routes,
      dns: DNS,
    },
    v04: V04_BODY,
    legacy: LEGACY_BODY,
  },
  legacy: {
    v1: {
      ips: [
        { address: '10.244.0.5/24', gateway: '10.244.0.1' },
        { address: 'fd00:10:244::5/64', gateway: 'fd00:10:244::1' },
      ],
      routes: [{ dst: '0.0.0.0/0', gw: '10.244.0.1' }, { dst: '10.96.0.0/12' }, { dst: '::/0', gw: 'fd00:10:244::1' }],
      dns: DNS,
    },
    v04: {
      ips: [
        { version: '4', address: '10.244.0.5/24', gateway: '10.244.0.1' },
        { version: '6', address: 'fd00:10:244::5/64', gateway: 'fd00:10:244::1' },
      ],
      routes: [{ dst: '0.0.0.0/0', gw: '10.244.0.1' }, { dst: '10.96.0.0/12' }, { dst: '::/0', gw: 'fd00:10:244::1' }],
      dns: DNS,
    },
    legacy: LEGACY_BODY,
  },
};

const PAIRS = VERSIONS.flatMap((from) => VERSIONS.map((to) => [from, to] as const));

describe('convertResult across every pair of supported versions', () => {
  it('covers all 49 (from, to) pairs', () => {
    expect(PAIRS).toHaveLength(49);
  });

  it.each(PAIRS)('converts a dual-stack %s result to the exact %s shape', (from, to) => {
    const out = convertResult(fixture(from), '', to);
    expect(out).toStrictEqual({ cniVersion: to, ...EXPECTED[LEVEL[from]][LEVEL[to]] });
  });

  it.each(PAIRS)('labels the %s → %s output with the target version only', (from, to) => {
    const out = convertResult(fixture(from), '', to);
    expect(out.cniVersion).toBe(to);
    if (LEVEL[to] === 'v04') {
      for (const ip of out.ips as { version: string; address: string }[]) {
        expect(ip.version).toBe(ip.address.includes(':') ? '6' : '4');
      }
    } else {
      expect(JSON.stringify(out)).not.toContain('"version"');
    }
  });

  it.each(PAIRS)('uses the right top-level layout for %s → %s', (from, to) => {
    const out = convertResult(fixture(from), '', to);
    if (LEVEL[to] === 'legacy') {
      expect(Object.keys(out)).toEqual(['cniVersion', 'ip4', 'ip6', 'dns']);
      expect((out.ip4 as { ip: string }).ip).toBe('10.244.0.5/24');
      expect((out.ip6 as { ip: string }).ip).toBe('fd00:10:244::5/64');
    } else {
      expect(out).not.toHaveProperty('ip4');
      expect(out).not.toHaveProperty('ip6');
      const hasInterfaces = LEVEL[from] !== 'legacy';
      expect(Object.keys(out)).toEqual(
        hasInterfaces ? ['cniVersion', 'interfaces', 'ips', 'routes', 'dns'] : ['cniVersion', 'ips', 'routes', 'dns'],
      );
    }
  });

  it.each(PAIRS)('preserves interface indices for %s → %s when both sides have them', (from, to) => {
    const out = convertResult(fixture(from), '', to);
    if (LEVEL[to] === 'legacy') return;
    const indices = (out.ips as { interface?: number }[]).map((ip) => ip.interface);
    if (LEVEL[from] === 'legacy') expect(indices).toEqual([undefined, undefined]);
    else expect(indices).toEqual([2, 2, 2]);
    for (const ip of out.ips as object[]) {
      if (LEVEL[from] === 'legacy') expect(ip).not.toHaveProperty('interface');
    }
  });

  it.each(PAIRS)('keeps 1.1-only fields for %s → %s only when both sides are 1.x', (from, to) => {
    const json = JSON.stringify(convertResult(fixture(from), '', to));
    const newFields = ['"mtu"', '"advmss"', '"priority"', '"table"', '"scope"', '"socketPath"', '"pciID"'];
    for (const field of newFields) {
      if (LEVEL[from] === 'v1' && LEVEL[to] === 'v1') expect(json).toContain(field);
      else expect(json).not.toContain(field);
    }
  });

  it.each(PAIRS)('never prints undefined or null values for %s → %s', (from, to) => {
    const out = convertResult(fixture(from), '', to);
    expect(JSON.parse(JSON.stringify(out))).toStrictEqual(out);
    expect(JSON.stringify(out)).not.toContain('null');
  });
});

describe('parseResult', () => {
  it('parses a 1.1.0 result into the same canonical object', () => {
    expect(parseResult(fixture('1.1.0'), '')).toStrictEqual({ cniVersion: '1.1.0', ...V1_BODY });
  });

  it('keeps 1.1 fields in a 1.0.0 result, since libcni decodes 1.0 and 1.1 with one struct', () => {
    expect(parseResult(fixture('1.0.0'), '')).toStrictEqual({ cniVersion: '1.0.0', ...V1_BODY });
  });

  it('drops the per-IP version of a 0.4.0 result and keeps the source version', () => {
    expect(parseResult(fixture('0.4.0'), '')).toStrictEqual({ cniVersion: '0.4.0', ...EXPECTED.v04.v1 });
  });

  it('turns 0.2.0 ip4/ip6 into index-less ips and concatenates routes v4 first', () => {
    expect(parseResult(fixture('0.2.0'), '')).toStrictEqual({ cniVersion: '0.2.0', ...EXPECTED.legacy.v1 });
  });

  it('drops fields a version does not define (libcni decodes into typed structs)', () => {
    const raw = {
      cniVersion: '0.4.0',
      extra: true,
      interfaces: [{ name: 'eth0', mtu: 9000, pciID: '0000:00:1f.6', flags: 3 }],
      ips: [{ version: '4', interface: 0, address: '10.0.0.2/24', label: 'x' }],
      routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1', table: 100 }],
      dns: { nameservers: ['10.0.0.53'], foo: 'bar' },
    };
    expect(parseResult(raw, '')).toStrictEqual({
      cniVersion: '0.4.0',
      interfaces: [{ name: 'eth0' }],
      ips: [{ interface: 0, address: '10.0.0.2/24' }],
      routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1' }],
      dns: { nameservers: ['10.0.0.53'] },
    });
    expect(parseResult({ ...raw, cniVersion: '1.1.0' }, '')).toStrictEqual({
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0', mtu: 9000, pciID: '0000:00:1f.6' }],
      ips: [{ interface: 0, address: '10.0.0.2/24' }],
      routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1', table: 100 }],
      dns: { nameservers: ['10.0.0.53'] },
    });
  });

  it('treats null and empty optional fields as absent, as Go omitempty does', () => {
    const raw = {
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0', mac: '', mtu: 0, sandbox: null }],
      ips: [{ interface: null, address: '10.0.0.2/24', gateway: '' }],
      routes: [{ dst: '0.0.0.0/0', gw: null, mtu: 0, priority: 0, table: 0, scope: 0 }],
      dns: { nameservers: [], domain: '' },
    };
    expect(parseResult(raw, '')).toStrictEqual({
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0' }],
      ips: [{ address: '10.0.0.2/24' }],
      routes: [{ dst: '0.0.0.0/0', table: 0, scope: 0 }],
      dns: {},
    });
  });

  it('omits interfaces, ips, routes and dns when the result has none', () => {
    expect(parseResult({ cniVersion: '1.1.0', interfaces: [], ips: [], routes: [] }, '')).toStrictEqual({
      cniVersion: '1.1.0',
    });
  });

  it('does not alias or mutate the raw input', () => {
    const raw = fixture('1.1.0');
    const before = structuredClone(raw);
    const parsed = parseResult(raw, '');
    parsed.ips![0]!.address = '192.0.2.1/32';
    parsed.dns!.nameservers!.push('192.0.2.53');
    expect(raw).toStrictEqual(before);
  });

  describe('an empty result cniVersion', () => {
    it('uses the fallback version when cniVersion is the empty string', () => {
      const raw = { cniVersion: '', ips: [{ version: '4', address: '10.0.0.2/24' }] };
      expect(parseResult(raw, '0.4.0')).toStrictEqual({ cniVersion: '0.4.0', ips: [{ address: '10.0.0.2/24' }] });
    });

    it('uses the fallback version when cniVersion is missing, decoding the fallback layout', () => {
      const raw = { ip4: { ip: '10.0.0.2/24' } };
      expect(parseResult(raw, '0.2.0')).toStrictEqual({ cniVersion: '0.2.0', ips: [{ address: '10.0.0.2/24' }] });
    });

    it('takes an empty fallback version to mean 0.1.0', () => {
      const raw = { ip4: { ip: '10.0.0.2/24', gateway: '10.0.0.1' } };
      expect(parseResult(raw, '')).toStrictEqual({
        cniVersion: '0.1.0',
        ips: [{ address: '10.0.0.2/24', gateway: '10.0.0.1' }],
      });
    });

    it('prefers the result’s own non-empty version over the fallback', () => {
      expect(parseResult({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] }, '0.2.0').cniVersion).toBe('1.0.0');
    });

    it('converts a version-less result through the fallback to another version', () => {
      expect(convertResult({ ip4: { ip: '10.0.0.2/24' } }, '0.2.0', '1.1.0')).toStrictEqual({
        cniVersion: '1.1.0',
        ips: [{ address: '10.0.0.2/24' }],
      });
    });
  });

  describe('unknown versions fail with IncompatibleVersion (code 1)', () => {
    it.each(['0.5.0', '2.0.0', '1.1', 'v1.0.0', 'constructor'])('rejects a result labelled %s', (v) => {
      const err = cniError(() => parseResult({ cniVersion: v, ips: [] }, '1.1.0'));
      expect(err.code).toBe(ErrorCode.IncompatibleVersion);
      expect(err.message).toContain(v);
    });

    it('rejects an unknown fallback version when the result has none', () => {
      expect(cniError(() => parseResult({}, '9.9.9')).code).toBe(ErrorCode.IncompatibleVersion);
    });
  });

  describe('malformed results fail with DecodeFailure (code 6) naming the field', () => {
    const ok = { interface: 0, address: '10.0.0.2/24' };
    const iface = { name: 'eth0' };
    const cases: [string, unknown, string][] = [
      ['the result is null', null, 'result'],
      ['the result is an array', [], 'result'],
      ['the result is a string', '{"cniVersion":"1.1.0"}', 'result'],
      ['cniVersion is a number', { cniVersion: 1 }, 'cniVersion'],
      ['ips is not an array', { cniVersion: '1.1.0', ips: {} }, 'ips'],
      ['an ip is not an object', { cniVersion: '1.1.0', ips: ['10.0.0.2/24'] }, 'ips[0]'],
      ['an ip has no address', { cniVersion: '1.1.0', interfaces: [iface], ips: [ok, { interface: 0 }] }, 'ips[1].address'],
      ['an address is a number', { cniVersion: '1.1.0', interfaces: [iface], ips: [ok, { address: 42 }] }, 'ips[1].address'],
      ['an address has no prefix', { cniVersion: '1.1.0', ips: [{ address: '10.0.0.2' }] }, 'ips[0].address'],
      ['an address is not an IP', { cniVersion: '1.1.0', ips: [{ address: 'ten/8' }] }, 'ips[0].address'],
      ['an IPv4 prefix exceeds 32', { cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/33' }] }, 'ips[0].address'],
      ['an IPv6 address is malformed', { cniVersion: '1.1.0', ips: [{ address: 'fd00::1::2/64' }] }, 'ips[0].address'],
      ['a gateway is not an IP', { cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24', gateway: '10.0.0.1/24' }] }, 'ips[0].gateway'],
      ['an interface index is a string', { cniVersion: '1.1.0', interfaces: [iface], ips: [{ ...ok, interface: '0' }] }, 'ips[0].interface'],
      ['an interface index is fractional', { cniVersion: '1.1.0', interfaces: [iface], ips: [{ ...ok, interface: 0.5 }] }, 'ips[0].interface'],
      ['an interface index is past the end', { cniVersion: '1.1.0', interfaces: [iface], ips: [ok, { ...ok, interface: 1 }] }, 'ips[1].interface'],
      ['an interface index is negative', { cniVersion: '0.4.0', interfaces: [iface], ips: [{ ...ok, interface: -1 }] }, 'ips[0].interface'],
      ['an interface index exists without interfaces', { cniVersion: '0.3.1', ips: [ok] }, 'ips[0].interface'],
      ['interfaces is a string', { cniVersion: '1.1.0', interfaces: 'eth0' }, 'interfaces'],
      ['an interface has no name', { cniVersion: '1.1.0', interfaces: [iface, { mac: '0a:58:0a:f4:00:05' }] }, 'interfaces[1].name'],
      ['an interface mtu is a string', { cniVersion: '1.1.0', interfaces: [{ name: 'eth0', mtu: '1500' }] }, 'interfaces[0].mtu'],
      ['an interface mac is a number', { cniVersion: '0.4.0', interfaces: [{ name: 'eth0', mac: 1 }] }, 'interfaces[0].mac'],
      ['a 0.4.0 ip version is a number', { cniVersion: '0.4.0', ips: [{ version: 4, address: '10.0.0.2/24' }] }, 'ips[0].version'],
      ['routes is an object', { cniVersion: '1.1.0', routes: { dst: '0.0.0.0/0' } }, 'routes'],
      ['a route has no dst', { cniVersion: '1.1.0', routes: [{ gw: '10.0.0.1' }] }, 'routes[0].dst'],
      ['a route gw is malformed', { cniVersion: '0.3.0', routes: [{ dst: '0.0.0.0/0', gw: '10.0.0' }] }, 'routes[0].gw'],
      ['a route table is a string', { cniVersion: '1.1.0', routes: [{ dst: '0.0.0.0/0', table: 'main' }] }, 'routes[0].table'],
      ['dns is a string', { cniVersion: '1.1.0', dns: '10.96.0.10' }, 'dns'],
      ['dns nameservers is a string', { cniVersion: '1.1.0', dns: { nameservers: '10.96.0.10' } }, 'dns.nameservers'],
      ['a dns search entry is a number', { cniVersion: '1.1.0', dns: { search: ['a', 1] } }, 'dns.search[1]'],
      ['a 0.2.0 ip4 is a string', { cniVersion: '0.2.0', ip4: '10.0.0.2/24' }, 'ip4'],
      ['a 0.2.0 ip4 has no ip', { cniVersion: '0.2.0', ip4: { gateway: '10.0.0.1' } }, 'ip4.ip'],
      ['a 0.1.0 ip6 gateway is malformed', { cniVersion: '0.1.0', ip6: { ip: 'fd00::2/64', gateway: 'fd00:::1' } }, 'ip6.gateway'],
      ['a 0.2.0 ip6 route lacks dst', { cniVersion: '0.2.0', ip6: { ip: 'fd00::2/64', routes: [{ gw: 'fd00::1' }] } }, 'ip6.routes[0].dst'],
    ];

    it.each(cases)('fails when %s', (_what, raw, field) => {
      const err = cniError(() => parseResult(raw, '1.1.0'));
      expect(err.code).toBe(ErrorCode.DecodeFailure);
      expect(err.message).toContain(field);
    });

    it('names the field with its array index in the message', () => {
      const raw = { cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }, { address: 7 }] };
      expect(cniError(() => parseResult(raw, '')).message).toMatch(/\bips\[1\]\.address must be\b/);
    });

    it('fails the same way through convertResult', () => {
      const err = cniError(() => convertResult({ cniVersion: '0.4.0', ips: 'nope' }, '', '1.1.0'));
      expect(err.code).toBe(ErrorCode.DecodeFailure);
      expect(err.message).toContain('ips');
    });
  });

  it.each([
    '10.0.0.2/0',
    '255.255.255.255/32',
    '::/0',
    '::1/128',
    'fe80::1/64',
    '2001:db8:0:0:0:0:0:1/64',
    '::ffff:10.0.0.2/120',
    '2001:DB8::A/64',
  ])('accepts the valid CIDR address %s', (address) => {
    expect(parseResult({ cniVersion: '1.1.0', ips: [{ address }] }, '').ips).toEqual([{ address }]);
  });

  it.each([
    '010.0.0.2/24',
    '10.0.0.256/24',
    '10.0.0.2/024',
    '10.0.0.2/',
    '/24',
    'fe80::1%eth0/64',
    '1:2:3:4:5:6:7:8:9/64',
    '1:2:3:4:5:6:7/64',
    '1.2.3.4::/64',
    'fd00::/129',
    '12345::/64',
  ])('rejects the invalid CIDR address %s', (address) => {
    expect(cniError(() => parseResult({ cniVersion: '1.1.0', ips: [{ address }] }, '')).code).toBe(
      ErrorCode.DecodeFailure,
    );
  });
});

describe('renderResult', () => {
  const canonical: Result = parseResult(fixture('1.1.0'), '');

  it.each(VERSIONS)('renders the canonical result as %s', (v) => {
    expect(renderResult(canonical, v)).toStrictEqual({ cniVersion: v, ...EXPECTED.v1[LEVEL[v]] });
  });

  it('relabels 1.0.0 ↔ 1.1.0 without dropping any field', () => {
    expect(renderResult(canonical, '1.0.0')).toStrictEqual({ ...fixture('1.1.0'), cniVersion: '1.0.0' });
    expect(convertResult(fixture('1.0.0'), '', '1.1.0')).toStrictEqual(fixture('1.1.0'));
  });

  it('omits absent optional fields instead of printing undefined', () => {
    const result: Result = {
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0', mac: undefined, sandbox: undefined }],
      ips: [{ address: '10.0.0.2/24', interface: undefined, gateway: undefined }],
      routes: [{ dst: '0.0.0.0/0', gw: undefined, table: undefined }],
      dns: undefined,
    };
    for (const v of ['1.1.0', '0.4.0'] as const) {
      const out = renderResult(result, v);
      expect(JSON.parse(JSON.stringify(out))).toStrictEqual(out);
      expect(out).not.toHaveProperty('dns');
    }
    expect(renderResult(result, '1.1.0')).toStrictEqual({
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0' }],
      ips: [{ address: '10.0.0.2/24' }],
      routes: [{ dst: '0.0.0.0/0' }],
    });
  });

  it('omits empty interfaces, ips and routes arrays', () => {
    expect(renderResult({ cniVersion: '1.1.0', interfaces: [], ips: [], routes: [] }, '1.0.0')).toStrictEqual({
      cniVersion: '1.0.0',
    });
    expect(renderResult({ cniVersion: '1.1.0', interfaces: [], ips: [], routes: [] }, '0.3.1')).toStrictEqual({
      cniVersion: '0.3.1',
    });
  });

  it.each(VERSIONS.filter((v) => v !== '0.1.0' && v !== '0.2.0'))('keeps an empty dns object in %s', (v) => {
    const out = renderResult({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }], dns: {} }, v);
    expect(out.dns).toStrictEqual({});
  });

  it('keeps an empty dns object in 0.2.0 too', () => {
    expect(renderResult({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }], dns: {} }, '0.2.0')).toStrictEqual({
      cniVersion: '0.2.0',
      ip4: { ip: '10.0.0.2/24' },
      dns: {},
    });
  });

  it('derives the 0.4.0 ip version from the address family, not from position', () => {
    const out = renderResult(
      { cniVersion: '1.1.0', ips: [{ address: '2001:db8::2/64' }, { address: '192.0.2.2/24' }, { address: '::ffff:192.0.2.3/128' }] },
      '0.4.0',
    );
    expect((out.ips as { version: string }[]).map((ip) => ip.version)).toEqual(['6', '4', '6']);
  });

  it('puts the first IPv4 and first IPv6 into 0.2.0 ip4/ip6 and drops the rest', () => {
    const out = renderResult(
      {
        cniVersion: '1.1.0',
        ips: [
          { address: 'fd00::2/64' },
          { address: '10.0.0.2/24', gateway: '10.0.0.1' },
          { address: 'fd00::3/64', gateway: 'fd00::1' },
          { address: '10.0.0.3/24' },
        ],
      },
      '0.2.0',
    );
    expect(out).toStrictEqual({
      cniVersion: '0.2.0',
      ip4: { ip: '10.0.0.2/24', gateway: '10.0.0.1' },
      ip6: { ip: 'fd00::2/64' },
    });
  });

  it('drops 0.2.0 routes whose family has no IP, as libcni does', () => {
    const out = renderResult(
      {
        cniVersion: '1.1.0',
        ips: [{ address: '10.0.0.2/24' }],
        routes: [{ dst: '::/0', gw: 'fd00::1' }, { dst: '0.0.0.0/0', gw: '10.0.0.1' }],
      },
      '0.1.0',
    );
    expect(out).toStrictEqual({ cniVersion: '0.1.0', ip4: { ip: '10.0.0.2/24', routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1' }] } });
  });

  it('returns fresh objects that do not alias the canonical result', () => {
    const result: Result = { cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }], dns: { nameservers: ['10.0.0.53'] } };
    const out = renderResult(result, '1.1.0') as { ips: { address: string }[]; dns: { nameservers: string[] } };
    out.ips[0]!.address = '192.0.2.1/32';
    out.dns.nameservers.push('192.0.2.53');
    expect(result).toStrictEqual({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }], dns: { nameservers: ['10.0.0.53'] } });
  });

  it.each(['0.5.0', '1.2.0', '', 'latest'])('fails with IncompatibleVersion (code 1) for target version %j', (v) => {
    const err = cniError(() => renderResult({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }] }, v));
    expect(err.code).toBe(ErrorCode.IncompatibleVersion);
  });

  it('fails convertResult with code 1 for an unknown target version', () => {
    expect(cniError(() => convertResult(fixture('1.1.0'), '', '0.9.9')).code).toBe(ErrorCode.IncompatibleVersion);
  });
});

describe('results without IP addresses', () => {
  const noIp = {
    cniVersion: '1.1.0',
    interfaces: [{ name: 'eth0', sandbox: '/var/run/netns/x' }],
    dns: { nameservers: ['10.0.0.53'] },
  };

  it.each(['0.1.0', '0.2.0'])('cannot be converted to %s and fail with code 1', (v) => {
    const err = cniError(() => convertResult(noIp, '', v));
    expect(err.code).toBe(ErrorCode.IncompatibleVersion);
    expect(err.message).toBe('cannot convert: no valid IP addresses');
  });

  it('fails the 0.2.0 conversion even when it has routes', () => {
    const err = cniError(() => convertResult({ ...noIp, routes: [{ dst: '0.0.0.0/0' }] }, '', '0.2.0'));
    expect(err.code).toBe(ErrorCode.IncompatibleVersion);
  });

  it.each(['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'])('convert to %s without inventing ips', (v) => {
    const out = convertResult(noIp, '', v);
    expect(out).not.toHaveProperty('ips');
    expect(out.interfaces).toStrictEqual([{ name: 'eth0', sandbox: '/var/run/netns/x' }]);
    expect(out.dns).toStrictEqual({ nameservers: ['10.0.0.53'] });
  });
});

describe('delegated-IPAM results (no interfaces, no ip index)', () => {
  const ipam = {
    cniVersion: '1.1.0',
    ips: [
      { address: '10.1.2.3/24', gateway: '10.1.2.1' },
      { address: '2001:db8::3/64', gateway: '2001:db8::1' },
    ],
    routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }],
    dns: { nameservers: ['10.1.2.53'] },
  };

  const expected: Record<Level, object> = {
    v1: { ips: ipam.ips, routes: ipam.routes, dns: ipam.dns },
    v04: {
      ips: [
        { version: '4', address: '10.1.2.3/24', gateway: '10.1.2.1' },
        { version: '6', address: '2001:db8::3/64', gateway: '2001:db8::1' },
      ],
      routes: ipam.routes,
      dns: ipam.dns,
    },
    legacy: {
      ip4: { ip: '10.1.2.3/24', gateway: '10.1.2.1', routes: [{ dst: '0.0.0.0/0' }] },
      ip6: { ip: '2001:db8::3/64', gateway: '2001:db8::1', routes: [{ dst: '::/0' }] },
      dns: ipam.dns,
    },
  };

  it.each(VERSIONS)('converts to %s', (v) => {
    expect(convertResult(ipam, '', v)).toStrictEqual({ cniVersion: v, ...expected[LEVEL[v]] });
  });

  it.each(VERSIONS)('converts back from %s to 1.1.0 unchanged', (v) => {
    expect(convertResult(convertResult(ipam, '', v), '', '1.1.0')).toStrictEqual(ipam);
  });

  it('parses a 0.4.0 IPAM result without interfaces or index', () => {
    const raw = { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.1.2.3/24', gateway: '10.1.2.1' }] };
    expect(parseResult(raw, '')).toStrictEqual({
      cniVersion: '0.4.0',
      ips: [{ address: '10.1.2.3/24', gateway: '10.1.2.1' }],
    });
  });
});

describe('round trips', () => {
  it('0.2.0 → 1.1.0 → 0.2.0 gives back the original result', () => {
    const original = fixture('0.2.0');
    const up = convertResult(original, '', '1.1.0');
    expect(up.cniVersion).toBe('1.1.0');
    expect(convertResult(up, '', '0.2.0')).toStrictEqual(original);
  });

  it('0.2.0 → 1.1.0 → 0.2.0 also holds for single-stack results without a gateway', () => {
    const original = { cniVersion: '0.2.0', ip4: { ip: '10.0.0.2/24' } };
    expect(convertResult(convertResult(original, '', '1.1.0'), '', '0.2.0')).toStrictEqual(original);
  });

  it.each(VERSIONS)('render(parse(x)) of a %s fixture is the fixture itself', (v) => {
    expect(renderResult(parseResult(fixture(v), ''), v)).toStrictEqual(fixture(v));
  });

  it('0.4.0 → 1.1.0 → 0.4.0 keeps interfaces, indices and version labels', () => {
    const original = fixture('0.4.0');
    expect(convertResult(convertResult(original, '', '1.1.0'), '', '0.4.0')).toStrictEqual(original);
  });
});
