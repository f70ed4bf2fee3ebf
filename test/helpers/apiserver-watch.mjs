// List and watch for the test kube-apiserver (apiserver.mjs), as the real server does them: collection
// GETs answer a List with the store's resourceVersion; `?watch=1` streams newline-delimited watch events
// (ADDED/MODIFIED/DELETED, BOOKMARK when allowWatchBookmarks=true, ERROR with a 410 Expired Status when
// the asked resourceVersion is older than the event history), honouring fieldSelector
// (metadata.name, metadata.namespace, spec.nodeName) and timeoutSeconds. The server's object maps are
// WatchedMaps, so every create, update and delete (tests' addPod/addNad/deletePod/deleteNad, PATCH/PUT/
// DELETE requests, reset()) becomes a watch event.

import { statusBody } from './apiserver.mjs';

const clone = (o) => JSON.parse(JSON.stringify(o));

/** Resources that can be listed and watched: URL segment → [API prefix, List kind, map name]. */
const RESOURCES = {
  pods: { prefix: '/api/v1', kind: 'PodList', apiVersion: 'v1', map: 'pods' },
  'network-attachment-definitions': {
    prefix: '/apis/k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinitionList', apiVersion: 'k8s.cni.cncf.io/v1', map: 'nads',
  },
};

/** Parses a collection path: { resource, namespace? } or undefined. */
function collectionOf(path) {
  const m = path.replace(/\/+$/, '').match(/^(\/api\/v1|\/apis\/k8s\.cni\.cncf\.io\/v1)(?:\/namespaces\/([^/]+))?\/([^/]+)$/);
  if (!m) return undefined;
  const res = RESOURCES[m[3]];
  if (!res || res.prefix !== m[1]) return undefined;
  return { res, namespace: m[2] ? decodeURIComponent(m[2]) : undefined };
}

function fieldValue(obj, field) {
  return field.split('.').reduce((o, k) => (o === undefined || o === null ? undefined : o[k]), obj) ?? '';
}

/** A fieldSelector the server cannot parse: 400 BadRequest. */
class SelectorError extends Error {}

/** [status, body] of a request whose fieldSelector does not parse, or rethrows. */
function badSelector(e) {
  if (!(e instanceof SelectorError)) throw e;
  return [400, statusBody(400, 'BadRequest', e.message)];
}

/** A predicate for `fieldSelector` (comma-separated `a.b=v` / `a.b!=v`) and the namespace of the URL. */
function selector(query, namespace) {
  const terms = (query.get('fieldSelector') ?? '').split(',').filter(Boolean).map((t) => {
    const m = t.match(/^([^!=]+)(!=|==|=)(.*)$/);
    if (!m) throw new SelectorError(`invalid field selector: ${t}`);
    return { field: m[1].trim(), negate: m[2] === '!=', value: m[3].trim() };
  });
  return (obj) => obj !== undefined
    && (namespace === undefined || obj.metadata.namespace === namespace)
    && terms.every((t) => (String(fieldValue(obj, t.field)) === t.value) !== t.negate);
}

/** A Map of stored objects that reports every change to the hub as a watch event. */
export class WatchedMap extends Map {
  constructor(hub, resource) {
    super();
    this.hub = hub;
    this.resource = resource;
  }

  set(key, obj) {
    const old = super.get(key);
    super.set(key, obj);
    this.hub?.emit(this.resource, old ? 'MODIFIED' : 'ADDED', obj, old);
    return this;
  }

  delete(key) {
    const old = super.get(key);
    if (!old || !super.delete(key)) return false;
    // A deletion has a resourceVersion of its own, as in etcd.
    const gone = { ...clone(old), metadata: { ...clone(old.metadata), resourceVersion: this.hub.server.nextVersion() } };
    this.hub.emit(this.resource, 'DELETED', gone, old);
    return true;
  }

  clear() {
    for (const key of [...this.keys()]) this.delete(key);
  }
}

/** The watch side of the server: event history, open watches, bookmarks. */
export class WatchHub {
  constructor(server, opts = {}) {
    this.server = server;
    /** Events kept for watches resuming from a resourceVersion; older ones answer 410 Gone. */
    this.historyLimit = opts.historyLimit ?? 10_000;
    /** How often open watches that allow bookmarks get one (ms). */
    this.bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 1000;
    /** Delay before open watches get an event (a slow watch path): the object is already readable with GET. */
    this.deliveryDelayMs = 0;
    this.history = [];
    /** Watch events older than this resourceVersion are gone (compacted). */
    this.oldestKept = 0;
    this.watchers = new Set();
    /** Every watch started, oldest first: { resource, query, at, events }. */
    this.watchLog = [];
  }

  emit(resource, type, obj, old) {
    const event = { resource, type, object: clone(obj), old: old && clone(old), rv: Number(obj.metadata.resourceVersion) };
    this.history.push(event);
    if (this.history.length > this.historyLimit) this.oldestKept = this.history.shift().rv + 1;
    const deliver = () => { for (const w of this.watchers) w.deliver(event); };
    if (this.deliveryDelayMs > 0) setTimeout(deliver, this.deliveryDelayMs).unref();
    else deliver();
  }

  /** Forgets the event history up to now and ends every open watch with 410 Gone: watchers must relist. */
  expire() {
    this.oldestKept = Number(this.server.nextVersion()) + 1;
    this.history.length = 0;
    for (const w of [...this.watchers]) w.gone();
  }

  /** Sends a bookmark now on every open watch that allows them. */
  bookmark() {
    for (const w of this.watchers) w.bookmark();
  }

  /** Ends every open watch cleanly (as a server-side timeout does): watchers resume from their last resourceVersion. */
  closeWatches() {
    for (const w of [...this.watchers]) w.end();
  }

  /** A List answer for a collection GET, or undefined when `call` is not one. */
  list(call) {
    if (call.method !== 'GET') return undefined;
    const coll = collectionOf(call.path);
    const query = new URLSearchParams(call.query);
    if (!coll || query.get('watch') === 'true' || query.get('watch') === '1') return undefined;
    let match;
    try {
      match = selector(query, coll.namespace);
    } catch (e) {
      return badSelector(e);
    }
    const items = [...this.server[coll.res.map].values()].filter(match).map(clone);
    return [200, { kind: coll.res.kind, apiVersion: coll.res.apiVersion, metadata: { resourceVersion: String(this.server.resourceVersion) }, items }];
  }

  /** True when `call` is a watch request. */
  isWatch(call) {
    const query = new URLSearchParams(call.query);
    return call.method === 'GET' && collectionOf(call.path) !== undefined && (query.get('watch') === 'true' || query.get('watch') === '1');
  }

  /** Streams a watch on `res` until the client goes, timeoutSeconds pass, or the watch expires. */
  stream(call, res) {
    const coll = collectionOf(call.path);
    const query = new URLSearchParams(call.query);
    let match;
    try {
      match = selector(query, coll.namespace);
    } catch (e) {
      const [status, body] = badSelector(e);
      call.status = status;
      res.writeHead(status, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify(body));
    }
    const rv = query.get('resourceVersion') ?? '';
    const entry = { resource: coll.res.map, query: call.query, at: Date.now(), events: [] };
    this.watchLog.push(entry);
    res.writeHead(200, { 'Content-Type': 'application/json' }); // chunked on HTTP/1.1, a stream on h2
    const send = (type, object) => {
      entry.events.push(type);
      res.write(`${JSON.stringify({ type, object })}\n`);
    };
    const w = {
      lastRv: Number(this.server.resourceVersion),
      deliver: (ev) => {
        if (ev.resource !== coll.res.map) return;
        const now = match(ev.object);
        const before = ev.old !== undefined && match(ev.old);
        const type = ev.type === 'DELETED' ? (before ? 'DELETED' : undefined)
          : now && !before ? 'ADDED' : now ? ev.type : before ? 'DELETED' : undefined;
        w.lastRv = ev.rv;
        if (type) send(type, ev.object);
      },
      bookmark: () => {
        if (query.get('allowWatchBookmarks') !== 'true') return;
        send('BOOKMARK', { kind: coll.res.kind.replace(/List$/, ''), apiVersion: coll.res.apiVersion, metadata: { resourceVersion: String(w.lastRv) } });
      },
      gone: () => {
        send('ERROR', { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${rv}`, reason: 'Expired', code: 410 });
        w.end();
      },
      end: () => {
        this.watchers.delete(w);
        clearInterval(timer);
        clearTimeout(timeout);
        res.end();
      },
    };
    const timer = setInterval(() => w.bookmark(), this.bookmarkIntervalMs);
    timer.unref();
    const seconds = Number(query.get('timeoutSeconds') ?? 0);
    const timeout = seconds > 0 ? setTimeout(() => w.end(), seconds * 1000) : undefined;
    timeout?.unref();
    res.on('close', () => {
      this.watchers.delete(w);
      clearInterval(timer);
      clearTimeout(timeout);
    });
    if (rv === '' || rv === '0') {
      // No position: the current state as synthetic ADDED events, then changes.
      for (const obj of this.server[coll.res.map].values()) if (match(obj)) send('ADDED', clone(obj));
    } else if (Number(rv) + 1 < this.oldestKept) {
      w.gone();
      return;
    } else {
      for (const ev of this.history) if (ev.rv > Number(rv)) w.deliver(ev);
    }
    this.watchers.add(w);
  }
}
