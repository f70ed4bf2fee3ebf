import fs = require('node:fs');
import path = require('node:path');
import { CniError, ErrorCode } from '../cni/errors';
import { log } from '../log';

/** How to reach and authenticate to the kube-apiserver. */
export interface Credentials {
  server: string;
  ca?: Buffer;
  token?: string;
  cert?: Buffer;
  key?: Buffer;
  insecureSkipTLSVerify?: boolean;
  /** The name the server certificate is verified against and sent as SNI (kubeconfig `tls-server-name`). */
  tlsServerName?: string;
  /** Where these came from, for error messages (never the secret itself). */
  source: string;
}

/** The service-account mount of an in-cluster pod. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

function read(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new CniError(ErrorCode.IoFailure, `cannot read ${what} ${file}: ${(e as Error).message}`);
  }
}

/** In-cluster credentials from KUBERNETES_SERVICE_HOST/PORT and the service-account files, read fresh (bound tokens rotate). */
export function inClusterCredentials(env: NodeJS.ProcessEnv, saDir = SERVICE_ACCOUNT_DIR): Credentials | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) return undefined;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const tokenFile = path.join(saDir, 'token');
  return {
    server: `https://${hostPart}:${port}`,
    token: read(tokenFile, 'service-account token').toString('utf8').trim(),
    ca: read(path.join(saDir, 'ca.crt'), 'service-account CA'),
    source: `in-cluster service account, token file ${tokenFile}`,
  };
}

type Named<T> = { name: string } & Record<string, T>;

function pick(list: unknown, name: string, kind: string, file: string): Record<string, unknown> {
  const found = Array.isArray(list) ? (list as Named<Record<string, unknown>>[]).find((x) => x?.name === name) : undefined;
  if (!found) throw new CniError(ErrorCode.InvalidConfig, `kubeconfig ${file}: ${kind} ${JSON.stringify(name)} not found`);
  return (found[kind] ?? {}) as Record<string, unknown>;
}

function bytes(inline: unknown, file: unknown, base: string, what: string): Buffer | undefined {
  if (typeof inline === 'string' && inline) return Buffer.from(inline, 'base64');
  if (typeof file === 'string' && file) return read(path.resolve(base, file), what);
  return undefined;
}

// A parser's message can quote the text around the error (js-yaml adds a snippet of the file, V8's
// JSON.parse a slice of the input): a kubeconfig holds secrets, so only the reason and position are kept.
function parseErrorReason(e: unknown): string {
  const err = e as { reason?: unknown; mark?: { line?: number; column?: number }; message?: unknown };
  if (typeof err?.reason === 'string' && err.reason) {
    const at = typeof err.mark?.line === 'number' ? ` at line ${err.mark.line + 1}, column ${(err.mark.column ?? 0) + 1}` : '';
    return `invalid YAML: ${err.reason}${at}`;
  }
  const first = String(err?.message ?? e).split('\n')[0];
  return `cannot parse: ${first.replace(/"[^]*"|'[^']*'/g, '…')}`;
}

/** Credentials of the current context of a kubeconfig file (YAML or JSON); token files are re-read on every call. */
export function kubeconfigCredentials(file: string, parseYaml: (text: string) => unknown): Credentials {
  const base = path.dirname(file);
  let doc: Record<string, unknown>;
  try {
    doc = parseYaml(read(file, 'kubeconfig').toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof CniError) throw e;
    throw new CniError(ErrorCode.InvalidConfig, `kubeconfig ${file}: ${parseErrorReason(e)}`);
  }
  const contextName = doc?.['current-context'];
  if (typeof contextName !== 'string' || !contextName) throw new CniError(ErrorCode.InvalidConfig, `kubeconfig ${file}: no current-context`);
  const context = pick(doc.contexts, contextName, 'context', file);
  const cluster = pick(doc.clusters, String(context.cluster), 'cluster', file);
  const user = context.user ? pick(doc.users, String(context.user), 'user', file) : {};
  if (typeof cluster.server !== 'string' || !/^https?:\/\//.test(cluster.server)) {
    throw new CniError(ErrorCode.InvalidConfig, `kubeconfig ${file}: cluster server must be an https:// (or http://) URL`);
  }
  if (cluster.server.startsWith('http://')) {
    // As client-go: kubectl proxy and local API servers speak plain HTTP. Nothing is encrypted, the token included.
    log('warning', `kubeconfig ${file}: server ${cluster.server} is plain http://: API traffic${user.token || user.tokenFile ? ', the bearer token included,' : ''} is not encrypted`);
  }
  if (user.exec || user['auth-provider']) {
    throw new CniError(ErrorCode.InvalidConfig, `kubeconfig ${file}: exec and auth-provider credentials are not supported; use a token, tokenFile or client certificate`);
  }
  if (cluster['proxy-url'] !== undefined) {
    throw new CniError(ErrorCode.InvalidConfig, `kubeconfig ${file}: cluster ${JSON.stringify(context.cluster)} sets proxy-url, which braid does not support; remove it so braid connects to the server directly`);
  }
  const tlsServerName = cluster['tls-server-name'];
  if (tlsServerName !== undefined && (typeof tlsServerName !== 'string' || tlsServerName === '')) {
    throw new CniError(ErrorCode.InvalidConfig, `kubeconfig ${file}: cluster ${JSON.stringify(context.cluster)} tls-server-name must be a non-empty string`);
  }
  const cert = bytes(user['client-certificate-data'], user['client-certificate'], base, 'client certificate');
  const { token, auth } = bearerToken(user, base, cert !== undefined);
  return {
    server: cluster.server.replace(/\/+$/, ''),
    ca: bytes(cluster['certificate-authority-data'], cluster['certificate-authority'], base, 'CA'),
    insecureSkipTLSVerify: cluster['insecure-skip-tls-verify'] === true,
    ...(tlsServerName ? { tlsServerName } : {}),
    token,
    cert,
    key: bytes(user['client-key-data'], user['client-key'], base, 'client key'),
    source: `kubeconfig ${file}, ${auth}`,
  };
}

// As client-go: tokenFile wins (re-read every time: bound tokens rotate); an inline token is the fallback
// when the file cannot be read or is empty. `auth` says which was used, for error messages.
function bearerToken(user: Record<string, unknown>, base: string, hasCert: boolean): { token?: string; auth: string } {
  const inline = typeof user.token === 'string' && user.token ? user.token : undefined;
  const file = typeof user.tokenFile === 'string' && user.tokenFile ? path.resolve(base, user.tokenFile) : undefined;
  if (file) {
    let fromFile = '';
    let why = 'it is empty';
    try {
      fromFile = fs.readFileSync(file, 'utf8').trim();
    } catch (e) {
      why = (e as Error).message;
    }
    if (fromFile) return { token: fromFile, auth: `token file ${file}` };
    if (!inline) throw new CniError(ErrorCode.IoFailure, `cannot read token file ${file}: ${why}`);
    return { token: inline, auth: `inline token (token file ${file} unusable: ${why})` };
  }
  if (inline) return { token: inline, auth: 'inline token' };
  return { auth: hasCert ? 'client certificate' : 'no credentials' };
}
