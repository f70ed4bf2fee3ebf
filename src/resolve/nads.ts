import fs = require('node:fs');
import path = require('node:path');
import { CniError, ErrorCode, nestError } from '../cni/errors';
import type { BraidConfig } from '../config/braid-config';
import { findNetworkByName, normalizeNetwork, type NetworkConfig } from '../config/netconf';
import type { KubeApi, NadObject } from '../k8s/api';
import type { Credentials } from '../k8s/credentials';
import { log } from '../log';
import { nadNameProblem, namespaceProblem } from '../selection/names';

/** The NAD annotation naming the device-plugin resource its attachments need. */
export const RESOURCE_NAME_ANNOTATION = 'k8s.v1.cni.cncf.io/resourceName';

/** Where NetworkAttachmentDefinitions come from: the Kubernetes API, or a directory of manifests. */
export interface NadSource {
  getNad(namespace: string, name: string): Promise<NadObject | undefined>;
}

async function loadYaml(): Promise<typeof import('js-yaml')> {
  return import('js-yaml');
}

/** True when openApi would open an API: a kubeconfig, or in-cluster (KUBERNETES_SERVICE_HOST and _PORT set). No file is read. */
export function apiConfigured(config: BraidConfig, env: NodeJS.ProcessEnv = process.env): boolean {
  return config.kubeconfig !== '' || (!!env.KUBERNETES_SERVICE_HOST && !!env.KUBERNETES_SERVICE_PORT);
}

/** The API's credentials: the kubeconfig's, else in-cluster ones; undefined when neither is configured. */
export async function apiCredentials(config: BraidConfig): Promise<Credentials | undefined> {
  const { inClusterCredentials, kubeconfigCredentials } = await import('../k8s/credentials');
  if (!config.kubeconfig) return inClusterCredentials(process.env);
  const yaml = await loadYaml();
  return kubeconfigCredentials(config.kubeconfig, (text) => yaml.load(text));
}

/**
 * Opens the Kubernetes API when a kubeconfig is configured or braid runs in-cluster; undefined otherwise.
 * TLS sessions are resumed from and saved to `<cniDir>/tls-sessions` unless `tlsSessions` is false.
 */
export async function openApi(config: BraidConfig, opts: { tlsSessions?: boolean } = {}): Promise<KubeApi | undefined> {
  const creds = await apiCredentials(config);
  if (!creds) return undefined;
  const [{ KubeClient }, { KubeApi }, { TlsSessionCache, TLS_SESSION_DIR }] = await Promise.all([import('../k8s/client'), import('../k8s/api'), import('../k8s/tls-sessions')]);
  const client = new KubeClient(creds, {
    requestTimeoutMs: config.kubeRequestTimeout * 1000,
    totalTimeoutMs: config.kubeTimeout * 1000,
    attempts: 5,
  }, opts.tlsSessions === false ? undefined : new TlsSessionCache(path.join(config.cniDir, TLS_SESSION_DIR), creds));
  return new KubeApi(client);
}

// A manifest braid could not read or parse, kept so that only a lookup it may hold fails (naming it).
interface BadManifest { file: string; text?: string; error: CniError }

/**
 * A clusterless NAD store: every NetworkAttachmentDefinition in the YAML/JSON manifests of `dir` (namespace
 * defaults to "default"). A manifest that cannot be read or parsed fails only the lookups of NADs it may
 * hold (its text names them, or it is unreadable), with an error naming the file; other NADs still resolve.
 */
export async function openNadDir(dir: string): Promise<NadSource> {
  const yaml = await loadYaml();
  const byKey = new Map<string, NadObject>();
  const bad: BadManifest[] = [];
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();
  } catch (e) {
    throw new CniError(ErrorCode.IoFailure, `nadDir ${dir}: ${(e as Error).message}`);
  }
  for (const file of files) {
    const full = path.join(dir, file);
    let text: string;
    let docs: unknown[];
    try {
      text = fs.readFileSync(full, 'utf8');
    } catch (e) {
      bad.push({ file: full, error: new CniError(ErrorCode.IoFailure, `nadDir manifest ${full} cannot be read: ${(e as Error).message}`) });
      continue;
    }
    try {
      docs = yaml.loadAll(text);
    } catch (e) {
      bad.push({ file: full, text, error: new CniError(ErrorCode.DecodeFailure, `nadDir manifest ${full} cannot be parsed: ${(e as Error).message}`) });
      continue;
    }
    const items = docs.flatMap((d) => ((d as { kind?: string })?.kind === 'List' ? ((d as { items?: unknown[] }).items ?? []) : [d]));
    for (const item of items as NadObject[]) {
      if ((item as { kind?: string })?.kind !== 'NetworkAttachmentDefinition' || !item.metadata?.name) continue;
      const namespace = item.metadata.namespace || 'default';
      const problem = nadNameProblem(String(item.metadata.name)) ?? namespaceProblem(String(namespace));
      if (problem) {
        log('warning', `nadDir manifest ${full}: NetworkAttachmentDefinition ${problem}; ignored, as the API server would refuse it`);
        continue;
      }
      byKey.set(`${namespace}/${item.metadata.name}`, { ...item, metadata: { ...item.metadata, namespace }, file: full });
    }
  }
  return {
    getNad: async (namespace, name) => {
      const nad = byKey.get(`${namespace}/${name}`);
      if (nad) return nad;
      const suspect = bad.find((b) => b.text === undefined || b.text.includes(name));
      if (suspect) throw new CniError(suspect.error.code, `NetworkAttachmentDefinition ${namespace}/${name}: ${suspect.error.message}`);
      return undefined;
    },
  };
}

// Errors about the NAD's config point into the JSON text held by spec.config.
const SPEC_CONFIG = '/spec/config';

/** Where a NAD was read, for the log: its nadDir manifest, the node agent's cache, or the API. */
export function nadOrigin(nad: NadObject): string {
  if (nad.file) return `nadDir ${nad.file}`;
  return nad.via === 'agent' ? "NAD from the agent's cache" : 'NAD from the API';
}

/**
 * A NAD's delegate network (NAD spec §3.4): `spec.config`, else the conf in `confDir` with the NAD's
 * name; a config without a `name` gets the NAD's name. Errors name the NAD (and its nadDir manifest).
 */
export function networkFromNad(nad: NadObject, config: Pick<BraidConfig, 'confDir' | 'cniVersion'>): { config: NetworkConfig; resourceName?: string } {
  const id = `NetworkAttachmentDefinition ${nad.metadata.namespace}/${nad.metadata.name}${nad.file ? ` (${nad.file})` : ''}`;
  const resourceName = nad.metadata.annotations?.[RESOURCE_NAME_ANNOTATION] || undefined;
  const spec = nad.spec?.config;
  if (spec !== undefined && spec !== null && typeof spec !== 'string') {
    throw new CniError(ErrorCode.InvalidConfig, `${id}: spec.config must be a string holding the CNI config as JSON text, got ${Array.isArray(spec) ? 'a list' : typeof spec === 'object' ? 'an object' : `a ${typeof spec}`}`, '', SPEC_CONFIG);
  }
  const text = spec?.trim() ?? '';
  if (text === '') {
    const onDisk = findNetworkByName(config.confDir, nad.metadata.name, config.cniVersion);
    if (!onDisk) throw new CniError(ErrorCode.InvalidConfig, `${id}: spec.config is empty and ${config.confDir} has no conf named ${JSON.stringify(nad.metadata.name)}`, '', SPEC_CONFIG);
    return { config: onDisk, resourceName };
  }
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CniError(ErrorCode.InvalidConfig, `${id}: spec.config is not valid JSON: ${(e as Error).message}`, '', SPEC_CONFIG);
  }
  if (typeof doc === 'object' && doc !== null && !Array.isArray(doc) && doc.name === undefined) doc = { ...doc, name: nad.metadata.name };
  try {
    return { config: normalizeNetwork(doc, id, config.cniVersion), resourceName };
  } catch (e) {
    throw e instanceof CniError ? nestError(e, SPEC_CONFIG) : e;
  }
}
