import { describe, expect, it } from 'vitest';
import { defaultRouteFamily } from '../../src/cni/ip';
import type { NetworkConfig } from '../../src/config/netconf';
import { resultAfterChange } from '../../src/plan/default-route';

// Default routes are recognised by prefix length (0), not by text, in the results braid rewrites
// after a `default-route` change.

describe('defaultRouteFamily', () => {
  it.each([
    ['0.0.0.0/0', '4'],
    ['10.250.0.0/0', '4'],
    ['0/0', '4'],
    ['::/0', '6'],
    ['::0/0', '6'],
    ['0:0:0:0:0:0:0:0/0', '6'],
    ['fd00:250::/0', '6'],
    ['::ffff:0.0.0.0/0', '6'],
  ] as const)('%s is an IPv%s default route', (dst, family) => {
    expect(defaultRouteFamily(dst)).toBe(family);
  });

  it.each(['0.0.0.0/8', '0.0.0.0/00', '::/128', '::/', '0/8', '0.0.0.0', '::', '/0', 'x/0', '0.0.0/0', '0/0/0', '256.0.0.0/0', ':::/0', ''])(
    '%j is not a default route',
    (dst) => {
      expect(defaultRouteFamily(dst)).toBeUndefined();
    },
  );
});

describe('resultAfterChange', () => {
  const config = { name: 'n', cniVersion: '1.0.0', plugins: [] } as NetworkConfig;
  const result = (routes: Array<{ dst: string; gw?: string }>) => ({
    cniVersion: '1.0.0',
    interfaces: [{ name: 'net1', sandbox: '/var/run/netns/p' }],
    ips: [{ interface: 0, address: '10.250.174.2/24' }, { interface: 0, address: 'fd00:250:174::2/64' }],
    routes,
  });
  const routesOf = (r: Record<string, unknown>) => r.routes;

  it('drops default routes of the owned family in any spelling and keeps the other family and other routes', () => {
    const raw = result([
      { dst: '::0/0', gw: 'fd00:250:174::1' },
      { dst: '0:0:0:0:0:0:0:0/0', gw: 'fd00:250:174::fe' },
      { dst: '10.0.0.0/0', gw: '10.250.174.1' },
      { dst: 'fd00:250:175::/64', gw: 'fd00:250:174::1' },
    ]);
    const out = resultAfterChange({ ifname: 'eth0', config }, raw, { owners: [{ ifname: 'net1', gateway: 'fd00:250:176::1' }], cleared: [] });
    expect(routesOf(out)).toEqual([
      { dst: '10.0.0.0/0', gw: '10.250.174.1' },
      { dst: 'fd00:250:175::/64', gw: 'fd00:250:174::1' },
    ]);
  });

  it('replaces the owner\'s own default route, however it was spelled, with the requested one', () => {
    const raw = result([{ dst: '10.250.0.0/0', gw: '10.250.174.254' }, { dst: '::/0', gw: 'fd00:250:174::1' }]);
    const out = resultAfterChange({ ifname: 'net1', config }, raw, { owners: [{ ifname: 'net1', gateway: '10.250.174.1' }], cleared: [] });
    expect(routesOf(out)).toEqual([{ dst: '::/0', gw: 'fd00:250:174::1' }, { dst: '0.0.0.0/0', gw: '10.250.174.1' }]);
  });

  it('drops every default route of an interface with `default-route: []`, whatever the spelling', () => {
    const raw = result([{ dst: '::0/0', gw: 'fd00:250:174::1' }, { dst: '10.0.0.0/0', gw: '10.250.174.1' }, { dst: '10.250.175.0/24', gw: '10.250.174.1' }]);
    const out = resultAfterChange({ ifname: 'net1', config }, raw, { owners: [], cleared: ['net1'] });
    expect(routesOf(out)).toEqual([{ dst: '10.250.175.0/24', gw: '10.250.174.1' }]);
  });
});
