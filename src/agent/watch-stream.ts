import https = require('node:https');
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

/**
 * The https.Agent of the watches: TLS verified and authenticated as the credentials say. Watches hold
 * their connection for minutes, so they do not share the request connection of the KubeClient (on
 * HTTP/1.1 requests would queue behind them); keep-alive lets the next watch reuse a closed one's socket.
 */
export function watchAgent(creds: Credentials): https.Agent {
  const tlsOptions = { ca: creds.ca, cert: creds.cert, key: creds.key, rejectUnauthorized: !creds.insecureSkipTLSVerify };
  return new https.Agent({ keepAlive: true, ...tlsOptions, ...(creds.tlsServerName ? { servername: creds.tlsServerName } : {}) });
}

/**
 * Streams one watch (`path` carries the query) and calls `onEvent` for each event, in order. Resolves
 * when the server ends the watch; rejects with a WatchFailure for a non-200 answer or an ERROR event,
 * or with the transport's error. `idleMs` without a byte (not even a bookmark) counts as a dead connection.
 */
export function streamWatch(creds: Credentials, agent: https.Agent, path: string, idleMs: number, onEvent: (e: WatchEvent) => void, userAgent: string): { done: Promise<void>; cancel: () => void } {
  let cancel = () => {};
  const done = new Promise<void>((resolve, reject) => {
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': userAgent };
    if (creds.token) headers.Authorization = `Bearer ${creds.token}`;
    const req = https.request(new URL(`${creds.server}${path}`), { method: 'GET', agent, headers }, (res) => {
      res.setEncoding('utf8');
      let buffered = '';
      if (res.statusCode !== 200) {
        res.on('data', (c: string) => { buffered += c; });
        res.on('end', () => reject(new WatchFailure(res.statusCode ?? 0, `watch ${path}: HTTP ${res.statusCode}: ${buffered.slice(0, 300)}`)));
        return;
      }
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (!line) continue;
          const event = JSON.parse(line) as WatchEvent;
          if (event.type === 'ERROR') {
            req.destroy();
            return reject(new WatchFailure(event.object?.code ?? 0, `watch ${path}: ${event.object?.reason ?? ''} ${event.object?.message ?? ''}`.trim()));
          }
          onEvent(event);
        }
      });
      res.on('end', () => resolve());
      res.on('error', reject);
    });
    req.setTimeout(idleMs, () => req.destroy(new Error(`watch ${path}: nothing received for ${idleMs} ms`)));
    req.on('error', reject);
    req.end();
    cancel = () => {
      req.destroy();
      resolve();
    };
  });
  return { done, cancel: () => cancel() };
}
