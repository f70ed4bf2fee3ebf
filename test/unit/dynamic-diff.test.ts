import { describe, expect, it } from 'vitest';
import type { NetworkConfig } from '../../src/config/netconf';
import { attachmentKey, diffNetworks } from '../../src/plan/dynamic';
import { buildPlan, type PlanInput, type Selection } from '../../src/plan/plan';
import type { AttachmentState, CachedAttachment } from '../../src/store/cache';

function net(name: string): NetworkConfig {
  return { name, cniVersion: '1.0.0', plugins: [{ type: 'fake' }] };
}

function sel(network: string, iface?: string): Selection {
  return { config: net(network), network, ...(iface ? { request: { name: network, namespace: 'default', interface: iface } } : {}) };
}

function cached(network: string, ifname: string, state: AttachmentState = 'added', clusterNetwork = false): CachedAttachment {
  return { network, ifname, config: net(network), runtimeConfig: {}, cniArgs: '', clusterNetwork, state };
}

function input(secondaries: Selection[]): PlanInput {
  return { clusterNetwork: sel('podnet'), secondaries, ifname: 'eth0', runtimeConfig: {}, cniArgs: '' };
}

const POD = [cached('podnet', 'eth0', 'added', true), cached('default/a', 'net1'), cached('default/b', 'net2')];

function planned(cache: CachedAttachment[], secondaries: Selection[]): { names: string[][]; removed: string[]; added: string[] } {
  const diff = diffNetworks(cache, input(secondaries));
  const plan = buildPlan(diff.input);
  return {
    names: plan.map((a) => [a.network, a.ifname]),
    removed: diff.removed.map(attachmentKey),
    added: plan.filter((a) => !a.clusterNetwork && !diff.kept.has(attachmentKey(a))).map(attachmentKey),
  };
}

describe('diffNetworks', () => {
  it('an unchanged selection keeps every interface and changes nothing', () => {
    expect(planned(POD, [sel('default/a'), sel('default/b')])).toEqual({
      names: [['podnet', 'eth0'], ['default/a', 'net1'], ['default/b', 'net2']], removed: [], added: [],
    });
  });

  it('removing the first network never renames the second: net2 stays net2', () => {
    expect(planned(POD, [sel('default/b')])).toMatchObject({ names: [['podnet', 'eth0'], ['default/b', 'net2']], removed: ['default/a net1'], added: [] });
  });

  it('a new network gets the lowest free netN', () => {
    const pod = [cached('podnet', 'eth0', 'added', true), cached('default/b', 'net2')];
    expect(planned(pod, [sel('default/b'), sel('default/c')])).toMatchObject({ names: [['podnet', 'eth0'], ['default/b', 'net2'], ['default/c', 'net1']], added: ['default/c net1'] });
  });

  it('a new network with a requested interface name gets that name', () => {
    expect(planned(POD, [sel('default/a'), sel('default/b'), sel('default/c', 'storage0')]).added).toEqual(['default/c storage0']);
  });

  it('swapping one network for another in one edit removes the old and adds the new under a free name', () => {
    expect(planned(POD, [sel('default/a'), sel('default/c')])).toMatchObject({ removed: ['default/b net2'], added: ['default/c net2'] });
  });

  it('an interface rename in the annotation is a remove plus an add', () => {
    expect(planned(POD, [sel('default/a', 'fast0'), sel('default/b')])).toMatchObject({ removed: ['default/a net1'], added: ['default/a fast0'] });
  });

  it('the same NAD twice keeps the existing attachment and adds a second one', () => {
    expect(planned(POD, [sel('default/a'), sel('default/a'), sel('default/b')])).toMatchObject({ removed: [], added: ['default/a net3'] });
  });

  it('a planned leftover of a crashed reconcile is removed and, if still wanted, added again', () => {
    const pod = [...POD, cached('default/c', 'net3', 'planned')];
    expect(planned(pod, [sel('default/a'), sel('default/b'), sel('default/c')])).toMatchObject({ removed: ['default/c net3'], added: ['default/c net3'] });
  });

  it('deleted attachments are neither kept nor removed again', () => {
    const pod = [...POD, cached('default/c', 'net3', 'deleted')];
    expect(planned(pod, [sel('default/a'), sel('default/b')])).toMatchObject({ removed: [], added: [] });
  });
});
