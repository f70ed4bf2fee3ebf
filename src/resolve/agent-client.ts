import fs = require('node:fs');
import net = require('node:net');
import path = require('node:path');
import { PROTOCOL_VERSION, type AgentRequest, type ErrorReply } from '../agent/protocol';

// The exec'd side of the agent socket: node:net only (no https, tls or gRPC). Replies arrive in request
// order, so requests may be pipelined on the one connection an ADD holds.

/** The agent did not answer usably: braid takes the direct path. The message says why, for the log. */
export class AgentUnavailable extends Error {
  /** True when no socket file exists: no agent runs on this node. */
  constructor(message: string, readonly noAgent = false) {
    super(message);
  }
}

/** Why a connect failed, in an operator's words. */
function connectFailure(e: NodeJS.ErrnoException, socket: string): string {
  if (e.code === 'ENOENT') return `no socket at ${socket}`;
  if (e.code === 'ECONNREFUSED') return `connection refused at ${socket} (a stale socket: no agent listening)`;
  return `cannot connect to ${socket}: ${e.code ?? e.message}`;
}

// braid runs as root and runs what the agent answers: only a socket its own user made, in a directory
// nobody else can write to, is trusted. undefined when trusted or absent (connect then says why).
function untrusted(socket: string): string | undefined {
  const uid = process.getuid?.() ?? 0;
  const dir = path.dirname(socket);
  try {
    for (const [file, st] of [[socket, fs.statSync(socket)], [dir, fs.statSync(dir)]] as const) {
      if (st.uid !== uid) return `${file} is owned by uid ${st.uid}, not ${uid}`;
    }
    if ((fs.statSync(dir).mode & 0o022) !== 0) return `${dir} is writable by group or others`;
  } catch {
    return undefined;
  }
  return undefined;
}

interface Pending { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }

/** One connection to the agent, held for a whole ADD. */
export class AgentConnection {
  private buffered = '';
  private readonly pending: Pending[] = [];
  private broken?: AgentUnavailable;

  private constructor(private readonly sock: net.Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.receive(chunk));
    sock.on('error', (e: NodeJS.ErrnoException) => this.fail(`connection error: ${e.code ?? e.message}`));
    sock.on('close', () => this.fail('the agent closed the connection'));
  }

  /** Connects within `timeoutMs` (a live agent's kernel backlog accepts at once, even when it is busy). */
  static open(socket: string, timeoutMs: number): Promise<AgentConnection> {
    const distrust = untrusted(socket);
    if (distrust) return Promise.reject(new AgentUnavailable(`untrusted socket: ${distrust}`));
    return new Promise((resolve, reject) => {
      const sock = net.createConnection(socket);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new AgentUnavailable(`no connection to ${socket} within ${timeoutMs} ms`));
      }, timeoutMs);
      sock.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new AgentUnavailable(connectFailure(e, socket), e.code === 'ENOENT'));
      });
      sock.once('connect', () => {
        clearTimeout(timer);
        sock.removeAllListeners('error');
        resolve(new AgentConnection(sock));
      });
    });
  }

  /**
   * Sends one request and resolves to the reply (an ErrorReply included); rejects with AgentUnavailable
   * on a timeout, a closed connection, garbage or another protocol version.
   */
  request<T>(req: AgentRequest, timeoutMs: number): Promise<T | ErrorReply> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise<T | ErrorReply>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(`no answer to ${req.op} within ${timeoutMs} ms`), timeoutMs);
      this.pending.push({ resolve: resolve as (v: unknown) => void, reject, timer });
      this.sock.write(`${JSON.stringify(req)}\n`);
    });
  }

  /** Closes the connection (the agent forgets nothing it needs). */
  close(): void {
    this.broken ??= new AgentUnavailable('connection closed');
    this.sock.destroy();
  }

  private receive(chunk: string): void {
    this.buffered += chunk;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      const waiter = this.pending.shift();
      if (!waiter) return this.fail('an answer nobody asked for');
      clearTimeout(waiter.timer);
      let reply: { v?: unknown };
      try {
        reply = JSON.parse(line);
      } catch {
        waiter.reject(new AgentUnavailable('an answer that is not JSON'));
        return this.fail('an answer that is not JSON');
      }
      if (reply?.v !== PROTOCOL_VERSION) {
        waiter.reject(new AgentUnavailable(`protocol version mismatch: the agent speaks ${JSON.stringify(reply?.v)}, braid ${PROTOCOL_VERSION}`));
        return this.fail('protocol version mismatch');
      }
      waiter.resolve(reply);
    }
  }

  private fail(why: string): void {
    this.broken ??= new AgentUnavailable(why);
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(this.broken);
    }
    this.sock.destroy();
  }
}
