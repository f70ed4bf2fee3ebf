import type { Agent } from 'node:http';
import https = require('node:https');
import type { KubeClient } from '../k8s/client';
import type { Credentials } from '../k8s/credentials';

/** One watch event as the API server streams it. */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: any;
}

/** A watch the server refused or broke off with a Status (410 Expired among them). */
export class WatchFailure extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** How a watch reaches the server: the client's HTTP/2 connection, else connections of its own. */
export interface WatchTransport {
  client: KubeClient;
  creds: Credentials;
  /** For an HTTP/1.1-only (or plain http://) server: the watches' own keep-alive connections (a watch holds one for minutes). */
  agent: Agent;
  userAgent: string;
}

/** The agent for watches on an HTTP/1.1-only server: TLS verified and authenticated as the credentials say (plain for an http:// server). */
export function watchAgent(creds: Credentials): Agent {
  // A plain http:// server (kubectl proxy, a local API server), as the KubeClient allows it.
  if (creds.server.startsWith('http://')) return new (require('node:http') as typeof import('node:http')).Agent({ keepAlive: true });
  const tlsOptions = { ca: creds.ca, cert: creds.cert, key: creds.key, rejectUnauthorized: !creds.insecureSkipTLSVerify };
  return new https.Agent({ keepAlive: true, ...tlsOptions, ...(creds.tlsServerName ? { servername: creds.tlsServerName } : {}) });
}

/** The body of one watch answer, whatever carries it. */
interface Answer {
  on(event: 'data', fn: (chunk: string) => void): unknown;
  on(event: 'end', fn: () => void): unknown;
  on(event: 'error', fn: (e: Error) => void): unknown;
  setEncoding(enc: 'utf8'): unknown;
}

// Reads newline-delimited events (or, for a non-200 answer, its Status text) and settles once.
function consume(path: string, answer: Answer, status: number, onEvent: (e: WatchEvent) => void, settle: (e?: Error) => void): void {
  answer.setEncoding('utf8');
  let buffered = '';
  if (status !== 200) {
    answer.on('data', (c) => { buffered += c; });
    answer.on('end', () => settle(new WatchFailure(status, `watch ${path}: HTTP ${status}: ${buffered.slice(0, 300)}`)));
    return;
  }
  answer.on('data', (chunk) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (!line) continue;
      try {
        const event = JSON.parse(line) as WatchEvent;
        if (event.type === 'ERROR') {
          return settle(new WatchFailure(event.object?.code ?? 0, `watch ${path}: ${event.object?.reason ?? ''} ${event.object?.message ?? ''}`.trim()));
        }
        onEvent(event);
      } catch (e) {
        // A line that is not an event (or an object the cache cannot take): this watch is not to be trusted further.
        return settle(new Error(`watch ${path}: bad event: ${(e as Error).message}`));
      }
    }
  });
  answer.on('end', () => settle());
  answer.on('error', (e) => settle(e));
}

/**
 * Streams one watch (`path` carries the query) and calls `onEvent` for each event, in order: as a
 * stream of the client's HTTP/2 connection, or on an HTTP/1.1-only server over the watches' own
 * connection. Resolves when the server ends the watch; rejects with a WatchFailure for a non-200 answer
 * or an ERROR event, or with the transport's error. `idleMs` without a byte (not even a bookmark)
 * counts as a dead connection.
 */
export function streamWatch(t: WatchTransport, path: string, idleMs: number, onEvent: (e: WatchEvent) => void): { done: Promise<void>; cancel: () => void } {
  let close = () => {};
  let cancelled = false;
  const done = new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (e?: Error) => {
      if (settled) return;
      settled = true;
      close();
      if (e && !cancelled) reject(e);
      else resolve();
    };
    t.client.watchStream(path).then((h2) => {
      if (h2) {
        close = () => h2.close();
        h2.setTimeout(idleMs, () => settle(new Error(`watch ${path}: nothing received for ${idleMs} ms`)));
        h2.on('response', (h) => consume(path, h2, Number(h[':status'] ?? 0), onEvent, settle));
        h2.on('error', (e) => settle(e));
        h2.on('close', () => settle(new Error(`watch ${path}: stream closed (code ${h2.rstCode})`)));
        if (cancelled) settle();
        return;
      }
      const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': t.userAgent };
      if (t.creds.token) headers.Authorization = `Bearer ${t.creds.token}`;
      const url = new URL(`${t.creds.server}${path}`);
      const client = url.protocol === 'http:' ? require('node:http') as typeof import('node:http') : https;
      const req = client.request(url, { method: 'GET', agent: t.agent, headers }, (res) => consume(path, res, res.statusCode ?? 0, onEvent, settle));
      close = () => req.destroy();
      req.setTimeout(idleMs, () => settle(new Error(`watch ${path}: nothing received for ${idleMs} ms`)));
      req.on('error', (e) => settle(e));
      req.end();
      if (cancelled) settle();
    }, (e: Error) => settle(e));
  });
  return { done, cancel: () => { cancelled = true; close(); } };
}
