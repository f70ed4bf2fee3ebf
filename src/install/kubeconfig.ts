import fs = require('node:fs');
import { inClusterCredentials } from '../k8s/credentials';

/** What the node kubeconfig is made of: the API server, its CA and the current service-account token. */
export interface ClusterAccess {
  server: string;
  ca: Buffer;
  token: string;
}

/** The cluster's access, or why this host is clusterless (no service host, or no service-account dir). */
export type AccessOrReason = { access: ClusterAccess } | { clusterless: string };

/** Reads the pod's in-cluster access afresh (the projected token rotates); throws when its files are unreadable. */
export function readClusterAccess(env: NodeJS.ProcessEnv, saDir: string): AccessOrReason {
  if (!env.KUBERNETES_SERVICE_HOST || !env.KUBERNETES_SERVICE_PORT) {
    return { clusterless: 'KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set' };
  }
  if (!fs.existsSync(saDir)) return { clusterless: `no service-account dir ${saDir}` };
  const creds = inClusterCredentials(env, saDir);
  if (!creds?.token || !creds.ca) throw new Error(`service account in ${saDir}: empty token or CA`);
  return { access: { server: creds.server, ca: creds.ca, token: creds.token } };
}

/** The node kubeconfig (YAML): server and CA inline, the token by host path so braid re-reads it on every call. */
export function kubeconfigText(access: ClusterAccess, tokenHostFile: string): string {
  const q = JSON.stringify; // a JSON string is a valid YAML double-quoted scalar
  return [
    '# Written by braid install; rewritten when the service account changes. Do not edit.',
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '  - name: braid',
    '    cluster:',
    `      server: ${q(access.server)}`,
    `      certificate-authority-data: ${q(access.ca.toString('base64'))}`,
    'users:',
    '  - name: braid',
    '    user:',
    `      tokenFile: ${q(tokenHostFile)}`,
    'contexts:',
    '  - name: braid',
    '    context:',
    '      cluster: braid',
    '      user: braid',
    'current-context: braid',
    '',
  ].join('\n');
}
