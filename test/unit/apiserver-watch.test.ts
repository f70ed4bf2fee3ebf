import * as https from 'node:https';
import { describe, expect, it } from 'vitest';
import type { ApiServer } from '../helpers/apiserver.mjs';
import { useApiServer } from '../helpers/k8s';

// The test kube-apiserver's list and watch, as the agent's tests rely on them: Lists with the store's
// resourceVersion, watches from a resourceVersion (history replayed), field selectors that turn a pod
// moving off the node into DELETED, bookmarks, and 410 Expired for a resourceVersion older than the history.

let api: ApiServer;
useApiServer((s) => { api = s; });

/** Opens a watch and collects its events until `count` arrived (or the server ended it). */
function watch(path: string, count: number): Promise<Array<{ type: string; object: any }>> {
  return new Promise((resolve, reject) => {
    const events: Array<{ type: string; object: any }> = [];
    const req = https.get(`${api.url}${path}`, { ca: api.pki.ca, headers: { Authorization: `Bearer ${api.token}` }, agent: false }, (res) => {
      let buf = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          events.push(JSON.parse(buf.slice(0, nl)));
          buf = buf.slice(nl + 1);
          if (events.length === count) { req.destroy(); resolve(events); }
        }
      });
      res.on('end', () => resolve(events));
    });
    req.on('error', reject);
  });
}

function get(path: string): Promise<any> {
  return new Promise((resolve, reject) => {
    https.get(`${api.url}${path}`, { ca: api.pki.ca, headers: { Authorization: `Bearer ${api.token}` }, agent: false }, (res) => {
      let b = '';
      res.setEncoding('utf8').on('data', (d: string) => { b += d; }).on('end', () => resolve({ status: res.statusCode, body: JSON.parse(b) }));
    }).on('error', reject);
  });
}

describe('the test kube-apiserver\'s list and watch', () => {
  it('lists with the store\'s resourceVersion and field selectors, and replays changes after a resourceVersion', async () => {
    api.addPod({ metadata: { namespace: 'w', name: 'a' }, spec: { nodeName: 'n1' } });
    api.addPod({ metadata: { namespace: 'w', name: 'b' }, spec: { nodeName: 'n2' } });
    const list = await get('/api/v1/pods?fieldSelector=spec.nodeName%3Dn1');
    expect(list.body).toMatchObject({ kind: 'PodList', apiVersion: 'v1' });
    expect(list.body.items.map((p: any) => p.metadata.name)).toEqual(['a']);
    const rv = list.body.metadata.resourceVersion;
    api.addPod({ metadata: { namespace: 'w', name: 'c' }, spec: { nodeName: 'n1' } });
    api.addPod({ metadata: { namespace: 'w', name: 'a' }, spec: { nodeName: 'n2' } }); // a leaves n1
    api.deletePod('w', 'c');
    const events = await watch(`/api/v1/pods?watch=1&resourceVersion=${rv}&fieldSelector=spec.nodeName%3Dn1`, 3);
    expect(events.map((e) => [e.type, e.object.metadata.name])).toEqual([['ADDED', 'c'], ['DELETED', 'a'], ['DELETED', 'c']]);
    expect(Number(events[2].object.metadata.resourceVersion)).toBeGreaterThan(Number(events[1].object.metadata.resourceVersion));
    expect((await get('/api/v1/pods?fieldSelector=bad')).status).toBe(400);
  });

  it('sends bookmarks to watches that allow them, and 410 Expired for a resourceVersion the history no longer holds', async () => {
    api.addNad('w', 'n', '{}');
    const rv = (await get('/apis/k8s.cni.cncf.io/v1/network-attachment-definitions')).body.metadata.resourceVersion;
    const bookmarked = watch(`/apis/k8s.cni.cncf.io/v1/network-attachment-definitions?watch=1&allowWatchBookmarks=true&resourceVersion=${rv}`, 1);
    await new Promise((r) => setTimeout(r, 100));
    api.watches.bookmark();
    expect((await bookmarked)[0]).toEqual({ type: 'BOOKMARK', object: { kind: 'NetworkAttachmentDefinition', apiVersion: 'k8s.cni.cncf.io/v1', metadata: { resourceVersion: rv } } });
    api.watches.expire();
    const [gone] = await watch(`/apis/k8s.cni.cncf.io/v1/network-attachment-definitions?watch=1&resourceVersion=${rv}`, 1);
    expect(gone).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    const fresh = await watch('/apis/k8s.cni.cncf.io/v1/network-attachment-definitions?watch=1', 1); // no resourceVersion: the state as ADDED
    expect(fresh.map((e) => [e.type, e.object.metadata.name])).toEqual([['ADDED', 'n']]);
  });
});
