import { describe, expect, it } from 'vitest';
import { runtimeConfigProblems } from '../../src/cni/runtime-config';

describe('runtimeConfigProblems', () => {
  it('accepts well-typed values of every well-known capability, and leaves other keys alone', () => {
    expect(runtimeConfigProblems({
      ips: ['10.250.1.5/24', '10.250.2.5', 'fd00:250::5/64'], mac: 'c2:11:22:33:44:55',
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], bandwidth: { ingressRate: 1 },
      dns: { nameservers: ['10.250.0.10'] }, deviceID: '0000:03:02.3', infinibandGUID: 'c2:11:22:33:44:55:66:77',
      aliases: ['db'], 'io.kubernetes.cri.pod-annotations': { a: 'b' }, custom: 42, mac2: 7,
    })).toEqual([]);
  });

  it('takes null as not set', () => {
    expect(runtimeConfigProblems({ ips: null, mac: null })).toEqual([]);
  });

  it.each([
    ['ips', '10.250.1.5/24', 'a list of IP or CIDR strings'],
    ['ips', ['10.250.1.5/24', 'not-an-ip'], 'a list of IP or CIDR strings'],
    ['ips', [5], 'a list of IP or CIDR strings'],
    ['mac', 42, 'a string'],
    ['portMappings', { hostPort: 80 }, 'a list of objects'],
    ['portMappings', [80], 'a list of objects'],
    ['bandwidth', [1], 'an object'],
    ['dns', 'x', 'an object'],
    ['deviceID', 3, 'a string'],
    ['infinibandGUID', ['x'], 'a string'],
    ['aliases', 'db', 'a list of strings'],
    ['aliases', ['db', 1], 'a list of strings'],
  ])('refuses %s %j: it must be %s', (key, value, what) => {
    expect(runtimeConfigProblems({ [key]: value })).toEqual([
      { pointer: `/runtimeConfig/${key}`, message: `must be ${what}, got ${JSON.stringify(value)}` },
    ]);
  });
});
