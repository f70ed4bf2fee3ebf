import { asCniError, pointerSegment } from '../cni/errors';
import { parseBraidConfig, schemaProblems, unknownKeys, type BraidConfig } from '../config/braid-config';
import { normalizeNetwork, type NetworkConfig } from '../config/netconf';
import type { NadObject } from '../k8s/api';
import { networkFromNad } from '../resolve/nads';
import { DEFAULT_NETWORK_ANNOTATION, NETWORKS_ANNOTATION, parseDefaultNetworkAnnotation, parseNetworksAnnotation } from '../selection/networks';
import { selectionWarnings } from '../selection/warnings';
import { braidPlugins } from './config-file';
import { errorFinding, type Finding } from './findings';
import { kindOf, podMetadata, type PodMeta } from './manifests';
import { checkConfigNetworks } from './config-networks-check';
import { checkDelegates } from './plugin-check';

/** What NADs and pods are checked against: the braid config's values that ADD would use, and where delegates live. */
export interface CheckContext {
  /** confDir (NADs with an empty spec.config), cniVersion ('' when unknown: no --config), multusNamespace and binDir. */
  config: Pick<BraidConfig, 'confDir' | 'cniVersion' | 'multusNamespace' | 'binDir'>;
  /**
   * The delegate search path of a config whose binDir is `binDir`; undefined skips the checks of this
   * machine (delegates, and the networks a braid config names).
   */
  binDirs?: (binDir: string) => string[];
}

function warning(pointer: string, message: string): Finding {
  return { severity: 'warning', pointer, message };
}

// Runs one core parser; its CniError becomes a finding under `base`.
function attempt<T>(findings: Finding[], base: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    findings.push(errorFinding(asCniError(e), base));
    return undefined;
  }
}

// A braid (or Multus) plugin config, exactly as parseBraidConfig sees it on ADD's stdin.
async function checkBraidConfig(config: Record<string, unknown>, base: string, findings: Finding[], ctx: CheckContext): Promise<void> {
  if (config.type === 'multus') findings.push(warning(`${base}/type`, 'type "multus": braid runs this config once "type" is "braid"'));
  for (const key of unknownKeys(config)) findings.push(warning(`${base}/${pointerSegment(key)}`, `unknown key ${JSON.stringify(key)} is ignored`));
  const parsed = attempt(findings, base, () => parseBraidConfig(config));
  if (!parsed) {
    // parseBraidConfig stops at the first problem; the schema knows every one.
    const first = findings.filter((f) => f.severity === 'error').pop()!.pointer;
    for (const p of schemaProblems(config)) if (`${base}${p.pointer}` !== first) findings.push({ severity: 'error', pointer: `${base}${p.pointer}`, message: `invalid braid config: ${p.message}`, code: 7 });
    return;
  }
  for (const w of parsed.warnings) findings.push(warning(`${base}${w.pointer}`, w.message)); // values ADD replaces by their defaults
  if (parsed.clusterNetwork && parsed.delegates) findings.push(warning(`${base}/delegates`, 'ignored: clusterNetwork is set (as in Multus)'));
  const dirs = ctx.binDirs?.(parsed.binDir);
  parsed.delegates?.forEach((d, i) => {
    const net = attempt(findings, `${base}/delegates/${i}`, () => normalizeNetwork(d, `delegates[${i}]`, parsed.cniVersion));
    if (net && dirs && !parsed.clusterNetwork) findings.push(...checkDelegates(net, dirs, `${base}/delegates/${i}`, !Array.isArray(d.plugins)));
  });
  if (dirs) findings.push(...await checkConfigNetworks(parsed, base, dirs));
}

/** A conf or conflist: libcni's rules as braid loads delegates, and braid's own config for braid/multus plugins. */
export async function checkCniConfig(doc: Record<string, unknown>, ctx: CheckContext): Promise<Finding[]> {
  const findings: Finding[] = [];
  attempt(findings, '', () => normalizeNetwork(doc, 'network config', ''));
  for (const { pointer, config } of braidPlugins(doc)) await checkBraidConfig(config, pointer, findings, ctx);
  return findings;
}

/** A NetworkAttachmentDefinition: its delegate network as ADD builds it, and (with bin dirs) the delegates themselves. */
export function checkNad(doc: Record<string, any>, file: string, ctx: CheckContext): Finding[] {
  const name = doc.metadata?.name;
  if (typeof name !== 'string' || name === '') return [{ severity: 'error', pointer: '/metadata/name', message: 'a NetworkAttachmentDefinition needs metadata.name', code: 7 }];
  // As a nadDir manifest, so that messages name the file as ADD's do.
  const nad: NadObject = { ...doc, metadata: { ...doc.metadata, namespace: doc.metadata.namespace || 'default' }, file } as NadObject;
  const findings: Finding[] = [];
  const built = attempt(findings, '', () => networkFromNad(nad, ctx.config));
  if (!built) return findings;
  const net: NetworkConfig = built.config;
  if (net.cniVersion === '') findings.push(warning('/spec/config/cniVersion', 'no cniVersion: braid gives the network the cniVersion of its own config'));
  if (ctx.binDirs) findings.push(...checkDelegates(net, ctx.binDirs(ctx.config.binDir), '/spec/config', !/"plugins"\s*:/.test(String(doc.spec?.config ?? ''))));
  return findings;
}

// One selection annotation: the parser ADD uses, then the warnings about what it tolerates.
function checkAnnotation(meta: PodMeta, key: string, base: string, parse: (value: string) => unknown, findings: Finding[]): void {
  const value = meta.annotations?.[key];
  if (value === undefined) return;
  const pointer = `${base}/annotations/${pointerSegment(key)}`;
  if (typeof value !== 'string') {
    findings.push({ severity: 'error', pointer, message: `annotation ${key} must be a string`, code: 7 });
    return;
  }
  if (attempt(findings, pointer, () => parse(value)) !== undefined) {
    findings.push(...selectionWarnings(value).map((w) => warning(`${pointer}${w.pointer}`, w.message)));
  }
}

/** A Pod (or a workload's pod template): its networks and default-network annotations. */
export function checkPod(meta: PodMeta, base: string, ctx: CheckContext): Finding[] {
  const namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
  const findings: Finding[] = [];
  checkAnnotation(meta, NETWORKS_ANNOTATION, base, (v) => parseNetworksAnnotation(v, namespace), findings);
  checkAnnotation(meta, DEFAULT_NETWORK_ANNOTATION, base, (v) => parseDefaultNetworkAnnotation(v, ctx.config.multusNamespace), findings);
  return findings;
}

/** Checks one document by what it is: a NAD, a pod (or workload), a CNI config; other kinds get a warning. */
export async function checkDocument(value: unknown, file: string, ctx: CheckContext): Promise<Finding[]> {
  const kind = kindOf(value);
  if (kind === 'NetworkAttachmentDefinition') return checkNad(value as Record<string, unknown>, file, ctx);
  const pod = podMetadata(value);
  if (pod) return checkPod(pod.metadata, pod.pointer, ctx);
  if (kind !== undefined) return [warning('/kind', `kind ${kind} is not something braid reads: not checked`)];
  const v = value as Record<string, unknown> | null;
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && (v.type !== undefined || v.plugins !== undefined)) return checkCniConfig(v, ctx);
  return [{ severity: 'error', pointer: '', message: 'neither a CNI config (no "type" or "plugins") nor a Kubernetes manifest (no "kind" and "apiVersion")', code: 6 }];
}
