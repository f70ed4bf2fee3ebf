import fs = require('node:fs');
import net = require('node:net');
import path = require('node:path');
import { CniError, ErrorCode } from '../cni/errors';
import { log } from '../log';
import { PROTOCOL_VERSION, type AgentRequest, type ErrorReply } from './protocol';

/** The longest request line read (a resolve names a pod and a few NADs: far below this). */
const MAX_LINE = 1 << 20;

/** Answers one decoded request of the current protocol version. */
export type RequestHandler = (req: AgentRequest) => Promise<object>;

/** Hooks for metrics: called once per request with its op, outcome and seconds taken. */
export interface ServerObserver {
  answered(op: string, outcome: 'ok' | 'error', seconds: number): void;
  /** A request after which braid falls back: "version", "error", "client-gone". */
  fallback(reason: string): void;
}

// Is someone answering on this socket? A live agent's socket must not be taken over; a dead one's is stale.
function inUse(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.createConnection(socket);
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

/**
 * The agent's unix socket: 0600 in a 0700 directory, one JSON request per line, answers in order per
 * connection. close() stops accepting, lets the requests in flight finish, then removes the socket.
 */
export class SocketServer {
  private readonly server: net.Server;
  private readonly connections = new Set<net.Socket>();
  private inFlight = 0;
  private drained?: () => void;

  constructor(private readonly socket: string, private readonly handle: RequestHandler, private readonly observer: ServerObserver) {
    this.server = net.createServer((c) => this.serve(c));
  }

  /** Prepares the directory, removes a stale socket (refusing a live one) and listens. */
  async listen(): Promise<void> {
    const dir = path.dirname(this.socket);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Tightened only when it is the agent's own directory (nothing in it but a stale socket): an agentSocket
    // set directly in /run or /tmp must not make that shared directory root-only for the whole host.
    const others = fs.readdirSync(dir).filter((name) => name !== path.basename(this.socket));
    if (others.length === 0) fs.chmodSync(dir, 0o700);
    else log('warning', `${dir} holds other files: its mode is left as it is; give agentSocket a directory of its own (e.g. /run/braid)`);
    if (fs.existsSync(this.socket)) {
      if (await inUse(this.socket)) throw new CniError(ErrorCode.IoFailure, `another agent is serving ${this.socket}`);
      log('warning', `removing stale socket ${this.socket}`);
      fs.rmSync(this.socket, { force: true });
    }
    const umask = process.umask(0o177); // the socket is created 0600, never briefly wider
    try {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(this.socket, () => resolve());
      });
    } finally {
      process.umask(umask);
    }
    fs.chmodSync(this.socket, 0o600);
  }

  /** Stops accepting, waits (at most `graceMs`) for the requests in flight, closes connections and removes the socket. */
  async close(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.inFlight > 0) {
      await Promise.race([new Promise<void>((r) => { this.drained = r; }), new Promise((r) => setTimeout(r, graceMs))]);
    }
    for (const c of this.connections) c.destroy();
    await closed;
    fs.rmSync(this.socket, { force: true });
  }

  private serve(conn: net.Socket): void {
    this.connections.add(conn);
    conn.on('close', () => this.connections.delete(conn));
    conn.on('error', () => { /* a braid that went away */ });
    conn.setEncoding('utf8');
    let buffered = '';
    let queue = Promise.resolve();
    conn.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_LINE && !buffered.includes('\n')) return conn.destroy(); // no request is this big
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        this.inFlight++;
        queue = queue.then(() => this.answer(conn, line)).finally(() => {
          if (--this.inFlight === 0) this.drained?.();
        });
      }
    });
  }

  private async answer(conn: net.Socket, line: string): Promise<void> {
    const start = process.hrtime.bigint();
    let req: AgentRequest;
    let reply: object;
    let op = 'invalid';
    try {
      req = JSON.parse(line);
      op = typeof req?.op === 'string' ? req.op : 'invalid';
      if (req?.v !== PROTOCOL_VERSION) {
        this.observer.fallback('version');
        reply = this.error(ErrorCode.IncompatibleVersion, `protocol version ${JSON.stringify(req?.v)} is not spoken here (agent speaks ${PROTOCOL_VERSION})`);
      } else {
        reply = await this.handle(req);
      }
    } catch (e) {
      const err = e instanceof CniError ? e : new CniError(ErrorCode.Internal, (e as Error).message);
      if (op !== 'report') this.observer.fallback('error');
      log('error', `agent ${op}: ${err.message}`);
      reply = this.error(err.code, err.message);
    }
    const ok = (reply as ErrorReply).ok !== false;
    this.observer.answered(op, ok ? 'ok' : 'error', Number(process.hrtime.bigint() - start) / 1e9);
    if (conn.destroyed) return this.observer.fallback('client-gone');
    conn.write(`${JSON.stringify(reply)}\n`);
  }

  private error(code: number, error: string): ErrorReply {
    return { v: PROTOCOL_VERSION, ok: false, code, error };
  }
}
