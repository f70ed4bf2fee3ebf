import https = require('node:https');
import { CniError, ErrorCode } from '../cni/errors';
import type { Credentials } from './credentials';

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

class TransportError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** The message of a Kubernetes `Status` body, or the raw text. */
export function statusMessage(res: ApiResponse): string {
  const b = res.body;
  if (b && typeof b === 'object' && b.kind === 'Status') return `${b.reason ?? res.status}: ${b.message ?? ''}`.trim();
  return `HTTP ${res.status}${typeof b === 'string' && b ? `: ${b.slice(0, 200)}` : ''}`;
}

/** A minimal kube-apiserver client: HTTPS with CA verification, bearer token or client certificate, timeouts, bounded retries. */
export class KubeClient {
  private readonly agent: https.Agent;
  /** HTTP round trips made, retries included (for the benchmark and tests). */
  roundTrips = 0;

  constructor(private readonly creds: Credentials, private readonly limits: ClientLimits) {
    this.agent = new https.Agent({
      keepAlive: true,
      ca: creds.ca,
      cert: creds.cert,
      key: creds.key,
      rejectUnauthorized: !creds.insecureSkipTLSVerify,
      ...(creds.tlsServerName ? { servername: creds.tlsServerName } : {}),
    });
  }

  /** Sends one request; `retry` allows bounded retries with backoff on 5xx, 429 and refused/reset connections. */
  async call(method: string, path: string, opts: { body?: unknown; contentType?: string; retry?: boolean } = {}): Promise<ApiResponse> {
    const deadline = Date.now() + this.limits.totalTimeoutMs;
    let delay = 100;
    let last = '';
    for (let attempt = 1; ; attempt++) {
      try {
        const timeout = Math.max(1, Math.min(this.limits.requestTimeoutMs, deadline - Date.now()));
        const res = await this.once(method, path, timeout, opts.body, opts.contentType);
        if (!(opts.retry && (res.status >= 500 || res.status === 429))) return res;
        last = statusMessage(res);
      } catch (e) {
        if (!(e instanceof TransportError)) throw e;
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

  private once(method: string, path: string, timeoutMs: number, body?: unknown, contentType = 'application/json'): Promise<ApiResponse> {
    this.roundTrips++;
    // Concatenated, not resolved: a server URL may carry a path prefix (a proxy such as Rancher's /k8s/clusters/<id>).
    const url = new URL(`${this.creds.server}${path}`);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'braid' };
    if (this.creds.token) headers.Authorization = `Bearer ${this.creds.token}`;
    if (payload) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = String(payload.length);
    }
    return new Promise((resolve, reject) => {
      const req = https.request(url, { method, agent: this.agent, headers, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // keep the text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', (e: NodeJS.ErrnoException) => reject(new TransportError(e.code ?? 'ERESPONSE', e.message)));
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', (e: NodeJS.ErrnoException) => reject(new TransportError(e.code ?? 'EREQUEST', `${e.code ?? ''} ${e.message}`.trim())));
      req.end(payload);
    });
  }

  /** Closes idle keep-alive connections so the process can exit promptly. */
  close(): void {
    this.agent.destroy();
  }
}
