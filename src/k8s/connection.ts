import http2 = require('node:http2');
import net = require('node:net');
import tls = require('node:tls');
import type { Agent as HttpAgent } from 'node:http';
import type { Credentials } from './credentials';
import type { TlsSessionCache } from './tls-sessions';

/** An HTTP answer, body undecoded. */
export interface RawResponse {
  status: number;
  text: string;
}

/** A failure below HTTP (connect, TLS, reset, timeout); `code` tells the caller whether a retry can help. */
export class TransportError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

type Transport = { kind: 'h2'; session: http2.ClientHttp2Session } | { kind: 'http/1.1'; agent: HttpAgent };

// How long a live connection may take to answer a PING (an HTTP/2 stack answers it at once, whatever the server is busy with).
const PING_TIMEOUT_MS = 1000;

// HTTP/2 connection-level headers (RFC 9113 §8.2.2) cannot be sent on a stream.
const H1_ONLY_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'host']);

function h2HeadersOf(method: string, url: URL, headers: Record<string, string>): http2.OutgoingHttpHeaders {
  const h2Headers: http2.OutgoingHttpHeaders = { ':method': method, ':path': `${url.pathname}${url.search}` };
  for (const [k, v] of Object.entries(headers)) if (!H1_ONLY_HEADERS.has(k.toLowerCase())) h2Headers[k.toLowerCase()] = v;
  return h2Headers;
}

/**
 * The one TLS connection an invocation makes to the API server, opened on the first request. ALPN
 * picks HTTP/2, as the kube-apiserver speaks it, and every request is a stream multiplexed over that
 * connection. A server that only speaks HTTP/1.1 gets one keep-alive socket with the requests queued
 * on it. A dropped connection is reopened by the next request.
 */
export class ApiConnection {
  private transport?: Promise<Transport>;

  constructor(private readonly creds: Credentials, private readonly sessions?: TlsSessionCache) {}

  /** Sends one request and reads the whole answer; a transport failure rejects with a TransportError. */
  async request(method: string, url: URL, headers: Record<string, string>, payload: Buffer | undefined, timeoutMs: number): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    const transport = await this.connect(url, timeoutMs);
    const left = Math.max(1, deadline - Date.now());
    return transport.kind === 'h2'
      ? this.h2Request(transport.session, method, url, headers, payload, left)
      : this.h1Request(transport.agent, method, url, headers, payload, left);
  }

  /**
   * A long-lived GET (a watch) as one more stream of this connection when it speaks HTTP/2; undefined
   * on HTTP/1.1, whose one queued socket a watch would hold (the caller opens a connection of its own).
   */
  async openStream(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<http2.ClientHttp2Stream | undefined> {
    const transport = await this.connect(url, timeoutMs);
    if (transport.kind !== 'h2') return undefined;
    const stream = transport.session.request(h2HeadersOf('GET', url, headers));
    // The caller's idle timeout on a watch is also a hint that the connection may be dead.
    stream.on('timeout', () => this.probe(transport.session, timeoutMs));
    return stream;
  }

  /** Closes the connection so the process can exit promptly. */
  close(): void {
    const t = this.transport;
    this.transport = undefined;
    t?.then((x) => (x.kind === 'h2' ? x.session.destroy() : x.agent.destroy()), () => {});
  }

  private connect(url: URL, timeoutMs: number): Promise<Transport> {
    if (!this.transport) {
      const opening = this.open(url, timeoutMs);
      this.transport = opening;
      opening.catch(() => {
        if (this.transport === opening) this.transport = undefined;
      });
    }
    return this.transport;
  }

  // The TLS handshake itself, with the cached session offered for resumption and the new one kept.
  private tlsConnect(url: URL): tls.TLSSocket {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const servername = this.creds.tlsServerName ?? (net.isIP(host) ? undefined : host);
    const socket = tls.connect({
      host,
      port: Number(url.port || 443),
      ...(servername ? { servername } : {}),
      ca: this.creds.ca,
      cert: this.creds.cert,
      key: this.creds.key,
      rejectUnauthorized: !this.creds.insecureSkipTLSVerify,
      ALPNProtocols: ['h2', 'http/1.1'],
      session: this.sessions?.load(),
    });
    // Small request/response frames: Nagle would hold a request back until the last one is acknowledged.
    socket.setNoDelay(true);
    const sessions = this.sessions;
    if (sessions) socket.once('session', (s: Buffer) => sessions.save(s));
    return socket;
  }

  private open(url: URL, timeoutMs: number): Promise<Transport> {
    if (url.protocol === 'http:') return Promise.resolve(this.plainAgent());
    return new Promise((resolve, reject) => {
      const socket = this.tlsConnect(url);
      const fail = (e: NodeJS.ErrnoException) => {
        socket.destroy();
        reject(new TransportError(e.code ?? 'ECONNECT', `${e.code ?? ''} ${e.message}`.trim()));
      };
      socket.setTimeout(timeoutMs, () => fail(Object.assign(new Error(`no TLS connection within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      socket.once('error', fail);
      socket.once('secureConnect', () => {
        socket.setTimeout(0);
        socket.off('error', fail);
        resolve(socket.alpnProtocol === 'h2' ? this.h2Session(url, socket) : this.h1Agent(socket));
      });
    });
  }

  private h2Session(url: URL, socket: tls.TLSSocket): Transport {
    const session = http2.connect(url.origin, { createConnection: () => socket });
    const transport: Transport = { kind: 'h2', session };
    // A session the server closed or broke is dropped, so the next request (a retry) opens a new one.
    const forget = () => {
      void this.transport?.then((t) => {
        if (t === transport) this.transport = undefined;
      }, () => {});
    };
    session.on('error', forget);
    session.on('goaway', forget);
    session.on('close', forget);
    return transport;
  }

  // HTTP/1.1: node's agent queues requests on one keep-alive socket; its first socket is the one ALPN
  // was negotiated on, later ones (after a drop) come from tlsConnect and so resume the session.
  private h1Agent(first: tls.TLSSocket): Transport {
    const https = require('node:https') as typeof import('node:https');
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    let spare: tls.TLSSocket | undefined = first;
    (agent as unknown as { createConnection: (o: { href?: string; host: string; port: number }) => tls.TLSSocket }).createConnection = (o) => {
      const s = spare ?? this.tlsConnect(new URL(`https://${net.isIPv6(o.host) ? `[${o.host}]` : o.host}:${o.port}`));
      spare = undefined;
      return s;
    };
    return { kind: 'http/1.1', agent };
  }

  // A plain http:// server (kubectl proxy, a local API server; client-go allows it): HTTP/1.1 on one
  // keep-alive socket, without TLS.
  private plainAgent(): Transport {
    const http = require('node:http') as typeof import('node:http');
    return { kind: 'http/1.1', agent: new http.Agent({ keepAlive: true, maxSockets: 1 }) };
  }

  private h2Request(session: http2.ClientHttp2Session, method: string, url: URL, headers: Record<string, string>, payload: Buffer | undefined, timeoutMs: number): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      let stream: http2.ClientHttp2Stream;
      try {
        stream = session.request(h2HeadersOf(method, url, headers));
      } catch (e) {
        // The session closed between connect() and here: a dropped connection, retriable.
        return reject(new TransportError('ECONNRESET', (e as Error).message));
      }
      let status = 0;
      const chunks: Buffer[] = [];
      let settled = false;
      const fail = (code: string, message: string) => {
        if (settled) return;
        settled = true;
        stream.close(http2.constants.NGHTTP2_CANCEL);
        reject(new TransportError(code, message));
      };
      stream.setTimeout(timeoutMs, () => {
        fail('ETIMEDOUT', `ETIMEDOUT no answer within ${timeoutMs} ms`);
        this.probe(session, timeoutMs);
      });
      stream.on('response', (h) => {
        status = Number(h[':status'] ?? 0);
      });
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        // A stream ended with no response headers: the session was torn down under it.
        if (status === 0) return fail('ECONNRESET', 'connection lost before the answer');
        if (settled) return;
        settled = true;
        resolve({ status, text: Buffer.concat(chunks).toString('utf8') });
      });
      // A reset stream or a session torn down under it: the connection dropped, as ECONNRESET on HTTP/1.1.
      stream.on('error', (e: Error) => fail('ECONNRESET', `connection lost: ${e.message}`));
      stream.on('close', () => fail('ECONNRESET', `connection lost: stream closed (code ${stream.rstCode}) before the answer`));
      stream.end(payload);
    });
  }

  // A stream without an answer in time faces either a slow server or a dead connection (a peer or path
  // that vanished without a RST, so nothing ever fails on its own). A PING tells them apart: a session
  // that does not answer within PING_TIMEOUT_MS is dropped, so the retry opens a new connection.
  private probe(session: http2.ClientHttp2Session, timeoutMs: number): void {
    if (session.destroyed) return;
    const timer = setTimeout(() => session.destroy(), Math.min(timeoutMs, PING_TIMEOUT_MS));
    timer.unref();
    const sent = session.ping((err) => {
      clearTimeout(timer);
      if (err) session.destroy();
    });
    if (!sent) clearTimeout(timer); // a PING already outstanding decides
  }

  private h1Request(agent: HttpAgent, method: string, url: URL, headers: Record<string, string>, payload: Buffer | undefined, timeoutMs: number): Promise<RawResponse> {
    const client = (url.protocol === 'http:' ? require('node:http') : require('node:https')) as typeof import('node:http');
    return new Promise((resolve, reject) => {
      const req = client.request(url, { method, agent, headers, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e: NodeJS.ErrnoException) => reject(new TransportError(e.code ?? 'ERESPONSE', e.message)));
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', (e: NodeJS.ErrnoException) => reject(new TransportError(e.code ?? 'EREQUEST', `${e.code ?? ''} ${e.message}`.trim())));
      req.end(payload);
    });
  }
}
