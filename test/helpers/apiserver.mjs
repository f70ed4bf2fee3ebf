// A protocol-faithful kube-apiserver for tests and the benchmark: HTTPS with a throwaway CA (made with
// the openssl CLI), h2 or HTTP/1.1 by ALPN with every TLS handshake counted (apiserver-tls.mjs), bearer-token or client-certificate auth, pods, NetworkAttachmentDefinitions,
// events (core/v1 and events.k8s.io/v1) and merge-patch on pods/status, answering with Kubernetes
// `Status` bodies exactly as the real server shapes them. Tests steer it through latency, fault
// injection and a call log that also records how many requests were in flight at once.
//
// Plain ESM JavaScript so that packaging/bench.mjs can import it without a TypeScript toolchain;
// the types are in apiserver.d.mts.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { createTlsListener, dropConnection, requestTransport } from './apiserver-tls.mjs';
import { WatchedMap, WatchHub } from './apiserver-watch.mjs';

const NAD_GROUP = 'k8s.cni.cncf.io';
const MERGE_PATCH = 'application/merge-patch+json';

// Temp dirs of servers not stopped yet: removed at process exit too, whatever the caller does.
const liveDirs = new Set();
process.on('exit', () => {
  for (const d of liveDirs) fs.rmSync(d, { recursive: true, force: true });
});
function removeDir(dir) {
  liveDirs.delete(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}

function openssl(args, cwd) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, a server certificate for 127.0.0.1/localhost and a client certificate, all signed by the CA. */
function makeCertificates(dir) {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=braid-test-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  const leaf = (name, subj, ext) => {
    fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(['req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj], dir);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial',
      `0x${randomBytes(8).toString('hex')}`, '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`], dir);
  };
  leaf('server', '/CN=kube-apiserver', [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '',
  ].join('\n'));
  leaf('client', '/O=system:nodes/CN=system:node:braid-test', [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=clientAuth',
    '',
  ].join('\n'));
  const read = (f) => fs.readFileSync(path.join(dir, f), 'utf8');
  return {
    ca: read('ca.crt'),
    serverCert: read('server.crt'),
    serverKey: read('server.key'),
    clientCert: read('client.crt'),
    clientKey: read('client.key'),
  };
}

/** A Kubernetes `Status` failure body, with the field order the apiserver uses. */
export function statusBody(code, reason, message, details) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

const REASONS = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

const clone = (o) => (o === undefined ? undefined : JSON.parse(JSON.stringify(o)));

/** RFC 7386 JSON merge patch: objects merge recursively, null deletes, anything else replaces. */
export function mergePatch(target, patch) {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return clone(patch);
  const out = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

class HttpFailure extends Error {
  constructor(code, reason, message, details) {
    super(message);
    this.code = code;
    this.body = statusBody(code, reason, message, details);
  }
}

const notFound = (resource, group, name) => new HttpFailure(404, 'NotFound',
  `${group ? `${resource}.${group}` : resource} "${name}" not found`, { name, ...(group ? { group } : {}), kind: resource });

function matches(rule, method, p) {
  if (rule.method && rule.method.toUpperCase() !== method) return false;
  if (rule.path === undefined) return true;
  return rule.path instanceof RegExp ? rule.path.test(p) : p === rule.path || new RegExp(rule.path).test(p);
}

// A plain-HTTP listener (kubectl proxy, a local API server), shaped as createTlsListener's; it logs no TLS connection.
function createPlainListener(onRequest) {
  const server = http.createServer(onRequest);
  const sockets = new Set();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return { server, sockets, connections: [] };
}

/** The test server. Start it with `startApiServer()`. */
export class ApiServer {
  constructor(opts = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-apiserver-'));
    liveDirs.add(this.dir);
    this.token = opts.token ?? `braid-test-${randomBytes(12).toString('hex')}`;
    try {
      this.pki = makeCertificates(this.dir);
    } catch (e) {
      removeDir(this.dir);
      throw e;
    }
    this.caFile = path.join(this.dir, 'ca.crt');
    /** Delay before every answer, in milliseconds. */
    this.latencyMs = opts.latencyMs ?? 0;
    /** Fault rules, consulted in order; see `fault()`. A function entry is called with the request and returns a rule or undefined. */
    this.faults = [];
    /** Every request received, oldest first. */
    this.calls = [];
    this.inFlight = 0;
    this.maxInFlight = 0;
    this.resourceVersion = 1000;
    this.watches = new WatchHub(this, opts.watch);
    this.pods = new WatchedMap(this.watches, 'pods');
    this.nads = new WatchedMap(this.watches, 'nads');
    this.eventList = [];
    this.pending = new Set();
    const onRequest = (req, res) => {
      this.handle(req, res).catch(() => res.destroy());
    };
    /** `plainHttp`: no TLS, as `kubectl proxy` or a local API server serves (the token is still checked). */
    this.plainHttp = opts.plainHttp === true;
    const listener = this.plainHttp ? createPlainListener(onRequest) : createTlsListener(this.pki, { http1Only: opts.http1Only }, onRequest);
    this.server = listener.server;
    this.sockets = listener.sockets;
    /** Every TLS connection accepted, oldest first: `{ id, alpn, resumed, at }`. */
    this.connections = listener.connections;
  }

  async listen() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = this.server.address().port;
    this.url = `${this.plainHttp ? 'http' : 'https'}://127.0.0.1:${this.port}`;
    this.stopped = false;
    return this;
  }

  // ---- objects ----------------------------------------------------------------------------------

  nextVersion() {
    this.resourceVersion += 1;
    return String(this.resourceVersion);
  }

  /** Stores a pod (namespace defaults to "default"; uid, resourceVersion and timestamps are filled in) and returns a copy. */
  addPod(obj) {
    const input = clone(obj) ?? {};
    const meta = input.metadata ?? {};
    if (!meta.name) throw new Error('addPod: metadata.name is required');
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      ...input,
      metadata: {
        name: meta.name,
        namespace: meta.namespace || 'default',
        uid: meta.uid ?? randomUUID(),
        resourceVersion: this.nextVersion(),
        creationTimestamp: meta.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        ...meta,
      },
      spec: input.spec ?? { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] },
      status: input.status ?? { phase: 'Pending' },
    };
    pod.apiVersion = 'v1';
    pod.kind = 'Pod';
    pod.metadata.namespace ||= 'default';
    pod.metadata.uid ||= randomUUID();
    this.pods.set(`${pod.metadata.namespace}/${pod.metadata.name}`, pod);
    return clone(pod);
  }

  /** Deletes a pod; true when it existed. */
  deletePod(namespace, name) {
    return this.pods.delete(`${namespace}/${name}`);
  }

  /** A copy of the stored pod, or undefined. */
  pod(namespace, name) {
    return clone(this.pods.get(`${namespace}/${name}`));
  }

  /** Stores a NetworkAttachmentDefinition; `config` is a string, an object (JSON-encoded) or undefined/"" for an empty spec. */
  addNad(namespace, name, config, annotations) {
    const text = config === undefined ? undefined : typeof config === 'string' ? config : JSON.stringify(config);
    const nad = {
      apiVersion: `${NAD_GROUP}/v1`,
      kind: 'NetworkAttachmentDefinition',
      metadata: {
        name,
        namespace,
        uid: randomUUID(),
        resourceVersion: this.nextVersion(),
        generation: 1,
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        ...(annotations && Object.keys(annotations).length ? { annotations: { ...annotations } } : {}),
      },
      spec: text === undefined ? {} : { config: text },
    };
    this.nads.set(`${namespace}/${name}`, nad);
    return clone(nad);
  }

  deleteNad(namespace, name) {
    return this.nads.delete(`${namespace}/${name}`);
  }

  /** Events posted so far (either API group), oldest first. */
  events() {
    return clone(this.eventList);
  }

  // ---- test controls ----------------------------------------------------------------------------

  /**
   * Adds a fault rule and returns it. The next `times` requests (default 1; Infinity for all) matching
   * `method` and `path` (a RegExp or regex source, tested against the URL path) get `status` with a
   * Status body (or `body`), or have their connection destroyed (`destroy`), or never get an answer
   * (`hang`). `delayMs` adds latency. `hits` counts how often the rule fired.
   */
  fault(rule) {
    const r = { times: 1, hits: 0, ...rule };
    this.faults.push(r);
    return r;
  }

  clearFaults() {
    this.faults.length = 0;
  }

  resetCalls() {
    this.calls.length = 0;
    this.connections.length = 0;
    this.maxInFlight = this.inFlight;
  }

  /** Forgets objects, calls and faults, and sets latency back to 0. */
  reset() {
    this.pods.clear();
    this.nads.clear();
    this.eventList.length = 0;
    this.clearFaults();
    this.latencyMs = 0;
    this.resetCalls();
  }

  /** The largest number of requests matching `pred` that were being handled at the same moment. */
  maxOverlap(pred = () => true) {
    const points = this.calls.filter(pred).flatMap((c) => [[c.at, 1], [c.done ?? Infinity, -1]]);
    points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let cur = 0;
    let max = 0;
    for (const [, d] of points) {
      cur += d;
      max = Math.max(max, cur);
    }
    return max;
  }

  /**
   * Sequential round trips among the requests matching `pred`: the longest chain of requests each of
   * which began after the one before it was answered. Parallel requests count once.
   */
  sequentialDepth(pred = () => true) {
    const calls = this.calls.filter(pred).sort((a, b) => a.at - b.at);
    const depth = [];
    calls.forEach((c, i) => {
      depth[i] = 1 + Math.max(0, ...calls.slice(0, i).map((p, j) => (p.done !== undefined && p.done <= c.at ? depth[j] : 0)));
    });
    return Math.max(0, ...depth);
  }

  /**
   * Writes a kubeconfig for this server into `dir` and returns its path. Auth: the server's token
   * (default), `token: "<other>"`, `tokenFile: true`, or `clientCert: true`. The CA is inlined, so the
   * file stays valid after stop().
   */
  kubeconfig(dir, opts = {}) {
    fs.mkdirSync(dir, { recursive: true });
    const b64 = (s) => Buffer.from(s).toString('base64');
    const user = [];
    if (opts.clientCert) {
      user.push(`    client-certificate-data: ${b64(this.pki.clientCert)}`, `    client-key-data: ${b64(this.pki.clientKey)}`);
    }
    if (opts.tokenFile) {
      const tf = path.join(dir, `${opts.name ?? 'kubeconfig'}.token`);
      fs.writeFileSync(tf, `${typeof opts.token === 'string' ? opts.token : this.token}\n`, { mode: 0o600 });
      user.push(`    tokenFile: ${JSON.stringify(tf)}`);
    } else if (typeof opts.token === 'string') {
      user.push(`    token: ${JSON.stringify(opts.token)}`);
    } else if (!opts.clientCert || opts.token === true) {
      user.push(`    token: ${JSON.stringify(this.token)}`);
    }
    const text = [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: braid-test',
      '  cluster:',
      `    server: ${JSON.stringify(opts.server ?? this.url)}`,
      `    certificate-authority-data: ${b64(this.pki.ca)}`,
      'users:',
      '- name: braid-test',
      '  user:',
      ...(user.length ? user : ['    {}']),
      'contexts:',
      '- name: braid-test',
      '  context:',
      '    cluster: braid-test',
      '    user: braid-test',
      'current-context: braid-test',
      '',
    ].join('\n');
    const file = path.join(dir, `${opts.name ?? 'kubeconfig'}.yaml`);
    fs.writeFileSync(file, text, { mode: 0o600 });
    return file;
  }

  /**
   * Closes the port, drops every connection and removes the temp dir. The dir goes synchronously, so a
   * caller that does not await (or exits right away) leaks nothing. Idempotent.
   */
  stop() {
    if (this.closing) return this.closing;
    this.stopped = true;
    removeDir(this.dir);
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
    this.closing = new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
    for (const s of this.sockets) s.destroy();
    this.server.closeAllConnections?.();
    return this.closing;
  }

  // ---- protocol ---------------------------------------------------------------------------------

  sleep(ms) {
    if (!ms) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.pending.delete(t);
        resolve();
      }, ms);
      this.pending.add(t);
    });
  }

  authenticated(req) {
    const auth = req.headers.authorization ?? '';
    if (auth === `Bearer ${this.token}`) return true;
    // A client certificate the CA signed (kubeconfig client-certificate auth); x509 is tried first, as in the apiserver's union authenticator.
    return req.socket.authorized === true;
  }

  pickFault(call) {
    for (const f of this.faults) {
      const rule = typeof f === 'function' ? f(call) : f;
      if (!rule || typeof f !== 'function' && (rule.hits >= rule.times || !matches(rule, call.method, call.path))) continue;
      if (typeof f !== 'function') rule.hits += 1;
      return rule;
    }
    return undefined;
  }

  async handle(req, res) {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    const call = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search,
      contentType: req.headers['content-type'],
      servername: req.socket.servername || undefined,
      ...requestTransport(req),
      userAgent: req.headers['user-agent'],
      body,
      at: performance.now(),
    };
    this.calls.push(call);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      this.inFlight -= 1;
      call.done = performance.now();
    };
    res.on('close', finish);
    const fault = this.pickFault(call);
    await this.sleep(this.latencyMs + (fault?.delayMs ?? 0));
    if (this.stopped) return;
    if (fault?.hang) return; // the client's timeout has to deal with it; stop() drops the connection
    if (fault?.destroy) {
      call.status = 0;
      dropConnection(req);
      return;
    }
    let status;
    let out;
    if (fault?.status) {
      status = fault.status;
      out = fault.body ?? statusBody(status, REASONS[status] ?? 'Unknown', fault.message ?? `injected fault: ${status}`);
    } else if (!this.authenticated(req)) {
      status = 401;
      out = statusBody(401, 'Unauthorized', 'Unauthorized');
    } else if (this.watches.isWatch(call)) {
      call.status = 200;
      return this.watches.stream(call, res);
    } else {
      try {
        [status, out] = this.route(call, req);
      } catch (e) {
        if (!(e instanceof HttpFailure)) throw e;
        status = e.code;
        out = e.body;
      }
    }
    call.status = status;
    const text = JSON.stringify(out);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Audit-Id': randomUUID() });
    res.end(text);
  }

  route(call, req) {
    const p = call.path.replace(/\/+$/, '');
    const listed = this.watches.list(call);
    if (listed) return listed;
    let m;
    if ((m = p.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)(\/status)?$/))) {
      return this.podRoute(call, decodeURIComponent(m[1]), decodeURIComponent(m[2]), Boolean(m[3]), req);
    }
    if ((m = p.match(/^\/apis\/k8s\.cni\.cncf\.io\/v1\/namespaces\/([^/]+)\/network-attachment-definitions\/([^/]+)$/))) {
      if (call.method !== 'GET') throw this.methodNotAllowed(call);
      const nad = this.nads.get(`${decodeURIComponent(m[1])}/${decodeURIComponent(m[2])}`);
      if (!nad) throw notFound('network-attachment-definitions', NAD_GROUP, decodeURIComponent(m[2]));
      return [200, nad];
    }
    if ((m = p.match(/^\/api\/v1\/namespaces\/([^/]+)\/events$/))) return this.postEvent(call, decodeURIComponent(m[1]), 'v1');
    if ((m = p.match(/^\/apis\/events\.k8s\.io\/v1\/namespaces\/([^/]+)\/events$/))) return this.postEvent(call, decodeURIComponent(m[1]), 'events.k8s.io/v1');
    throw new HttpFailure(404, 'NotFound', 'the server could not find the requested resource', { });
  }

  methodNotAllowed(call) {
    return new HttpFailure(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${call.method})`, {});
  }

  requireJsonObject(call) {
    if (typeof call.body !== 'object' || call.body === null || Array.isArray(call.body)) {
      throw new HttpFailure(400, 'BadRequest', 'the body of the request was in an unknown format');
    }
    return call.body;
  }

  podRoute(call, namespace, name, status, req) {
    const key = `${namespace}/${name}`;
    const pod = this.pods.get(key);
    if (call.method === 'GET') {
      if (!pod) throw notFound('pods', undefined, name);
      return [200, pod];
    }
    if (call.method === 'PATCH') {
      const type = String(req.headers['content-type'] ?? '').split(';')[0].trim();
      if (type !== MERGE_PATCH) {
        throw new HttpFailure(415, 'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: ${MERGE_PATCH}`);
      }
      if (!pod) throw notFound('pods', undefined, name);
      const patch = this.requireJsonObject(call);
      const rv = patch.metadata?.resourceVersion;
      if (rv !== undefined && rv !== null && rv !== pod.metadata.resourceVersion) throw this.conflict(name);
      let next = mergePatch(pod, patch);
      next = this.keepImmutable(pod, next, status);
      this.pods.set(key, next);
      return [200, next];
    }
    if (call.method === 'PUT') {
      if (!pod) throw notFound('pods', undefined, name);
      const obj = this.requireJsonObject(call);
      if (obj.metadata?.resourceVersion !== pod.metadata.resourceVersion) throw this.conflict(name);
      const next = this.keepImmutable(pod, clone(obj), status);
      this.pods.set(key, next);
      return [200, next];
    }
    if (call.method === 'DELETE' && !status) {
      if (!pod) throw notFound('pods', undefined, name);
      this.pods.delete(key);
      return [200, pod];
    }
    throw this.methodNotAllowed(call);
  }

  conflict(name) {
    return new HttpFailure(409, 'Conflict',
      `Operation cannot be fulfilled on pods "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      { name, kind: 'pods' });
  }

  // checkName and ValidateObjectMetaUpdate: a body naming another object is refused (400), and
  // name/namespace/uid are immutable (422 Invalid), so a write carrying a stale uid cannot land on a
  // pod recreated under the same name. What the pod (status) strategy keeps: the spec through pods/status.
  keepImmutable(old, next, status) {
    const meta = next.metadata ?? {};
    for (const field of ['name', 'namespace']) {
      if (meta[field] !== undefined && meta[field] !== old.metadata[field]) {
        throw new HttpFailure(400, 'BadRequest', `the ${field} of the object (${meta[field]}) does not match the ${field} on the URL (${old.metadata[field]})`);
      }
    }
    if (meta.uid !== undefined && meta.uid !== old.metadata.uid) {
      const why = `Invalid value: ${JSON.stringify(meta.uid)}: field is immutable`;
      throw new HttpFailure(422, 'Invalid', `Pod ${JSON.stringify(old.metadata.name)} is invalid: metadata.uid: ${why}`,
        { name: old.metadata.name, kind: 'Pod', causes: [{ reason: 'FieldValueInvalid', message: why, field: 'metadata.uid' }] });
    }
    next.apiVersion = 'v1';
    next.kind = 'Pod';
    next.metadata = { ...meta, name: old.metadata.name, namespace: old.metadata.namespace,
      uid: old.metadata.uid, creationTimestamp: old.metadata.creationTimestamp };
    if (status) next.spec = clone(old.spec);
    next.metadata.resourceVersion = this.nextVersion();
    return next;
  }

  postEvent(call, namespace, apiVersion) {
    if (call.method !== 'POST') throw this.methodNotAllowed(call);
    const ev = clone(this.requireJsonObject(call));
    if (ev.kind !== 'Event') throw new HttpFailure(400, 'BadRequest', `expected kind Event, got ${JSON.stringify(ev.kind)}`);
    if (ev.apiVersion !== apiVersion) throw new HttpFailure(400, 'BadRequest', `expected apiVersion ${apiVersion}, got ${JSON.stringify(ev.apiVersion)}`);
    ev.metadata ??= {};
    if (ev.metadata.namespace && ev.metadata.namespace !== namespace) {
      throw new HttpFailure(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    }
    ev.metadata.namespace = namespace;
    if (!ev.metadata.name) {
      if (!ev.metadata.generateName) {
        throw new HttpFailure(422, 'Invalid', 'Event "" is invalid: metadata.name: Required value: name or generateName is required');
      }
      ev.metadata.name = `${ev.metadata.generateName}${randomBytes(8).toString('hex')}`;
    }
    ev.metadata.uid = randomUUID();
    ev.metadata.resourceVersion = this.nextVersion();
    this.eventList.push(ev);
    return [201, ev];
  }
}

/** Generates certificates, starts the server on 127.0.0.1 on an ephemeral port and returns it. */
export async function startApiServer(opts = {}) {
  const server = new ApiServer(opts);
  try {
    return await server.listen();
  } catch (e) {
    await server.stop();
    throw e;
  }
}
