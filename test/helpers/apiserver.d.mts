// Types of apiserver.mjs, the kube-apiserver test server.
import type { WatchHub, WatchOptions } from './apiserver-watch.mjs';

/** A Kubernetes `Status` failure body. */
export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: Record<string, unknown>;
  code: number;
}

/** One request the server received. */
export interface ApiCall {
  method: string;
  /** The URL path, without the query. */
  path: string;
  /** The query string, with its "?" (or ""). */
  query: string;
  contentType?: string;
  /** The TLS SNI server name the client sent (none for an IP address). */
  servername?: string;
  /** The User-Agent header. */
  userAgent?: string;
  /** The request body, JSON-decoded when it was JSON. */
  body: any;
  /** performance.now() when the request had been read. */
  at: number;
  /** performance.now() when the answer was sent or the connection closed. */
  done?: number;
  /** The status answered (0: connection destroyed; undefined: no answer yet). */
  status?: number;
  /** The id of the TLS connection that carried it (see ApiServer.connections). */
  connection?: number;
  /** The client's TCP port on that connection (tells which process sent it). */
  remotePort?: number;
  /** The HTTP version ALPN chose for that connection. */
  protocol: 'h2' | 'http/1.1';
}

/** One TLS connection the server accepted (a completed handshake). */
export interface TlsConnection {
  id: number;
  /** The ALPN protocol negotiated (http/1.1 when the client offered none). */
  alpn: string;
  /** True when the handshake resumed a session (a ticket from an earlier connection). */
  resumed: boolean;
  /** The client's TCP port. */
  remotePort: number;
  /** performance.now() at the end of the handshake. */
  at: number;
}

/** Options of a test server. */
export interface ApiServerOptions {
  token?: string;
  latencyMs?: number;
  /** Offer only HTTP/1.1 by ALPN (an apiserver or proxy without h2). */
  http1Only?: boolean;
  /** Plain HTTP, no TLS (kubectl proxy, a local API server). */
  plainHttp?: boolean;
  /** List and watch settings. */
  watch?: WatchOptions;
}

/** A fault: which requests it hits, how often, and what they get instead of the normal answer. */
export interface FaultRule {
  method?: string;
  /** Tested against the URL path; a string is used as a regular expression (or an exact path). */
  path?: RegExp | string;
  /** How many matching requests it hits (default 1; Infinity for all). */
  times?: number;
  /** Answer with this status and a Status body (or `body`). */
  status?: number;
  message?: string;
  body?: unknown;
  /** Destroy the connection without an answer. */
  destroy?: boolean;
  /** Never answer (until stop()). */
  hang?: boolean;
  /** Extra delay before the answer. */
  delayMs?: number;
  /** How often it fired (maintained by the server). */
  hits?: number;
}

/** A fault entry: a rule, or a function choosing a rule per request. */
export type Fault = FaultRule | ((call: ApiCall) => FaultRule | undefined);

export interface KubeconfigOptions {
  /** A token other than the server's (e.g. a wrong one); `true` forces the server's token next to a client cert. */
  token?: string | boolean;
  /** Put the token in a file and reference it with `tokenFile`. */
  tokenFile?: boolean;
  /** Authenticate with a client certificate signed by the CA. */
  clientCert?: boolean;
  /** Base name of the file (default "kubeconfig"). */
  name?: string;
  /** Server URL to write instead of this server's. */
  server?: string;
}

export interface PodInput {
  metadata: { name: string; namespace?: string; uid?: string; annotations?: Record<string, string>; [k: string]: unknown };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export interface StoredPod {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: { name: string; namespace: string; uid: string; resourceVersion: string; creationTimestamp: string; annotations?: Record<string, string>; [k: string]: unknown };
  spec: Record<string, unknown>;
  status: Record<string, unknown>;
}

export interface StoredNad {
  apiVersion: 'k8s.cni.cncf.io/v1';
  kind: 'NetworkAttachmentDefinition';
  metadata: { name: string; namespace: string; uid: string; resourceVersion: string; annotations?: Record<string, string>; [k: string]: unknown };
  spec: { config?: string };
}

export declare function statusBody(code: number, reason: string, message: string, details?: Record<string, unknown>): StatusBody;
/** RFC 7386 JSON merge patch. */
export declare function mergePatch(target: unknown, patch: unknown): any;

export declare class ApiServer {
  constructor(opts?: ApiServerOptions);
  /** List and watch: history, open watches, bookmarks, expiry. Every object change is a watch event. */
  readonly watches: WatchHub;
  /** https://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** The bearer token the server accepts. */
  readonly token: string;
  /** PEM file of the CA (removed by stop()). */
  readonly caFile: string;
  readonly pki: { ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string };
  /** Delay before every answer, in milliseconds. */
  latencyMs: number;
  faults: Fault[];
  calls: ApiCall[];
  /** Every TLS connection accepted since the last resetCalls(), oldest first. */
  connections: TlsConnection[];
  /** Requests being handled right now. */
  readonly inFlight: number;
  /** The most requests handled at once since the last resetCalls(). */
  readonly maxInFlight: number;
  listen(): Promise<this>;
  addPod(obj: PodInput): StoredPod;
  deletePod(namespace: string, name: string): boolean;
  pod(namespace: string, name: string): StoredPod | undefined;
  addNad(namespace: string, name: string, config?: string | Record<string, unknown>, annotations?: Record<string, string>): StoredNad;
  deleteNad(namespace: string, name: string): boolean;
  events(): Array<Record<string, any>>;
  fault(rule: FaultRule): FaultRule;
  clearFaults(): void;
  resetCalls(): void;
  reset(): void;
  /** The largest number of requests matching `pred` handled at the same moment. */
  maxOverlap(pred?: (call: ApiCall) => boolean): number;
  /** Sequential round trips among the requests matching `pred` (a chain of each-after-the-last-answered). */
  sequentialDepth(pred?: (call: ApiCall) => boolean): number;
  /** Writes `<dir>/<name>.yaml` pointing at this server (CA inlined) and returns its path. */
  kubeconfig(dir: string, opts?: KubeconfigOptions): string;
  stop(): Promise<void>;
}

/** Generates certificates with openssl, starts the server on 127.0.0.1 (ephemeral port) and returns it. */
export declare function startApiServer(opts?: ApiServerOptions): Promise<ApiServer>;
