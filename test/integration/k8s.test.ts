import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { describe, it, expect, onTestFinished } from 'vitest';
import { runBraidAsync, type BraidCall, type BraidOutcome } from '../helpers/braid';
import { braidConf, failed, fakeCalls, ok } from '../helpers/cni';
import { addressesIn, hostLocalLeases, hostOf, inSubnet, ip, linksIn, sandbox, v4SubnetAllocator, type Sandbox } from '../helpers/host';
import { startApiServer, type ApiCall, type ApiServer } from '../helpers/apiserver.mjs';
import { NETWORK_STATUS, NETWORKS, networkStatusOf, POD_ANNOTATIONS, useApiServer } from '../helpers/k8s';

// braid's Kubernetes path end to end: the real executable, exec'd as a runtime does, in real netns with
// the reference plugins, talking HTTPS to a protocol-faithful kube-apiserver (test/helpers/apiserver.mjs)
// for pods, NetworkAttachmentDefinitions, network-status and events.
// Address range of this file: 10.250.110.0/24 … 10.250.149.0/24.

const DEFAULT_NETWORK = 'v1.multus-cni.io/default-network';

let api: ApiServer;
useApiServer((s) => { api = s; });

/** A server of the test's own (to stop or break), stopped after the test. */
async function ownServer(): Promise<ApiServer> {
  const s = await startApiServer();
  onTestFinished(() => s.stop());
  return s;
}

/** A /24 of this file's range; tests clean up, so the range is reused round-robin. */
const nextSubnet = v4SubnetAllocator(110, 40);

function linkOf(ns: string, ifname: string): { address: string; mtu: number } {
  return (JSON.parse(ip('-n', ns, '-j', 'link', 'show', 'dev', ifname)) as Array<{ address: string; mtu: number }>)[0];
}
const macOf = (ns: string, ifname: string) => linkOf(ns, ifname).address;

// ---- the world of one test --------------------------------------------------------------------------

interface PodSpec {
  namespace?: string;
  name?: string;
  annotations?: Record<string, string>;
  /** Store the pod in the API server (default true). */
  create?: boolean;
  /** Extra pod metadata. */
  uid?: string;
}

/** A pod's sandbox: its netns, its CNI_ARGS, a cluster network (bridge+host-local, default route) and a kubeconfig. */
interface World {
  sb: Sandbox;
  server: ApiServer;
  netns: string;
  ns: string;
  bridge: string;
  podSubnet: string;
  kubeconfig: string;
  containerID: string;
  pod: { namespace: string; name: string; uid: string };
  args: string;
  fakeLog: string;
  /** braid's config: inline delegates [bridge] plus `extra`. */
  conf(extra?: Record<string, unknown>): Record<string, unknown>;
  /** Runs braid for this pod's sandbox. */
  run(command: string, config: Record<string, unknown>, more?: Partial<BraidCall>): Promise<BraidOutcome & { ms: number }>;
  /** A macvlan+host-local NAD config on a fresh veth parent; returns the config and its subnet. */
  macvlan(name: string | undefined, extra?: Record<string, unknown>): { config: Record<string, unknown>; subnet: string };
}

function bridgeConf(sb: Sandbox, bridge: string, subnet: string, name = 'podnet'): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name,
    type: 'bridge',
    bridge,
    ipam: { type: 'host-local', subnet, dataDir: sb.ipamDir, routes: [{ dst: '0.0.0.0/0', gw: hostOf(subnet, 1) }] },
  };
}

let vethCounter = 0;
function world(spec: PodSpec = {}, server: ApiServer = api, kubeOpts: Parameters<ApiServer['kubeconfig']>[1] = {}): World {
  const sb = sandbox();
  const netns = sb.netns();
  const ns = path.basename(netns);
  const bridge = sb.linkName('br');
  const podSubnet = nextSubnet();
  const namespace = spec.namespace ?? 'team-a';
  const name = spec.name ?? `pod-${sb.id}`;
  let uid = spec.uid ?? `uid-${sb.id}`;
  if (spec.create !== false) {
    uid = server.addPod({ metadata: { namespace, name, uid, ...(spec.annotations ? { annotations: spec.annotations } : {}) } }).metadata.uid;
  }
  const containerID = `k8s-${sb.id}`;
  const kubeconfig = server.kubeconfig(sb.dir, kubeOpts);
  const fakeLog = path.join(sb.dir, 'fake.log');
  const args = `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${name};K8S_POD_INFRA_CONTAINER_ID=${containerID};K8S_POD_UID=${uid}`;
  const w: World = {
    sb, server, netns, ns, bridge, podSubnet, kubeconfig, containerID, args, fakeLog,
    pod: { namespace, name, uid },
    conf: (extra = {}) => braidConf(sb, {
      kubeconfig,
      kubeRequestTimeout: 2,
      kubeTimeout: 4,
      logLevel: 'verbose',
      delegates: [bridgeConf(sb, bridge, podSubnet)],
      ...extra,
    }),
    run: (command, config, more = {}) => runBraidAsync({
      command, containerID, netns, ifname: 'eth0', args, config, ...more, env: { FAKE_LOG: fakeLog, ...(more.env ?? {}) },
    }),
    macvlan: (nadName, extra = {}) => {
      const [parent] = sb.veth(`m${vethCounter++ % 10}`);
      const subnet = nextSubnet();
      return {
        subnet,
        config: {
          cniVersion: '1.0.0',
          ...(nadName ? { name: nadName } : {}),
          type: 'macvlan',
          master: parent,
          mode: 'bridge',
          ipam: { type: 'host-local', subnet, dataDir: sb.ipamDir },
          ...extra,
        },
      };
    },
  };
  return w;
}

/** Asserts the pod's sandbox is empty and nothing is left: no link, no lease, no cache. */
function nothingAttached(w: World): void {
  expect(linksIn(w.ns)).toEqual([]);
  expect(hostLocalLeases(w.sb.ipamDir)).toEqual([]);
  expect(w.sb.cacheFiles()).toEqual([]);
}

const isNadGet = (c: ApiCall) => c.method === 'GET' && c.path.includes('/network-attachment-definitions/');
const isPodGet = (c: ApiCall) => c.method === 'GET' && /\/api\/v1\/namespaces\/[^/]+\/pods\/[^/]+$/.test(c.path);
const isEvent = (c: ApiCall) => c.method === 'POST' && c.path.endsWith('/events');
const apiCalls = (s: ApiServer) => s.calls.filter((c) => !isEvent(c));
const patches = (s: ApiServer) => s.calls.filter((c) => c.method === 'PATCH');

/** The network-status annotation `s` holds for the world's pod. */
function networkStatus(s: ApiServer, w: World): any[] {
  return networkStatusOf(s, w.pod.namespace, w.pod.name);
}

// ---- the test server itself -------------------------------------------------------------------------

function request(s: ApiServer, method: string, p: string, opts: { body?: string; headers?: Record<string, string>; cert?: boolean } = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${s.url}${p}`, {
      method,
      ca: s.pki.ca,
      headers: opts.headers,
      ...(opts.cert ? { cert: s.pki.clientCert, key: s.pki.clientKey } : {}),
      agent: false,
    }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('the test kube-apiserver', () => {
  it('speaks HTTPS with its CA, authenticates bearer tokens and client certificates, and answers Kubernetes Status bodies', async () => {
    api.addPod({ metadata: { namespace: 'ns1', name: 'p1', annotations: { keep: 'k', drop: 'd' } } });
    const bearer = { Authorization: `Bearer ${api.token}` };
    const anon = await request(api, 'GET', '/api/v1/namespaces/ns1/pods/p1');
    expect(anon).toEqual({ status: 401, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 } });
    expect((await request(api, 'GET', '/api/v1/namespaces/ns1/pods/p1', { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
    const got = await request(api, 'GET', '/api/v1/namespaces/ns1/pods/p1', { headers: bearer });
    expect(got.status).toBe(200);
    expect(got.body.kind).toBe('Pod');
    expect((await request(api, 'GET', '/api/v1/namespaces/ns1/pods/p1', { cert: true })).status).toBe(200);
    const missing = await request(api, 'GET', '/apis/k8s.cni.cncf.io/v1/namespaces/ns1/network-attachment-definitions/nope', { headers: bearer });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404, message: 'network-attachment-definitions.k8s.cni.cncf.io "nope" not found' });

    // Only merge-patch is accepted; null deletes, other keys merge, resourceVersion moves.
    const rv = got.body.metadata.resourceVersion;
    const patch = JSON.stringify({ metadata: { annotations: { drop: null, added: 'a' } } });
    const wrongType = await request(api, 'PATCH', '/api/v1/namespaces/ns1/pods/p1/status', { body: patch, headers: { ...bearer, 'Content-Type': 'application/strategic-merge-patch+json' } });
    expect(wrongType.status).toBe(415);
    expect(wrongType.body).toMatchObject({ kind: 'Status', reason: 'UnsupportedMediaType', code: 415 });
    const patched = await request(api, 'PATCH', '/api/v1/namespaces/ns1/pods/p1/status', { body: patch, headers: { ...bearer, 'Content-Type': 'application/merge-patch+json' } });
    expect(patched.status).toBe(200);
    expect(patched.body.metadata.annotations).toEqual({ keep: 'k', added: 'a' });
    expect(Number(patched.body.metadata.resourceVersion)).toBeGreaterThan(Number(rv));
    const stale = JSON.stringify({ metadata: { resourceVersion: rv, annotations: { x: 'y' } } });
    expect((await request(api, 'PATCH', '/api/v1/namespaces/ns1/pods/p1/status', { body: stale, headers: { ...bearer, 'Content-Type': 'application/merge-patch+json' } })).status).toBe(409);
    const otherUid = JSON.stringify({ metadata: { uid: 'not-this-pod', annotations: { x: 'y' } } });
    const immutable = await request(api, 'PATCH', '/api/v1/namespaces/ns1/pods/p1/status', { body: otherUid, headers: { ...bearer, 'Content-Type': 'application/merge-patch+json' } });
    expect(immutable.status).toBe(422);
    expect(immutable.body).toMatchObject({ reason: 'Invalid', details: { causes: [{ field: 'metadata.uid' }] } });
    expect(api.pod('ns1', 'p1')!.metadata.annotations).toEqual({ keep: 'k', added: 'a' });

    // Both event APIs; fault injection by method and path, for a bounded number of requests.
    const ev = (apiVersion: string) => JSON.stringify({ apiVersion, kind: 'Event', metadata: { generateName: 'p1.' }, reason: 'R' });
    expect((await request(api, 'POST', '/api/v1/namespaces/ns1/events', { body: ev('v1'), headers: { ...bearer, 'Content-Type': 'application/json' } })).status).toBe(201);
    expect((await request(api, 'POST', '/apis/events.k8s.io/v1/namespaces/ns1/events', { body: ev('events.k8s.io/v1'), headers: { ...bearer, 'Content-Type': 'application/json' } })).status).toBe(201);
    expect(api.events().map((e) => e.metadata.name.startsWith('p1.'))).toEqual([true, true]);
    api.fault({ method: 'GET', path: /\/pods\/p1$/, status: 409, times: 2 });
    expect((await request(api, 'GET', '/api/v1/namespaces/ns1/pods/p1', { headers: bearer })).body.reason).toBe('Conflict');
    expect((await request(api, 'GET', '/api/v1/namespaces/ns1/pods/p1', { headers: bearer })).status).toBe(409);
    expect((await request(api, 'GET', '/api/v1/namespaces/ns1/pods/p1', { headers: bearer })).status).toBe(200);
    api.fault({ path: /pods/, destroy: true });
    await expect(request(api, 'GET', '/api/v1/namespaces/ns1/pods/p1', { headers: bearer })).rejects.toThrow();

    // Concurrency is measured.
    api.resetCalls();
    api.latencyMs = 100;
    await Promise.all([1, 2, 3].map(() => request(api, 'GET', '/api/v1/namespaces/ns1/pods/p1', { headers: bearer })));
    expect(api.maxInFlight).toBe(3);
    expect(api.maxOverlap(isPodGet)).toBe(3);
  });
});

// ---- networks from pod annotations ------------------------------------------------------------------

describe('ADD with NetworkAttachmentDefinitions from the API server', () => {
  const forms: Array<[string, string]> = [
    ['comma form', 'macvlan-a, other/macvlan-b@data'],
    ['JSON form', JSON.stringify([{ name: 'macvlan-a' }, { name: 'macvlan-b', namespace: 'other', interface: 'data' }])],
  ];
  for (const [form, annotation] of forms) {
    it(`attaches the NADs of the ${form} as net1 and data after eth0, and DEL removes them without API calls`, async () => {
      const w = world({ annotations: { [NETWORKS]: annotation } });
      const a = w.macvlan('macvlan-a');
      const b = w.macvlan('macvlan-b');
      api.addNad('team-a', 'macvlan-a', a.config);
      api.addNad('other', 'macvlan-b', b.config);
      const config = w.conf();
      const add = await w.run('ADD', config);
      ok(add);
      expect(linksIn(w.ns).sort()).toEqual(['data', 'eth0', 'net1']);
      const eth0 = addressesIn(w.ns, 'eth0');
      const net1 = addressesIn(w.ns, 'net1');
      const data = addressesIn(w.ns, 'data');
      expect(eth0).toHaveLength(1);
      expect(net1).toHaveLength(1);
      expect(data).toHaveLength(1);
      expect(inSubnet(eth0[0], w.podSubnet)).toBe(true);
      expect(inSubnet(net1[0], a.subnet)).toBe(true);
      expect(inSubnet(data[0], b.subnet)).toBe(true);
      // Under Kubernetes the result is the cluster network's alone (resultMode's default with K8S_POD_* in CNI_ARGS).
      const names = (add.json.interfaces as Array<{ name: string; sandbox?: string }>).filter((i) => i.sandbox).map((i) => i.name);
      expect(names).toEqual(['eth0']);
      expect(add.json.ips.map((ip: { address: string }) => inSubnet(ip.address, w.podSubnet))).toEqual([true]);
      expect(networkStatus(api, w).map((e) => [e.name, e.interface])).toEqual([['podnet', 'eth0'], ['team-a/macvlan-a', 'net1'], ['other/macvlan-b', 'data']]);

      api.resetCalls();
      const del = await w.run('DEL', config);
      ok(del);
      expect(api.calls).toEqual([]);
      nothingAttached(w);
    });
  }

  it('gives the same NAD listed twice two interfaces and two status entries', async () => {
    const w = world({ annotations: { [NETWORKS]: 'twice, twice' } });
    const m = w.macvlan('twice');
    api.addNad('team-a', 'twice', m.config);
    const config = w.conf();
    ok(await w.run('ADD', config));
    expect(linksIn(w.ns).sort()).toEqual(['eth0', 'net1', 'net2']);
    const [a1] = addressesIn(w.ns, 'net1');
    const [a2] = addressesIn(w.ns, 'net2');
    expect(inSubnet(a1, m.subnet) && inSubnet(a2, m.subnet)).toBe(true);
    expect(a1).not.toBe(a2);
    const status = networkStatus(api, w);
    expect(status.map((e) => [e.name, e.interface, e.ips])).toEqual([
      ['podnet', 'eth0', [addressesIn(w.ns, 'eth0')[0].split('/')[0]]],
      ['team-a/twice', 'net1', [a1.split('/')[0]]],
      ['team-a/twice', 'net2', [a2.split('/')[0]]],
    ]);
    ok(await w.run('DEL', config));
    nothingAttached(w);
  });

  const macVia: Array<[string, (w: World, subnet: string) => Record<string, unknown>]> = [
    ['macvlan', (w) => ({ ...w.macvlan('fixed', { capabilities: { ips: true, mac: true }, ipam: { type: 'static' } }).config })],
    ['tuning', (w) => {
      const m = w.macvlan(undefined, { capabilities: { ips: true }, ipam: { type: 'static' } }).config;
      delete m.cniVersion;
      return { cniVersion: '1.0.0', name: 'fixed', plugins: [m, { type: 'tuning', capabilities: { mac: true } }] };
    }],
  ];
  for (const [via, nad] of macVia) {
    it(`passes the pod's ips to macvlan+static and its mac to ${via}`, async () => {
      const subnet = nextSubnet();
      const address = `${hostOf(subnet, 42)}/24`;
      const mac = '02:42:0a:fa:6f:2a';
      const w = world({ annotations: { [NETWORKS]: JSON.stringify([{ name: 'fixed', ips: [address], mac }]) } });
      api.addNad('team-a', 'fixed', nad(w, subnet));
      const config = w.conf();
      ok(await w.run('ADD', config));
      expect(addressesIn(w.ns, 'net1')).toEqual([address]);
      expect(macOf(w.ns, 'net1')).toBe(mac);
      const entry = networkStatus(api, w)[1];
      expect(entry).toMatchObject({ name: 'team-a/fixed', interface: 'net1', ips: [hostOf(subnet, 42)], mac });
      ok(await w.run('DEL', config));
      nothingAttached(w);
    });
  }

  it('passes a mac request no plugin of the NAD declares as CNI_ARGS MAC= (macvlan reads it), warning in the log and in a Warning event naming the NAD', async () => {
    const mac = '02:00:0a:fa:6f:3b';
    const w = world({ annotations: { [NETWORKS]: JSON.stringify([{ name: 'plain', mac }]) } });
    api.addNad('team-a', 'plain', w.macvlan('plain').config);
    const config = w.conf();
    const r = await w.run('ADD', config);
    ok(r);
    expect(macOf(w.ns, 'net1')).toBe(mac);
    expect(r.stderr).toMatch(/\[warning\].*"team-a\/plain".*"mac".*CNI_ARGS MAC=/);
    await expect.poll(() => api.events().filter((e) => e.type === 'Warning').map((e) => [e.reason, e.involvedObject.name])).toEqual([['UndeclaredCapability', w.pod.name]]);
    const [warning] = api.events().filter((e) => e.type === 'Warning');
    expect(warning.message).toContain('"team-a/plain"');
    expect(warning.message).toContain('"mac"');
    ok(await w.run('DEL', config));
    nothingAttached(w);
  });

  it('ignores a portMappings request no plugin of the NAD declares, with a Warning event naming the NAD and the key', async () => {
    const w = world({ annotations: { [NETWORKS]: JSON.stringify([{ name: 'plain', portMappings: [{ hostPort: 18080, containerPort: 80 }] }]) } });
    api.addNad('team-a', 'plain', w.macvlan('plain').config);
    const config = w.conf();
    ok(await w.run('ADD', config));
    expect(linksIn(w.ns).sort()).toEqual(['eth0', 'net1']);
    await expect.poll(() => api.events().filter((e) => e.type === 'Warning').map((e) => e.message)).toEqual([expect.stringMatching(/"team-a\/plain".*"portMappings".*ignored/)]);
    ok(await w.run('DEL', config));
    nothingAttached(w);
  });

  it('with strictCapabilities, refuses a mac request when no plugin of the NAD declares the mac capability, before anything is attached', async () => {
    const w = world({ annotations: { [NETWORKS]: JSON.stringify([{ name: 'plain', mac: '02:00:00:00:00:01' }]) } });
    api.addNad('team-a', 'plain', w.macvlan('plain').config);
    const r = await w.run('ADD', w.conf({ strictCapabilities: true }));
    const msg = failed(r, 7);
    expect(msg).toContain('team-a/plain');
    expect(msg).toMatch(/"mac".*capability/);
    nothingAttached(w);
    expect(patches(api)).toEqual([]);
  });

  it('fails with code 7 naming namespace/name when a NAD does not exist, attaching nothing (not even eth0)', async () => {
    const w = world({ annotations: { [NETWORKS]: 'exists, missing' } });
    api.addNad('team-a', 'exists', w.macvlan('exists').config);
    const r = await w.run('ADD', w.conf());
    expect(failed(r, 7)).toContain('team-a/missing');
    nothingAttached(w);
    // No container cache: only the lock dir and the TLS session cache (not pod state) may exist.
    expect(fs.existsSync(w.sb.cniDir) ? fs.readdirSync(w.sb.cniDir).filter((f) => f !== 'locks' && f !== 'tls-sessions') : []).toEqual([]);
    expect(patches(api)).toEqual([]);
  });

  const invalid: Array<[string, string]> = [
    ['spec.config that is not JSON', '{"cniVersion": "1.0.0", "type": macvlan'],
    ['spec.config without a type', JSON.stringify({ cniVersion: '1.0.0', name: 'broken', master: 'eth0' })],
  ];
  for (const [what, config] of invalid) {
    it(`names the NAD when its ${what}`, async () => {
      const w = world({ annotations: { [NETWORKS]: 'broken' } });
      api.addNad('team-a', 'broken', config);
      const r = await w.run('ADD', w.conf());
      expect(failed(r, 7)).toContain('NetworkAttachmentDefinition team-a/broken');
      nothingAttached(w);
    });
  }

  it('refuses a NAD of another namespace under namespaceIsolation, unless that namespace is global', async () => {
    const w = world({ annotations: { [NETWORKS]: 'other/shared' } });
    api.addNad('other', 'shared', w.macvlan('shared').config);
    const isolated = await w.run('ADD', w.conf({ namespaceIsolation: true }));
    const msg = failed(isolated, 7);
    expect(msg).toContain('namespace isolation');
    expect(msg).toContain('other');
    expect(api.calls.filter(isNadGet)).toEqual([]); // refused before any NAD is read
    nothingAttached(w);

    const config = w.conf({ namespaceIsolation: true, globalNamespaces: 'default,other' });
    ok(await w.run('ADD', config));
    expect(linksIn(w.ns).sort()).toEqual(['eth0', 'net1']);
    ok(await w.run('DEL', config));
    nothingAttached(w);
  });

  it('authenticates with a kubeconfig client certificate, and reports a rejected token', async () => {
    const w = world({ annotations: { [NETWORKS]: 'certnet' } }, api, { clientCert: true });
    api.addNad('team-a', 'certnet', w.macvlan('certnet').config);
    expect(fs.readFileSync(w.kubeconfig, 'utf8')).not.toContain('token');
    const config = w.conf();
    ok(await w.run('ADD', config));
    expect(linksIn(w.ns).sort()).toEqual(['eth0', 'net1']);
    ok(await w.run('DEL', config));
    nothingAttached(w);

    const badToken = api.kubeconfig(path.join(w.sb.dir, 'bad'), { token: 'not-the-token' });
    const r = await w.run('ADD', w.conf({ kubeconfig: badToken }));
    const msg = failed(r, 11);
    expect(msg).toContain('Unauthorized');
    // The server, the call and where the credentials came from; never a token.
    expect(msg).toContain(`kube-apiserver ${api.url}: GET /api/v1/namespaces/team-a/pods/${w.pod.name} failed`);
    expect(msg).toContain(`credentials: kubeconfig ${badToken}, inline token`);
    expect(r.stdout + r.stderr).not.toContain('not-the-token');
    nothingAttached(w);
  });

  it('reads the token from a kubeconfig tokenFile', async () => {
    const w = world({ annotations: { [NETWORKS]: 'filenet' } }, api, { tokenFile: true });
    api.addNad('team-a', 'filenet', w.macvlan('filenet').config);
    expect(fs.readFileSync(w.kubeconfig, 'utf8')).not.toContain(api.token);
    const config = w.conf();
    ok(await w.run('ADD', config));
    expect(linksIn(w.ns).sort()).toEqual(['eth0', 'net1']);
    ok(await w.run('DEL', config));
    nothingAttached(w);
  });

  it('refuses an API server whose certificate the kubeconfig CA did not sign, without sending the token', async () => {
    const other = await ownServer();
    const w = world({ annotations: { [NETWORKS]: 'x' } });
    // The other server's CA and token, but this server's address: TLS verification must fail.
    const kubeconfig = other.kubeconfig(path.join(w.sb.dir, 'mitm'), { server: api.url, token: api.token });
    const r = await w.run('ADD', w.conf({ kubeconfig }));
    const msg = failed(r, 11);
    expect(msg).toContain('kube-apiserver');
    expect(msg).toMatch(/certificate|self[- ]signed|verify/i);
    expect(r.ms).toBeLessThan(3000); // not retried
    expect(api.calls).toEqual([]);
    nothingAttached(w);
  });
});

// ---- the API server misbehaving ----------------------------------------------------------------------

describe('ADD and DEL when the API server is unavailable or the pod changes', () => {
  it('fails ADD within the kubeTimeout with an error naming the API server when the server is down, attaching nothing', async () => {
    const server = await ownServer();
    const w = world({ annotations: { [NETWORKS]: 'x' } }, server);
    await server.stop();
    const r = await w.run('ADD', w.conf({ kubeTimeout: 2, kubeRequestTimeout: 1 }));
    const msg = failed(r, 11);
    expect(msg).toContain('kube-apiserver');
    expect(msg).toContain(server.url);
    expect(r.ms).toBeLessThan(5000);
    nothingAttached(w);
  });

  it('fails ADD within the kubeTimeout when the API server accepts connections but never answers', async () => {
    const w = world({ annotations: { [NETWORKS]: 'x' } });
    api.fault({ hang: true, times: Infinity });
    const r = await w.run('ADD', w.conf({ kubeTimeout: 2, kubeRequestTimeout: 0.5 }));
    const msg = failed(r, 11);
    expect(msg).toContain('kube-apiserver');
    expect(r.ms).toBeLessThan(5000);
    nothingAttached(w);
    api.clearFaults();
  });

  it('DELs from the cache when the API server is down', async () => {
    const server = await ownServer();
    const w = world({ annotations: { [NETWORKS]: 'downnet' } }, server);
    server.addNad('team-a', 'downnet', w.macvlan('downnet').config);
    const config = w.conf();
    ok(await w.run('ADD', config));
    expect(linksIn(w.ns).sort()).toEqual(['eth0', 'net1']);
    await server.stop();
    const del = await w.run('DEL', config);
    ok(del);
    expect(del.ms).toBeLessThan(5000);
    nothingAttached(w);
  });

  it('DELs with zero API calls even when the API server drops every connection', async () => {
    const w = world({ annotations: { [NETWORKS]: 'dropnet' } });
    api.addNad('team-a', 'dropnet', w.macvlan('dropnet').config);
    const config = w.conf();
    ok(await w.run('ADD', config));
    api.resetCalls();
    api.fault({ destroy: true, times: Infinity });
    ok(await w.run('DEL', config));
    expect(api.calls).toEqual([]);
    nothingAttached(w);
  });

  it('DELs a pod that was deleted from the API server after ADD', async () => {
    const w = world({ annotations: { [NETWORKS]: 'gone' } });
    api.addNad('team-a', 'gone', w.macvlan('gone').config);
    const config = w.conf();
    ok(await w.run('ADD', config));
    api.deletePod(w.pod.namespace, w.pod.name);
    ok(await w.run('DEL', config));
    nothingAttached(w);
  });

  it('attaches only eth0 when the pod is missing at ADD, and writes no status', async () => {
    const w = world({ create: false, annotations: { [NETWORKS]: 'ignored' } });
    const config = w.conf();
    const add = await w.run('ADD', config);
    ok(add);
    expect(linksIn(w.ns)).toEqual(['eth0']);
    expect(api.calls.map((c) => `${c.method} ${c.path} ${c.status}`)).toEqual([`GET /api/v1/namespaces/team-a/pods/${w.pod.name} 404`]);
    ok(await w.run('DEL', config));
    nothingAttached(w);
  });

  it('fails ADD with code 11 on a pod UID mismatch, attaching nothing', async () => {
    const w = world({ annotations: { [NETWORKS]: 'uidnet' } });
    api.addNad('team-a', 'uidnet', w.macvlan('uidnet').config);
    const r = await w.run('ADD', w.conf(), { args: w.args.replace(`K8S_POD_UID=${w.pod.uid}`, 'K8S_POD_UID=another-uid') });
    const msg = failed(r, 11);
    expect(msg).toContain('another-uid');
    expect(msg).toContain(w.pod.uid);
    nothingAttached(w);
    expect(patches(api)).toEqual([]);
  });

  it('exempts a static pod (kubernetes.io/config.source: file) from the UID check', async () => {
    const w = world({ annotations: { [NETWORKS]: 'staticnet', 'kubernetes.io/config.source': 'file' } });
    api.addNad('team-a', 'staticnet', w.macvlan('staticnet').config);
    const config = w.conf();
    const args = w.args.replace(`K8S_POD_UID=${w.pod.uid}`, 'K8S_POD_UID=config-hash-uid');
    ok(await w.run('ADD', config, { args }));
    expect(linksIn(w.ns).sort()).toEqual(['eth0', 'net1']);
    // The status lands on the mirror pod, and its events name the mirror pod's UID (what kubectl describe matches).
    expect(networkStatus(api, w).map((e) => e.interface)).toEqual(['eth0', 'net1']);
    await new Promise((r) => setTimeout(r, 200));
    expect(api.events().map((e) => e.involvedObject.uid)).toEqual([w.pod.uid, w.pod.uid]);
    ok(await w.run('DEL', config, { args }));
    nothingAttached(w);
  });

  it('writes the status of a static pod whose annotations come from the runtime (no UID to hold the write to)', async () => {
    const annotations = { [NETWORKS]: 'staticnet', 'kubernetes.io/config.source': 'file' };
    const w = world({ annotations });
    api.addNad('team-a', 'staticnet', w.macvlan('staticnet').config);
    const config = w.conf({ events: false, capabilities: { [POD_ANNOTATIONS]: true }, runtimeConfig: { [POD_ANNOTATIONS]: annotations } });
    const args = w.args.replace(`K8S_POD_UID=${w.pod.uid}`, 'K8S_POD_UID=config-hash-uid');
    ok(await w.run('ADD', config, { args }));
    const [patch] = patches(api);
    expect(patch.status).toBe(200);
    expect(patch.body.metadata.uid).toBeUndefined(); // K8S_POD_UID is the config hash, not the mirror pod's UID
    expect(networkStatus(api, w).map((e) => e.interface)).toEqual(['eth0', 'net1']);
    ok(await w.run('DEL', config, { args }));
    nothingAttached(w);
  });

  for (const [how, viaRuntime] of [['after GET pod', false], ['with the pod-annotations capability', true]] as const) {
    it(`does not write the old sandbox's network-status onto a pod recreated under the same name (${how})`, async () => {
      const w = world({ annotations: { [NETWORKS]: 'renet' } });
      api.addNad('team-a', 'renet', w.macvlan('renet').config);
      // The pod is deleted and recreated (a StatefulSet pod) while the delegates run, before the status write.
      let newUid = '';
      api.faults.push((call) => {
        if (call.method === 'PATCH' && !newUid) {
          api.deletePod(w.pod.namespace, w.pod.name);
          newUid = api.addPod({ metadata: { namespace: w.pod.namespace, name: w.pod.name, annotations: { [NETWORKS]: 'renet' } } }).metadata.uid;
        }
        return undefined;
      });
      const config = viaRuntime
        ? w.conf({ capabilities: { [POD_ANNOTATIONS]: true }, runtimeConfig: { [POD_ANNOTATIONS]: { [NETWORKS]: 'renet' } } })
        : w.conf();
      ok(await w.run('ADD', config)); // as with a 404: this sandbox's pod is gone, the kubelet tears the sandbox down
      const ps = patches(api);
      expect(ps).toHaveLength(1);
      expect(ps[0].body.metadata.uid).toBe(w.pod.uid);
      expect(ps[0].status).toBe(422);
      const now = api.pod(w.pod.namespace, w.pod.name)!;
      expect(now.metadata.uid).toBe(newUid);
      expect(now.metadata.annotations?.[NETWORK_STATUS]).toBeUndefined();
      ok(await w.run('DEL', config));
      nothingAttached(w);
    });
  }

  it('retries GET pod (reset connection, 503) and GET NAD (503, 429) until they succeed, and ADD succeeds', async () => {
    const w = world({ annotations: { [NETWORKS]: 'retryread' } });
    api.addNad('team-a', 'retryread', w.macvlan('retryread').config);
    const podPath = /^\/api\/v1\/namespaces\/[^/]+\/pods\/[^/]+$/;
    const nadPath = /\/network-attachment-definitions\//;
    api.fault({ method: 'GET', path: podPath, destroy: true });
    api.fault({ method: 'GET', path: podPath, status: 503 });
    api.fault({ method: 'GET', path: nadPath, status: 503 });
    api.fault({ method: 'GET', path: nadPath, status: 429 });
    const config = w.conf({ events: false });
    ok(await w.run('ADD', config));
    expect(api.calls.filter(isPodGet).map((c) => c.status)).toEqual([0, 503, 200]);
    expect(api.calls.filter(isNadGet).map((c) => [c.path, c.status])).toEqual([503, 429, 200].map((status) => [
      '/apis/k8s.cni.cncf.io/v1/namespaces/team-a/network-attachment-definitions/retryread', status,
    ]));
    expect(linksIn(w.ns).sort()).toEqual(['eth0', 'net1']);
    expect(networkStatus(api, w).map((e) => e.name)).toEqual(['podnet', 'team-a/retryread']);
    ok(await w.run('DEL', config));
    nothingAttached(w);
  });
});

// ---- network-status and round trips ---------------------------------------------------------------

describe('network-status, events and round trips', () => {
  it('writes a Multus network-status with one merge-patch on pods/status', async () => {
    const w = world({ annotations: { [NETWORKS]: 'macvlan-a, fakenet', 'keep-me': 'yes' } });
    const m = w.macvlan('macvlan-a');
    api.addNad('team-a', 'macvlan-a', m.config);
    const fakeSubnet = nextSubnet();
    api.addNad('team-a', 'fakenet', {
      cniVersion: '1.1.0',
      name: 'fakenet',
      type: 'fake',
      result: {
        cniVersion: '1.1.0',
        interfaces: [{ name: 'net2', mac: '02:00:0a:fa:00:02', mtu: 1400, sandbox: w.netns }],
        ips: [{ address: `${hostOf(fakeSubnet, 9)}/24`, interface: 0 }, { address: 'fd00:250::9/64', interface: 0 }],
        dns: { nameservers: [hostOf(fakeSubnet, 53)], search: ['svc.example'] },
      },
    });
    const config = w.conf({ events: false });
    ok(await w.run('ADD', config));

    const eth0Ip = addressesIn(w.ns, 'eth0')[0].split('/')[0];
    const net1Ip = addressesIn(w.ns, 'net1')[0].split('/')[0];
    const text = api.pod(w.pod.namespace, w.pod.name)!.metadata.annotations![NETWORK_STATUS];
    const status = JSON.parse(text);
    expect(text).toBe(JSON.stringify(status, null, 4)); // Multus's MarshalIndent layout
    // The reference plugins (1.1.1) report the MTU they set; the fake plugin reports 1400.
    const eth0 = linkOf(w.ns, 'eth0');
    const net1 = linkOf(w.ns, 'net1');
    expect(status).toEqual([
      { name: 'podnet', interface: 'eth0', ips: [eth0Ip], mac: eth0.address, mtu: eth0.mtu, default: true, dns: {}, gateway: [hostOf(w.podSubnet, 1)] },
      { name: 'team-a/macvlan-a', interface: 'net1', ips: [net1Ip], mac: net1.address, mtu: net1.mtu, dns: {} },
      { name: 'team-a/fakenet', interface: 'net2', ips: [hostOf(fakeSubnet, 9), 'fd00:250::9'], mac: '02:00:0a:fa:00:02', mtu: 1400, dns: { nameservers: [hostOf(fakeSubnet, 53)], search: ['svc.example'] } },
    ]);
    // Field order, as Multus's NetworkStatus struct marshals it.
    expect(status.map((e: object) => Object.keys(e))).toEqual([
      ['name', 'interface', 'ips', 'mac', 'mtu', 'default', 'dns', 'gateway'],
      ['name', 'interface', 'ips', 'mac', 'mtu', 'dns'],
      ['name', 'interface', 'ips', 'mac', 'mtu', 'dns'],
    ]);
    // The pod's other annotations survive: a merge-patch, not a replace.
    const annotations = api.pod(w.pod.namespace, w.pod.name)!.metadata.annotations!;
    expect(annotations['keep-me']).toBe('yes');
    expect(annotations[NETWORKS]).toBe('macvlan-a, fakenet');

    // Exactly: GET pod, the NADs, one PATCH on pods/status; no PUT, no re-read before writing.
    const calls = apiCalls(api);
    expect(calls.map((c) => c.method)).toEqual(['GET', 'GET', 'GET', 'PATCH']);
    const patch = calls[3];
    expect(patch.path).toBe(`/api/v1/namespaces/team-a/pods/${w.pod.name}/status`);
    expect(patch.contentType).toBe('application/merge-patch+json');
    // The UID makes the write fail on a pod recreated under the same name (metadata.uid is immutable).
    expect(patch.body).toEqual({ metadata: { uid: w.pod.uid, annotations: { [NETWORK_STATUS]: text } } });
    expect(patch.status).toBe(200);
    expect(api.calls.some((c) => c.method === 'PUT')).toBe(false);

    ok(await w.run('DEL', config));
    nothingAttached(w);
  });

  it('rolls the whole ADD back when the status write keeps failing', async () => {
    const w = world({ annotations: { [NETWORKS]: 'rollnet' } });
    api.addNad('team-a', 'rollnet', w.macvlan('rollnet').config);
    api.fault({ method: 'PATCH', path: /\/pods\/[^/]+\/status$/, status: 500, times: Infinity });
    const r = await w.run('ADD', w.conf());
    const msg = failed(r, 11);
    expect(msg).toContain('kube-apiserver');
    expect(msg).toContain(w.pod.name);
    nothingAttached(w);
    const tries = patches(api).length;
    expect(tries).toBeGreaterThanOrEqual(2); // retried ...
    expect(tries).toBeLessThanOrEqual(5); // ... boundedly
    expect(api.pod(w.pod.namespace, w.pod.name)!.metadata.annotations?.[NETWORK_STATUS]).toBeUndefined();
  });

  it('recovers from one failed status write by retrying the same merge-patch', async () => {
    const w = world({ annotations: { [NETWORKS]: 'retrynet' } });
    api.addNad('team-a', 'retrynet', w.macvlan('retrynet').config);
    api.fault({ method: 'PATCH', status: 500, times: 1 });
    const config = w.conf({ events: false });
    ok(await w.run('ADD', config));
    const ps = patches(api);
    expect(ps.map((p) => p.status)).toEqual([500, 200]);
    expect(ps[1].body).toEqual(ps[0].body);
    expect(networkStatus(api, w)).toHaveLength(2);
    ok(await w.run('DEL', config));
    nothingAttached(w);
  });

  it('tolerates a 404 on the status write (the pod was deleted meanwhile)', async () => {
    const w = world({ annotations: { [NETWORKS]: 'racenet' } });
    api.addNad('team-a', 'racenet', w.macvlan('racenet').config);
    api.fault({ method: 'PATCH', status: 404, times: Infinity, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `pods "${w.pod.name}" not found`, reason: 'NotFound', details: { name: w.pod.name, kind: 'pods' }, code: 404 } });
    const config = w.conf();
    ok(await w.run('ADD', config));
    expect(linksIn(w.ns).sort()).toEqual(['eth0', 'net1']);
    expect(patches(api)).toHaveLength(1);
    ok(await w.run('DEL', config));
    nothingAttached(w);
  });

  it('makes GET pod, 2 parallel NAD GETs and 1 PATCH for a 2-NAD pod, and no API call on DEL', async () => {
    const w = world({ annotations: { [NETWORKS]: 'rt-a, rt-b' } });
    api.addNad('team-a', 'rt-a', w.macvlan('rt-a').config);
    api.addNad('team-a', 'rt-b', w.macvlan('rt-b').config);
    api.latencyMs = 150;
    const config = w.conf();
    ok(await w.run('ADD', config));
    const calls = apiCalls(api);
    expect(calls.filter(isPodGet)).toHaveLength(1);
    expect(calls.filter(isNadGet).map((c) => c.path).sort()).toEqual([
      '/apis/k8s.cni.cncf.io/v1/namespaces/team-a/network-attachment-definitions/rt-a',
      '/apis/k8s.cni.cncf.io/v1/namespaces/team-a/network-attachment-definitions/rt-b',
    ]);
    expect(patches(api)).toHaveLength(1);
    expect(calls).toHaveLength(4);
    expect(api.maxOverlap(isNadGet)).toBeGreaterThanOrEqual(2);
    expect(api.maxInFlight).toBeGreaterThanOrEqual(2);
    expect(api.sequentialDepth((c) => !isEvent(c))).toBe(3); // pod, then both NADs at once, then the patch
    expect(api.calls.filter(isEvent).length).toBeLessThanOrEqual(3); // events are counted apart: at most one per attachment

    api.resetCalls();
    ok(await w.run('DEL', config));
    expect(api.calls).toEqual([]);
    nothingAttached(w);
  });

  it('skips GET pod when the runtime passes the pod annotations (io.kubernetes.cri.pod-annotations)', async () => {
    const w = world({ annotations: { [NETWORKS]: 'not-what-the-runtime-says' } });
    api.addNad('team-a', 'cap-a', w.macvlan('cap-a').config);
    api.addNad('team-a', 'cap-b', w.macvlan('cap-b').config);
    const config = w.conf({
      capabilities: { [POD_ANNOTATIONS]: true },
      runtimeConfig: { [POD_ANNOTATIONS]: { [NETWORKS]: 'cap-a, cap-b' } },
    });
    api.latencyMs = 150; // so that parallel requests visibly overlap
    ok(await w.run('ADD', config));
    expect(linksIn(w.ns).sort()).toEqual(['eth0', 'net1', 'net2']);
    const calls = apiCalls(api);
    expect(calls.filter((c) => c.method === 'GET' && c.path.includes('/pods/'))).toEqual([]);
    expect(calls.filter(isNadGet)).toHaveLength(2);
    expect(patches(api)).toHaveLength(1);
    expect(calls).toHaveLength(3);
    expect(api.sequentialDepth((c) => !isEvent(c))).toBe(2); // both NADs at once, then the patch
    expect(networkStatus(api, w).map((e) => e.name)).toEqual(['podnet', 'team-a/cap-a', 'team-a/cap-b']);
    api.resetCalls();
    ok(await w.run('DEL', config));
    expect(api.calls).toEqual([]);
    nothingAttached(w);
  });

  it('posts an AddedInterface event per attachment, and none with events: false', async () => {
    const w = world({ annotations: { [NETWORKS]: 'evnet' } });
    api.addNad('team-a', 'evnet', w.macvlan('evnet').config);
    const config = w.conf();
    ok(await w.run('ADD', config));
    // Best effort, but braid gives them a moment after the status write: on a healthy server they arrive.
    await new Promise((r) => setTimeout(r, 200));
    const events = api.events();
    expect(events.map((e) => e.reason)).toEqual(['AddedInterface', 'AddedInterface']);
    for (const e of events) {
      expect(e.involvedObject).toMatchObject({ kind: 'Pod', namespace: 'team-a', name: w.pod.name, uid: w.pod.uid });
      expect(e.metadata.namespace).toBe('team-a');
      expect(e.type).toBe('Normal');
    }
    const messages = events.map((e) => e.message as string).sort();
    expect(messages[0]).toMatch(/^Add eth0 \[10\.250\.\d+\.\d+\/24\] from podnet$/);
    expect(messages[1]).toMatch(/^Add net1 \[10\.250\.\d+\.\d+\/24\] from team-a\/evnet$/);
    ok(await w.run('DEL', config));
    nothingAttached(w);

    api.resetCalls();
    const quiet = w.conf({ events: false });
    ok(await w.run('ADD', quiet));
    await new Promise((r) => setTimeout(r, 200));
    expect(api.calls.filter(isEvent)).toEqual([]);
    expect(patches(api)).toHaveLength(1);
    ok(await w.run('DEL', quiet));
    nothingAttached(w);
  });

  it('fails no ADD when the events API is broken', async () => {
    const w = world({ annotations: { [NETWORKS]: 'evbroken' } });
    api.addNad('team-a', 'evbroken', w.macvlan('evbroken').config);
    api.fault({ method: 'POST', path: /\/events$/, status: 403, times: Infinity });
    const config = w.conf();
    ok(await w.run('ADD', config));
    expect(linksIn(w.ns).sort()).toEqual(['eth0', 'net1']);
    ok(await w.run('DEL', config));
    nothingAttached(w);
  });

  it('finishes ADD promptly when the events endpoint never answers', async () => {
    const w = world({ annotations: { [NETWORKS]: 'evhang' } });
    api.addNad('team-a', 'evhang', w.macvlan('evhang').config);
    api.fault({ method: 'POST', path: /\/events$/, hang: true, times: Infinity });
    // A long request timeout: were ADD held by a hung event, it would take about this long.
    const kubeRequestTimeout = 10;
    const config = w.conf({ kubeRequestTimeout, kubeTimeout: 20 });
    const add = await w.run('ADD', config);
    ok(add);
    expect(add.ms).toBeLessThan((kubeRequestTimeout * 1000) / 2);
    expect(linksIn(w.ns).sort()).toEqual(['eth0', 'net1']);
    expect(networkStatus(api, w).map((e) => e.interface)).toEqual(['eth0', 'net1']);
    const events = api.calls.filter(isEvent);
    expect(events.length).toBeGreaterThanOrEqual(1); // the events went out ...
    expect(events.map((c) => c.status)).toEqual(events.map(() => undefined)); // ... and were never answered
    ok(await w.run('DEL', config));
    nothingAttached(w);
  });
});

// ---- braid config meeting the API ---------------------------------------------------------------------

describe('systemNamespaces, default-network, clusterNetwork and defaultNetworks by name', () => {
  function storageConf(w: World): string {
    const m = w.macvlan('storage');
    fs.writeFileSync(path.join(w.sb.confDir, 'storage.conf'), JSON.stringify(m.config));
    return m.subnet;
  }

  it('gives a pod in a system namespace no defaultNetworks and writes it no status', async () => {
    const w = world({ namespace: 'kube-system' });
    storageConf(w);
    const config = w.conf({ defaultNetworks: ['storage'] });
    ok(await w.run('ADD', config));
    expect(linksIn(w.ns)).toEqual(['eth0']);
    expect(patches(api)).toEqual([]);
    expect(api.calls.filter(isEvent)).toEqual([]);
    expect(api.pod('kube-system', w.pod.name)!.metadata.annotations?.[NETWORK_STATUS]).toBeUndefined();
    ok(await w.run('DEL', config));
    nothingAttached(w);
  });

  it('compares the namespace, not the pod name: a pod named kube-system in default gets defaultNetworks and a status', async () => {
    const w = world({ namespace: 'default', name: 'kube-system' });
    const subnet = storageConf(w);
    const config = w.conf({ defaultNetworks: ['storage'] });
    ok(await w.run('ADD', config));
    expect(linksIn(w.ns).sort()).toEqual(['eth0', 'net1']);
    expect(inSubnet(addressesIn(w.ns, 'net1')[0], subnet)).toBe(true);
    expect(patches(api).map((c) => c.path)).toEqual(['/api/v1/namespaces/default/pods/kube-system/status']);
    expect(networkStatus(api, w).map((e) => e.name)).toEqual(['podnet', 'storage']);
    ok(await w.run('DEL', config));
    nothingAttached(w);
  });

  it('replaces the cluster network with the NAD of v1.multus-cni.io/default-network from multusNamespace', async () => {
    const w = world({ annotations: { [DEFAULT_NETWORK]: 'alt-cluster' } });
    const altBridge = w.sb.linkName('alt');
    const altSubnet = nextSubnet();
    api.addNad('kube-system', 'alt-cluster', bridgeConf(w.sb, altBridge, altSubnet, 'alt-cluster'));
    const config = w.conf();
    ok(await w.run('ADD', config));
    expect(linksIn(w.ns)).toEqual(['eth0']);
    expect(inSubnet(addressesIn(w.ns, 'eth0')[0], altSubnet)).toBe(true);
    expect(() => ip('link', 'show', w.bridge)).toThrow(); // the configured cluster network never ran
    const status = networkStatus(api, w);
    expect(status).toHaveLength(1);
    expect(status[0]).toMatchObject({ name: 'kube-system/alt-cluster', interface: 'eth0', default: true });
    ok(await w.run('DEL', config));
    nothingAttached(w);
  });

  it('resolves clusterNetwork given by name as a NAD in multusNamespace first', async () => {
    const w = world({ namespace: 'team-b' });
    const nadSubnet = nextSubnet();
    const fileSubnet = nextSubnet();
    const nadBridge = w.sb.linkName('cn');
    api.addNad('braid-system', 'podnet', bridgeConf(w.sb, nadBridge, nadSubnet));
    fs.writeFileSync(path.join(w.sb.confDir, '10-podnet.conf'), JSON.stringify(bridgeConf(w.sb, w.bridge, fileSubnet)));
    const config = w.conf({ delegates: undefined, clusterNetwork: 'podnet', multusNamespace: 'braid-system' });
    ok(await w.run('ADD', config));
    expect(inSubnet(addressesIn(w.ns, 'eth0')[0], nadSubnet)).toBe(true);
    expect(api.calls.filter(isNadGet).map((c) => c.path)).toEqual(['/apis/k8s.cni.cncf.io/v1/namespaces/braid-system/network-attachment-definitions/podnet']);
    ok(await w.run('DEL', config));
    nothingAttached(w);
  });

  it('resolves clusterNetwork given by name from confDir when multusNamespace has no such NAD', async () => {
    const w = world({ namespace: 'team-b' });
    const fileSubnet = nextSubnet();
    fs.writeFileSync(path.join(w.sb.confDir, '10-podnet.conf'), JSON.stringify(bridgeConf(w.sb, w.bridge, fileSubnet)));
    const config = w.conf({ delegates: undefined, clusterNetwork: 'podnet' });
    ok(await w.run('ADD', config));
    expect(inSubnet(addressesIn(w.ns, 'eth0')[0], fileSubnet)).toBe(true);
    expect(networkStatus(api, w).map((e) => [e.name, e.default])).toEqual([['podnet', true]]);
    ok(await w.run('DEL', config));
    nothingAttached(w);
  });

  it('falls back to the conf of the same name in confDir for a NAD with an empty spec.config', async () => {
    const w = world({ annotations: { [NETWORKS]: 'storage' } });
    const subnet = storageConf(w);
    api.addNad('team-a', 'storage', undefined);
    const config = w.conf();
    ok(await w.run('ADD', config));
    expect(linksIn(w.ns).sort()).toEqual(['eth0', 'net1']);
    expect(inSubnet(addressesIn(w.ns, 'net1')[0], subnet)).toBe(true);
    expect(networkStatus(api, w)[1]).toMatchObject({ name: 'team-a/storage', interface: 'net1' });
    ok(await w.run('DEL', config));
    nothingAttached(w);
  });

  it('names a NAD config without "name" after the NAD', async () => {
    const w = world({ annotations: { [NETWORKS]: 'nameless' } });
    api.addNad('team-a', 'nameless', { cniVersion: '1.0.0', type: 'fake', ip: `${hostOf(nextSubnet(), 7)}/24` });
    const config = w.conf();
    ok(await w.run('ADD', config));
    const adds = fakeCalls(w.fakeLog).filter((c) => c.command === 'ADD');
    expect(adds).toHaveLength(1);
    expect(adds[0].config.name).toBe('nameless');
    expect(adds[0].env.CNI_IFNAME).toBe('net1');
    ok(await w.run('DEL', config));
    expect(fakeCalls(w.fakeLog).filter((c) => c.command === 'DEL').map((c) => c.config.name)).toEqual(['nameless']);
    nothingAttached(w);
  });
});

// ---- selection-element requests ---------------------------------------------------------------------

describe('selection-element requests reaching the plugins', () => {
  it('puts cni-args into args.cni of every plugin (the annotation winning) and IP=/MAC= into CNI_ARGS', async () => {
    const subnet = nextSubnet();
    const address = `${hostOf(subnet, 9)}/24`;
    const mac = '02:11:22:33:44:55';
    const w = world({ annotations: { [NETWORKS]: JSON.stringify([{ name: 'argsnet', ips: [address], mac, 'cni-args': { foo: 'pod', extra: 'e' } }]) } });
    api.addNad('team-a', 'argsnet', {
      cniVersion: '1.0.0',
      name: 'argsnet',
      plugins: [
        { type: 'fake', capabilities: { ips: true, mac: true }, args: { cni: { foo: 'nad', keep: 'k' } } },
        { type: 'fake', args: { cni: { foo: 'nad2' }, other: { x: 1 } } },
      ],
    });
    const config = w.conf();
    ok(await w.run('ADD', config));
    const adds = fakeCalls(w.fakeLog).filter((c) => c.command === 'ADD');
    expect(adds).toHaveLength(2);
    expect(adds[0].config.args).toEqual({ cni: { foo: 'pod', keep: 'k', extra: 'e' } });
    expect(adds[1].config.args).toEqual({ cni: { foo: 'pod', extra: 'e' }, other: { x: 1 } });
    expect(adds[0].config.runtimeConfig).toEqual({ ips: [address], mac });
    expect(adds[1].config.runtimeConfig).toBeUndefined(); // no capabilities, no runtimeConfig
    for (const a of adds) {
      const pairs = a.env.CNI_ARGS.split(';');
      expect(pairs).toContain(`IP=${address}`);
      expect(pairs).toContain(`MAC=${mac}`);
      expect(pairs).toContain('IgnoreUnknown=1');
      expect(pairs).toContain(`K8S_POD_NAME=${w.pod.name}`);
    }
    ok(await w.run('DEL', config));
    nothingAttached(w);
  });

  it('refuses ips together with ipam-claim-reference with code 7, attaching nothing', async () => {
    const w = world({ annotations: { [NETWORKS]: JSON.stringify([{ name: 'claimnet', ips: ['10.250.149.5/24'], 'ipam-claim-reference': 'claim-1' }]) } });
    api.addNad('team-a', 'claimnet', { cniVersion: '1.0.0', name: 'claimnet', type: 'fake', capabilities: { ips: true } });
    const msg = failed(await w.run('ADD', w.conf()), 7);
    expect(msg).toContain('ipam-claim-reference');
    nothingAttached(w);
    expect(fakeCalls(w.fakeLog)).toEqual([]);
  });

  it('refuses two default-route gateways of one family with code 7 before any plugin runs', async () => {
    const s1 = nextSubnet();
    const s2 = nextSubnet();
    const w = world({ annotations: { [NETWORKS]: JSON.stringify([{ name: 'gw-a', 'default-route': [hostOf(s1, 1)] }, { name: 'gw-b', 'default-route': [hostOf(s2, 1)] }]) } });
    api.addNad('team-a', 'gw-a', { cniVersion: '1.0.0', name: 'gw-a', type: 'fake', ip: `${hostOf(s1, 5)}/24` });
    api.addNad('team-a', 'gw-b', { cniVersion: '1.0.0', name: 'gw-b', type: 'fake', ip: `${hostOf(s2, 5)}/24` });
    const msg = failed(await w.run('ADD', w.conf()), 7);
    expect(msg).toContain('default-route');
    expect(msg).toContain('team-a/gw-a');
    expect(msg).toContain('team-a/gw-b');
    nothingAttached(w);
    expect(fakeCalls(w.fakeLog)).toEqual([]);
  });
});
