import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runBraidAsync, type BraidOutcome } from '../helpers/braid';
import { braidConf, ok } from '../helpers/cni';
import { hostOf, linksIn, nsName, sandbox, v4SubnetAllocator, type Sandbox } from '../helpers/host';
import { startApiServer, type ApiCall, type ApiServer, type KubeconfigOptions } from '../helpers/apiserver.mjs';
import { NETWORKS, networkStatusOf, POD_ANNOTATIONS, useApiServer } from '../helpers/k8s';

// How the exec'd braid reaches the kube-apiserver on the thin path: one TLS connection per
// invocation (h2 by ALPN, every request a stream on it; one queued keep-alive socket on an HTTP/1.1-only
// server), and TLS sessions resumed across invocations from a 0600 cache in cniDir. The test server
// counts handshakes and resumptions; braid runs as a runtime runs it, in real netns with real plugins.
// Address range of this file: 10.250.210.0/24 … 10.250.214.0/24.

let api: ApiServer;
useApiServer((s) => { api = s; });

const nextSubnet = v4SubnetAllocator(210, 5);
const NAMESPACE = 'team-c';
const isNadGet = (c: ApiCall) => c.method === 'GET' && c.path.includes('/network-attachment-definitions/');
const isEvent = (c: ApiCall) => c.path.endsWith('/events');

/** A pod selecting two macvlan NADs, with a bridge cluster network; `cniDir` may be shared between pods. */
interface Pod {
  sb: Sandbox;
  /** The pod's netns name. */
  ns: string;
  run(command: string, extraEnv?: Record<string, string>): Promise<BraidOutcome>;
  name: string;
}

function twoNadPod(server: ApiServer, opts: { cniDir?: string; kube?: KubeconfigOptions; events?: boolean; conf?: Record<string, unknown> } = {}): Pod {
  const sb = sandbox();
  const netns = sb.netns();
  const name = `pod-${sb.id}`;
  const uid = server.addPod({ metadata: { namespace: NAMESPACE, name, uid: `uid-${sb.id}`, annotations: { [NETWORKS]: `nad-a-${sb.id}, nad-b-${sb.id}` } } }).metadata.uid;
  for (const tag of ['a', 'b']) {
    const [parent] = sb.veth(tag);
    server.addNad(NAMESPACE, `nad-${tag}-${sb.id}`, {
      cniVersion: '1.0.0', type: 'macvlan', master: parent, mode: 'bridge', ipam: { type: 'host-local', subnet: nextSubnet(), dataDir: sb.ipamDir },
    });
  }
  const podSubnet = nextSubnet();
  const config = braidConf(sb, {
    kubeconfig: server.kubeconfig(sb.dir, opts.kube),
    kubeRequestTimeout: 2,
    kubeTimeout: 4,
    events: opts.events ?? true,
    ...(opts.cniDir ? { cniDir: opts.cniDir } : {}),
    ...opts.conf,
    delegates: [{
      cniVersion: '1.0.0', name: 'podnet', type: 'bridge', bridge: sb.linkName('br'),
      ipam: { type: 'host-local', subnet: podSubnet, dataDir: sb.ipamDir, routes: [{ dst: '0.0.0.0/0', gw: hostOf(podSubnet, 1) }] },
    }],
  });
  const args = `IgnoreUnknown=1;K8S_POD_NAMESPACE=${NAMESPACE};K8S_POD_NAME=${name};K8S_POD_INFRA_CONTAINER_ID=c-${sb.id};K8S_POD_UID=${uid}`;
  return {
    sb,
    ns: nsName(netns),
    name,
    run: (command, env = {}) => runBraidAsync({ command, containerID: `c-${sb.id}`, netns, ifname: 'eth0', args, config, env }),
  };
}

/** The TLS session files braid keeps under `cniDir`. */
function sessionFiles(cniDir: string): string[] {
  const dir = path.join(cniDir, 'tls-sessions');
  return fs.existsSync(dir) ? fs.readdirSync(dir).map((f) => path.join(dir, f)) : [];
}

/**
 * A TCP relay to 127.0.0.1:`port` whose open connections can be silenced: from then on nothing passes
 * either way and nothing is closed, as when a peer or a NAT entry vanishes. New connections still pass.
 */
async function silenceableRelay(port: number): Promise<{ url: string; silence(): void }> {
  const muted = new WeakSet<net.Socket>();
  const sockets = new Set<net.Socket>();
  const relay = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    for (const [from, to] of [[client, upstream], [upstream, client]]) {
      sockets.add(from);
      from.on('data', (d) => { if (!muted.has(from)) to.write(d); });
      from.on('error', () => {});
      from.on('close', () => { sockets.delete(from); if (!muted.has(from)) to.destroy(); });
    }
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  onTestFinished(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => relay.close(r));
  });
  return {
    url: `https://127.0.0.1:${(relay.address() as net.AddressInfo).port}`,
    silence: () => { for (const s of sockets) muted.add(s); },
  };
}

/** Asserts every request the server logged came over its only connection. */
function allOverOneConnection(server: ApiServer, alpn: 'h2' | 'http/1.1'): void {
  expect(server.connections.map((c) => c.alpn)).toEqual([alpn]);
  expect(new Set(server.calls.map((c) => c.connection))).toEqual(new Set([server.connections[0].id]));
  expect(new Set(server.calls.map((c) => c.protocol))).toEqual(new Set([alpn]));
}

describe('one connection per invocation', () => {
  it('sends every request of a 2-NAD ADD (GET pod, NAD GETs, PATCH, events) as h2 streams over one TLS connection, the NAD GETs in parallel', async () => {
    api.latencyMs = 20; // long enough for the two NAD GETs to be seen overlapping
    const pod = twoNadPod(api);
    ok(await pod.run('ADD'));
    allOverOneConnection(api, 'h2');
    expect(api.connections[0].resumed).toBe(false); // nothing cached yet
    expect(api.calls.filter(isNadGet)).toHaveLength(2);
    expect(api.maxOverlap(isNadGet)).toBe(2);
    expect(api.calls.filter((c) => c.method === 'PATCH')).toHaveLength(1);
    expect(api.calls.filter(isEvent).length).toBe(3);
    expect(networkStatusOf(api, NAMESPACE, pod.name).map((e) => e.interface)).toEqual(['eth0', 'net1', 'net2']);
  });

  it('queues the requests on one keep-alive connection when the server offers only HTTP/1.1 by ALPN', async () => {
    const old = await startApiServer({ http1Only: true });
    onTestFinished(() => old.stop());
    const pod = twoNadPod(old);
    ok(await pod.run('ADD'));
    allOverOneConnection(old, 'http/1.1');
    expect(old.maxOverlap()).toBe(1);
    expect(old.calls.filter((c) => c.method === 'PATCH')).toHaveLength(1);
    expect(networkStatusOf(old, NAMESPACE, pod.name).map((e) => e.interface)).toEqual(['eth0', 'net1', 'net2']);
  });

  it('reopens the connection, resuming its session, when the server drops it mid-ADD, and the ADD succeeds', async () => {
    const pod = twoNadPod(api);
    api.fault({ method: 'GET', path: /\/pods\//, destroy: true });
    ok(await pod.run('ADD'));
    expect(api.connections.map((c) => c.resumed)).toEqual([false, true]);
    expect(api.calls.filter((c) => c.method === 'PATCH').map((c) => c.connection)).toEqual([api.connections[1].id]);
  });

  it('drops a connection that goes silent mid-ADD (no RST, no PING answer) and finishes the ADD on a new one', async () => {
    const relay = await silenceableRelay(api.port);
    const pod = twoNadPod(api, { kube: { server: relay.url }, conf: { kubeRequestTimeout: 1, kubeTimeout: 10 } });
    let silenced = false;
    api.faults.push((call) => {
      if (!silenced && call.method === 'GET' && /\/pods\//.test(call.path)) {
        silenced = true;
        relay.silence(); // the answer to this GET never reaches braid
      }
      return undefined;
    });
    ok(await pod.run('ADD'));
    // (Whether the second resumes depends on the session ticket having crossed before the silence.)
    expect(api.connections).toHaveLength(2);
    expect(api.calls.filter((c) => c.method === 'PATCH').map((c) => c.connection)).toEqual([api.connections[1].id]);
  });

  it('makes no connection on DEL', async () => {
    const pod = twoNadPod(api);
    ok(await pod.run('ADD'));
    api.resetCalls();
    ok(await pod.run('DEL'));
    expect(api.connections).toEqual([]);
    expect(linksIn(pod.ns)).toEqual([]);
  });
});

describe('TLS session resumption across invocations', () => {
  it('resumes the session the previous ADD cached: one handshake, resumed', async () => {
    const first = twoNadPod(api);
    ok(await first.run('ADD'));
    expect(api.connections.map((c) => c.resumed)).toEqual([false]);
    api.resetCalls();
    const second = twoNadPod(api, { cniDir: first.sb.cniDir });
    ok(await second.run('ADD'));
    allOverOneConnection(api, 'h2');
    expect(api.connections[0].resumed).toBe(true);
  });

  it('keeps the session in a 0600 file in a 0700 dir under cniDir, without the bearer token', async () => {
    const pod = twoNadPod(api);
    ok(await pod.run('ADD'));
    const files = sessionFiles(pod.sb.cniDir);
    expect(files).toHaveLength(1);
    expect(fs.statSync(path.dirname(files[0])).mode & 0o777).toBe(0o700);
    expect(fs.statSync(files[0]).mode & 0o777).toBe(0o600);
    const bytes = fs.readFileSync(files[0]);
    expect(bytes.length).toBeGreaterThan(0);
    expect(bytes.includes(Buffer.from(api.token))).toBe(false);
    expect(bytes.includes(Buffer.from(Buffer.from(api.token).toString('base64')))).toBe(false);
  });

  it('does not offer a session cached for other credentials or another server', async () => {
    const byToken = twoNadPod(api);
    ok(await byToken.run('ADD'));
    const cniDir = byToken.sb.cniDir;
    api.resetCalls();
    // A client certificate is part of a TLS session: a session made without it must not be resumed with it.
    const byCert = twoNadPod(api, { cniDir, kube: { clientCert: true } });
    ok(await byCert.run('ADD'));
    expect(api.connections.map((c) => c.resumed)).toEqual([false]);
    const other = await startApiServer();
    onTestFinished(() => other.stop());
    const elsewhere = twoNadPod(other, { cniDir });
    ok(await elsewhere.run('ADD'));
    expect(other.connections.map((c) => c.resumed)).toEqual([false]);
    expect(sessionFiles(cniDir)).toHaveLength(3);
    api.resetCalls();
    const byCertAgain = twoNadPod(api, { cniDir, kube: { clientCert: true } });
    ok(await byCertAgain.run('ADD'));
    expect(api.connections.map((c) => c.resumed)).toEqual([true]);
  });

  it('pays a full handshake, not a failed ADD, for a corrupt session file, and replaces it', async () => {
    const first = twoNadPod(api);
    ok(await first.run('ADD'));
    const [file] = sessionFiles(first.sb.cniDir);
    fs.writeFileSync(file, 'not a TLS session');
    api.resetCalls();
    const second = twoNadPod(api, { cniDir: first.sb.cniDir });
    ok(await second.run('ADD'));
    expect(api.connections.map((c) => c.resumed)).toEqual([false]);
    expect(fs.readFileSync(file).toString()).not.toBe('not a TLS session');
    api.resetCalls();
    const third = twoNadPod(api, { cniDir: first.sb.cniDir });
    ok(await third.run('ADD'));
    expect(api.connections.map((c) => c.resumed)).toEqual([true]);
  });
});

describe('what an invocation loads', () => {
  const TLS_MODULES = /^NativeModule (tls|_tls_wrap|https|http2)$/;

  /** Runs `fn` with a --require preload that records the node built-ins braid loaded, and returns those of TLS/HTTP2. */
  async function tlsModulesLoaded(sb: Sandbox, fn: (env: Record<string, string>) => Promise<BraidOutcome>): Promise<string[]> {
    const out = path.join(sb.dir, 'modules.txt');
    const preload = sb.write('probe.cjs', `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(out)}, process.moduleLoadList.join('\\n')));`);
    fs.rmSync(out, { force: true });
    ok(await fn({ NODE_OPTIONS: `--require ${preload}` }));
    return fs.readFileSync(out, 'utf8').split('\n').filter((m) => TLS_MODULES.test(m)).sort();
  }

  it('loads http2 and tls for a Kubernetes ADD, and none of tls, https or http2 for DEL, VERSION or a clusterless ADD', async () => {
    const pod = twoNadPod(api);
    expect(await tlsModulesLoaded(pod.sb, (env) => pod.run('ADD', env))).toEqual(['NativeModule _tls_wrap', 'NativeModule http2', 'NativeModule tls']);
    expect(await tlsModulesLoaded(pod.sb, (env) => pod.run('DEL', env))).toEqual([]);
    expect(await tlsModulesLoaded(pod.sb, (env) => runBraidAsync({ command: 'VERSION', config: { cniVersion: '1.0.0' }, env }))).toEqual([]);

    // Clusterless: the NAD comes from nadDir and the pod's annotations from the runtime.
    const sb = sandbox();
    const netns = sb.netns();
    const [parent] = sb.veth('c');
    const nadDir = path.join(sb.dir, 'nads');
    sb.write('nads/local.yaml', `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: local
  namespace: ${NAMESPACE}
spec:
  config: '{"cniVersion":"1.0.0","type":"macvlan","master":"${parent}","mode":"bridge","ipam":{"type":"host-local","subnet":"${nextSubnet()}","dataDir":"${sb.ipamDir}"}}'
`);
    const podSubnet = nextSubnet();
    const config = braidConf(sb, {
      nadDir,
      capabilities: { [POD_ANNOTATIONS]: true },
      runtimeConfig: { [POD_ANNOTATIONS]: { [NETWORKS]: 'local' } },
      delegates: [{ cniVersion: '1.0.0', name: 'podnet', type: 'bridge', bridge: sb.linkName('br'), ipam: { type: 'host-local', subnet: podSubnet, dataDir: sb.ipamDir } }],
    });
    const args = `IgnoreUnknown=1;K8S_POD_NAMESPACE=${NAMESPACE};K8S_POD_NAME=local-${sb.id}`;
    const call = (command: string, env: Record<string, string>) => runBraidAsync({ command, containerID: `c-${sb.id}`, netns, ifname: 'eth0', args, config, env });
    expect(await tlsModulesLoaded(sb, (env) => call('ADD', env))).toEqual([]);
    expect(linksIn(nsName(netns)).sort()).toEqual(['eth0', 'net1']);
    ok(await call('DEL', {}));
  });
});
