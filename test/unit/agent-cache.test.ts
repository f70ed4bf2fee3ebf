import { describe, expect, it } from 'vitest';
import { slimNad, slimPod } from '../../src/agent/objects';
import { Store, type CacheEvent } from '../../src/agent/store';
import type { PodObject } from '../../src/k8s/pod';

// The agent's watch cache: the store that answers reads and tells subscribers (dynamic networks) what
// changed, and the trimming that keeps only the fields braid serves.

const pod = (name: string, rv: string, annotations?: Record<string, string>): PodObject =>
  ({ metadata: { namespace: 'ns', name, uid: `uid-${name}`, resourceVersion: rv, ...(annotations ? { annotations } : {}) } });

function recorded(store: Store<PodObject>): Array<[string, string]> {
  const seen: Array<[string, string]> = [];
  store.subscribe((e: CacheEvent<PodObject>) => seen.push([e.type, e.key]));
  return seen;
}

describe('the agent\'s watch cache', () => {
  it('answers reads by namespace and name, and is synced only after its first list', () => {
    const store = new Store<PodObject>();
    expect(store.synced).toBe(false);
    store.replace([pod('a', '1'), pod('b', '2')]);
    expect(store.synced).toBe(true);
    expect(store.get('ns', 'a')?.metadata.uid).toBe('uid-a');
    expect(store.get('other', 'a')).toBeUndefined();
    expect(store.size).toBe(2);
    expect(store.list().map((p) => p.metadata.name).sort()).toEqual(['a', 'b']);
  });

  it('tells subscribers of every change, and a relist only of what differs from the cache', () => {
    const store = new Store<PodObject>();
    store.replace([pod('a', '1'), pod('b', '2'), pod('c', '3')]);
    const seen = recorded(store);
    store.replace([pod('a', '1'), pod('b', '5'), pod('d', '6')]);
    expect(seen).toEqual([['deleted', 'ns/c'], ['updated', 'ns/b'], ['added', 'ns/d']]);
    seen.length = 0;
    store.upsert(pod('a', '7'));
    store.remove(pod('d', '8'));
    store.remove(pod('never', '9')); // not cached: nothing to tell
    expect(seen).toEqual([['updated', 'ns/a'], ['deleted', 'ns/d']]);
  });

  it('gives an update both the old and the new object, and a deletion the last one known; unsubscribing stops the calls', () => {
    const store = new Store<PodObject>();
    store.upsert(pod('a', '1', { n: 'old' }));
    const events: CacheEvent<PodObject>[] = [];
    const stop = store.subscribe((e) => events.push(e));
    store.upsert(pod('a', '2', { n: 'new' }));
    store.remove({ metadata: { namespace: 'ns', name: 'a' } });
    stop();
    store.upsert(pod('z', '3'));
    expect(events.map((e) => [e.type, e.object.metadata.annotations?.n, e.old?.metadata.annotations?.n])).toEqual([['updated', 'new', 'old'], ['deleted', 'new', undefined]]);
  });

  it('keeps of a pod only its names, UID, resourceVersion and the annotations braid reads', () => {
    const big = {
      metadata: {
        namespace: 'ns', name: 'p', uid: 'u', resourceVersion: '9', labels: { a: 'b' }, managedFields: [{ manager: 'kubectl' }],
        annotations: { 'k8s.v1.cni.cncf.io/networks': 'a, b', 'v1.multus-cni.io/default-network': 'x', 'kubernetes.io/config.source': 'file',
          'kubernetes.io/config.hash': 'h', 'kubectl.kubernetes.io/last-applied-configuration': '{"big":true}' },
      },
      spec: { nodeName: 'n', containers: [] }, status: { phase: 'Running' },
    } as unknown as PodObject;
    expect(slimPod(big)).toEqual({ metadata: { namespace: 'ns', name: 'p', uid: 'u', resourceVersion: '9', annotations: {
      'k8s.v1.cni.cncf.io/networks': 'a, b', 'v1.multus-cni.io/default-network': 'x', 'kubernetes.io/config.source': 'file', 'kubernetes.io/config.hash': 'h' } } });
    expect(slimPod(pod('q', '1', { other: 'x' }))).toEqual({ metadata: { namespace: 'ns', name: 'q', uid: 'uid-q', resourceVersion: '1' } });
  });

  it('keeps of a NAD its names, resourceVersion, spec.config as it is and its resourceName annotation', () => {
    const nad = { metadata: { namespace: 'ns', name: 'n', resourceVersion: '4', uid: 'x', annotations: { 'k8s.v1.cni.cncf.io/resourceName': 'intel.com/vf', note: 'x' } }, spec: { config: '{"type":"macvlan"}' } };
    expect(slimNad(nad)).toEqual({ metadata: { namespace: 'ns', name: 'n', resourceVersion: '4', annotations: { 'k8s.v1.cni.cncf.io/resourceName': 'intel.com/vf' } }, spec: { config: '{"type":"macvlan"}' } });
    expect(slimNad({ metadata: { namespace: 'ns', name: 'e' } })).toEqual({ metadata: { namespace: 'ns', name: 'e', resourceVersion: undefined }, spec: {} });
  });
});
