import schema from '../../schemas/config.schema.json';
import { CniError, ErrorCode } from '../cni/errors';
import { isSupportedVersion, SUPPORTED_VERSIONS } from '../cni/version';
import type { Level } from '../log';
import { validatedDocument, type ParseMode } from './lenient';
import { normalizeLogLevel } from './log-level';
import type { ConfigWarning } from './schema';

/** Log rotation settings (Multus `logOptions`; sizes in MB, ages in days). */
export interface LogOptions { maxAge: number; maxSize: number; maxBackups: number; compress: boolean }

/** braid's own configuration with every default applied. */
export interface BraidConfig {
  cniVersion: string;
  name: string;
  type: string;
  capabilities: Record<string, boolean>;
  runtimeConfig: Record<string, unknown>;
  args?: Record<string, unknown>;
  clusterNetwork?: string;
  defaultNetworks: string[];
  delegates?: Record<string, unknown>[];
  confDir: string;
  cniDir: string;
  binDir: string;
  kubeconfig: string;
  multusNamespace: string;
  systemNamespaces: string[];
  namespaceIsolation: boolean;
  globalNamespaces: string[];
  readinessindicatorfile: string;
  readinessTimeout: number;
  retryDeleteOnError: boolean;
  logFile: string;
  /** '' when unset: the log's DEFAULT_LEVEL, which shows warnings (Multus's panic does not). */
  logLevel: Level | '';
  /** As configured ('' when unset): the log matches 'text' or 'json' and warns on anything else. */
  logFormat: string;
  logToStderr: boolean;
  logOptions: LogOptions;
  delegateTimeout: number;
  /** undefined: chosen per ADD (effectiveResultMode). */
  resultMode?: 'merged' | 'clusterNetwork';
  nadDir: string;
  kubeRequestTimeout: number;
  kubeTimeout: number;
  events: boolean;
  kubeletSocket: string;
  kubeletCheckpoint: string;
  kubeletTimeout: number;
  deviceInfoDir: string;
  pciDevicesDir: string;
  /** Multus's auxiliary chain: `<dir of clusterNetwork>/<name>/*.conf` run as the last step of every pod. */
  auxiliaryCNIChainName?: string;
  /** Fail a pod request no plugin declares the capability for (NAD spec), instead of warning as Multus does. */
  strictCapabilities: boolean;
  /** The resident agent's unix socket (braid agent serves it; ADD asks it first). */
  agentSocket: string;
  /** The agent reconciles running pods' secondary networks when their networks annotation changes. */
  dynamicNetworks: boolean;
  /** Top-level keys braid does not know (logged as a warning). */
  unknownKeys: string[];
  /** Config values braid ignored in favour of their defaults (logged as warnings). */
  warnings: ConfigWarning[];
}

/** Multus's defaults for the keys it shares with braid. */
export const DEFAULTS = {
  confDir: '/etc/cni/multus/net.d',
  cniDir: '/var/lib/cni/multus',
  binDir: '/opt/cni/bin',
  multusNamespace: 'kube-system',
  systemNamespaces: ['kube-system'],
  globalNamespaces: ['default'],
  readinessTimeout: 45,
  delegateTimeout: 60,
  kubeRequestTimeout: 5,
  kubeTimeout: 15,
  kubeletSocket: '/var/lib/kubelet/pod-resources/kubelet.sock',
  kubeletCheckpoint: '/var/lib/kubelet/device-plugins/kubelet_internal_checkpoint',
  kubeletTimeout: 10,
  deviceInfoDir: '/var/run/k8s.cni.cncf.io/devinfo',
  pciDevicesDir: '/sys/bus/pci/devices',
  agentSocket: '/run/braid/agent.sock',
  logOptions: { maxAge: 5, maxSize: 100, maxBackups: 5, compress: true },
} as const;

/** Parses the stdin bytes as JSON, failing with code 6 on a decode error. */
export function decodeJson(bytes: string, what: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes);
  } catch (e) {
    throw new CniError(ErrorCode.DecodeFailure, `${what}: invalid JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new CniError(ErrorCode.DecodeFailure, `${what}: expected a JSON object`);
  }
  return doc as Record<string, unknown>;
}

export { schemaProblems, type SchemaProblem } from './schema';

const KNOWN_KEYS = new Set(Object.keys(schema.properties));

/** Top-level keys of a config document that braid does not know (GC's `cni.dev/...` keys are known). */
export function unknownKeys(doc: Record<string, unknown>): string[] {
  return Object.keys(doc).filter((k) => !KNOWN_KEYS.has(k) && !k.startsWith('cni.dev/'));
}

/**
 * Validates braid's config document and applies Multus-compatible defaults. In 'del' mode (DEL, GC) an
 * invalid value of a key DEL does not need is a warning and its default, so a config edit never blocks a DEL.
 */
export function parseBraidConfig(doc: Record<string, unknown>, mode: ParseMode = 'strict'): BraidConfig {
  // Spec: a cniVersion the plugin does not speak is error 1 (incompatible version), not a config error.
  if (typeof doc.cniVersion === 'string' && doc.cniVersion !== '' && !isSupportedVersion(doc.cniVersion)) {
    throw new CniError(ErrorCode.IncompatibleVersion,
      `incompatible CNI versions: config cniVersion ${JSON.stringify(doc.cniVersion)} is not supported`,
      `supported versions: ${SUPPORTED_VERSIONS.join(', ')}`, '/cniVersion');
  }
  const warnings: ConfigWarning[] = [];
  const c = validatedDocument(doc, mode, warnings);
  if (mode === 'strict') requireNetworks(c);
  const globals = typeof c.globalNamespaces === 'string' && c.globalNamespaces.trim() !== ''
    ? c.globalNamespaces.split(',').map((s: string) => s.trim()).filter(Boolean)
    : [...DEFAULTS.globalNamespaces];
  return {
    cniVersion: c.cniVersion || '0.1.0', // libcni: a config without cniVersion is 0.1.0
    name: c.name ?? '',
    type: c.type,
    capabilities: c.capabilities ?? {},
    runtimeConfig: c.runtimeConfig ?? {},
    args: c.args,
    clusterNetwork: c.clusterNetwork,
    defaultNetworks: c.defaultNetworks ?? [],
    delegates: c.delegates,
    confDir: c.confDir ?? DEFAULTS.confDir,
    cniDir: c.cniDir ?? DEFAULTS.cniDir,
    binDir: c.binDir ?? DEFAULTS.binDir,
    kubeconfig: c.kubeconfig ?? '',
    multusNamespace: c.multusNamespace ?? DEFAULTS.multusNamespace,
    systemNamespaces: c.systemNamespaces ?? [...DEFAULTS.systemNamespaces],
    namespaceIsolation: c.namespaceIsolation ?? false,
    globalNamespaces: globals,
    readinessindicatorfile: c.readinessindicatorfile ?? '',
    readinessTimeout: c.readinessTimeout ?? DEFAULTS.readinessTimeout,
    retryDeleteOnError: c.retryDeleteOnError ?? false,
    logFile: c.logFile ?? '',
    logLevel: normalizeLogLevel(c.logLevel, warnings),
    logFormat: c.logFormat ?? '',
    logToStderr: c.logToStderr ?? true,
    logOptions: { ...DEFAULTS.logOptions, ...(c.logOptions ?? {}) },
    delegateTimeout: c.delegateTimeout ?? DEFAULTS.delegateTimeout,
    resultMode: c.resultMode,
    nadDir: c.nadDir ?? '',
    kubeRequestTimeout: c.kubeRequestTimeout ?? DEFAULTS.kubeRequestTimeout,
    kubeTimeout: c.kubeTimeout ?? DEFAULTS.kubeTimeout,
    events: c.events ?? true,
    kubeletSocket: c.kubeletSocket ?? DEFAULTS.kubeletSocket,
    kubeletCheckpoint: c.kubeletCheckpoint ?? DEFAULTS.kubeletCheckpoint,
    kubeletTimeout: c.kubeletTimeout ?? DEFAULTS.kubeletTimeout,
    deviceInfoDir: c.deviceInfoDir ?? DEFAULTS.deviceInfoDir,
    pciDevicesDir: c.pciDevicesDir ?? DEFAULTS.pciDevicesDir,
    strictCapabilities: c.strictCapabilities ?? false,
    agentSocket: c.agentSocket ?? DEFAULTS.agentSocket,
    auxiliaryCNIChainName: c.auxiliaryCNIChainName || undefined,
    dynamicNetworks: c.dynamicNetworks ?? false,
    unknownKeys: unknownKeys(c),
    warnings,
  };
}

/** Fails with code 7 when the config names no network at all (Multus: "at least one delegate/clusterNetwork"). */
export function requireNetworks(c: { clusterNetwork?: unknown; delegates?: unknown }): void {
  if (!c.clusterNetwork && !c.delegates) {
    throw new CniError(ErrorCode.InvalidConfig, 'invalid braid config: at least one delegate/clusterNetwork must be specified', '', '/clusterNetwork');
  }
}
