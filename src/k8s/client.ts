import { CniError, ErrorCode } from '../cni/errors';
import { ApiConnection, TransportError } from './connection';
import type { Credentials } from './credentials';
import type { ClientHttp2Stream } from 'node:http2';
import type { TlsSessionCache } from './tls-sessions';
import { log, logEnabled } from '../log';
import { elapsedMs, startTimer } from '../timing';

/** Time limits for API calls. */
export interface ClientLimits {
  /** One HTTP round trip. */
  requestTimeoutMs: number;
  /** Everything one call may take, retries included. */
  totalTimeoutMs: number;
  /** Attempts per retriable call. */
  attempts: number;
}

/** A decoded API response. */
export interface ApiResponse {
  status: number;
  body: any;
}

const RETRIABLE_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH']);

/** The message of a Kubernetes `Status` body, or the raw text. */
export function statusMessage(res: ApiResponse): string {
  const b = res.body;
  if (b && typeof b === 'object' && b.kind === 'Status') return `${b.reason ?? res.status}: ${b.message ?? ''}`.trim();
  return `HTTP ${res.status}${typeof b === 'string' && b ? `: ${b.slice(0, 200)}` : ''}`;
}

// verbose: one line per HTTP round trip (method, path, status or transport error, time); never a header.
function logRoundTrip(method: string, path: string, status: number | string, started: bigint, attempt: number): void {
  if (!logEnabled('verbose')) return;
  const durationMs = elapsedMs(started);
  log('verbose', 'API round trip', { method, path, status, durationMs, ...(attempt > 1 ? { attempt } : {}) });
}

/**
 * A minimal kube-apiserver client: HTTPS with CA verification, bearer token or client certificate,
 * timeouts, bounded retries, and every request of the invocation on one connection (see ApiConnection).
 */
export class KubeClient {
  private readonly connection: ApiConnection;

  constructor(private readonly creds: Credentials, private readonly limits: ClientLimits, sessions?: TlsSessionCache, private readonly userAgent = 'braid') {
    this.connection = new ApiConnection(creds, sessions);
  }

  /** Sends one request; `retry` allows bounded retries with backoff on 5xx, 429 and refused/reset connections. */
  async call(method: string, path: string, opts: { body?: unknown; contentType?: string; retry?: boolean } = {}): Promise<ApiResponse> {
    const deadline = Date.now() + this.limits.totalTimeoutMs;
    let delay = 100;
    let last = '';
    for (let attempt = 1; ; attempt++) {
      const started = startTimer();
      try {
        const timeout = Math.max(1, Math.min(this.limits.requestTimeoutMs, deadline - Date.now()));
        const res = await this.once(method, path, timeout, opts.body, opts.contentType);
        logRoundTrip(method, path, res.status, started, attempt);
        if (!(opts.retry && (res.status >= 500 || res.status === 429))) return res;
        last = statusMessage(res);
      } catch (e) {
        if (!(e instanceof TransportError)) throw e;
        logRoundTrip(method, path, e.code, started, attempt);
        last = e.message;
        if (!opts.retry || !RETRIABLE_ERRORS.has(e.code)) break;
      }
      if (attempt >= this.limits.attempts || Date.now() + delay >= deadline) break;
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
    throw this.failure(method, path, last);
  }

  /** The error for a failed call: it names the API server, the call and the credential source (never a secret). */
  failure(method: string, path: string, why: string): CniError {
    return new CniError(ErrorCode.TryAgainLater, `kube-apiserver ${this.creds.server}: ${method} ${path} failed: ${why} (credentials: ${this.creds.source})`);
  }

  private async once(method: string, path: string, timeoutMs: number, body?: unknown, contentType = 'application/json'): Promise<ApiResponse> {
    // Concatenated, not resolved: a server URL may carry a path prefix (a proxy such as Rancher's /k8s/clusters/<id>).
    const url = new URL(`${this.creds.server}${path}`);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers = this.headers();
    if (payload) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = String(payload.length);
    }
    const res = await this.connection.request(method, url, headers, payload, timeoutMs);
    let parsed: unknown = res.text;
    try {
      parsed = res.text ? JSON.parse(res.text) : undefined;
    } catch {
      // keep the text
    }
    return { status: res.status, body: parsed };
  }

  /** A watch (`path` with its query) as a stream of the client's HTTP/2 connection; undefined when the server speaks only HTTP/1.1. */
  watchStream(path: string): Promise<ClientHttp2Stream | undefined> {
    return this.connection.openStream(new URL(`${this.creds.server}${path}`), this.headers(), this.limits.requestTimeoutMs);
  }

  // The token is read per request: an agent's credentials are refreshed in place.
  private headers(): Record<string, string> {
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': this.userAgent };
    if (this.creds.token) headers.Authorization = `Bearer ${this.creds.token}`;
    return headers;
  }

  /** Closes the connection so the process can exit promptly. */
  close(): void {
    this.connection.close();
  }
}
