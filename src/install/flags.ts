/** The settings of `braid install`, after flag parsing and defaults. */
export interface InstallFlags {
  cniBinDir: string;
  cniConfDir: string;
  configFile: string;
  autoconfigDir: string;
  masterCniFileName: string;
  hostRoot: string;
  kubeconfigFileHost: string;
  serviceAccountDir: string;
  optionsFile: string;
  cniVersion: string;
  overrideNetworkName: boolean;
  cleanupConfigOnExit: boolean;
  skipConfigWatch: boolean;
  skipBinaryCopy: boolean;
  readinessFile: string;
  pollInterval: number;
  checkReadiness: boolean;
  help: boolean;
  /** braid config keys set by flags (only those given on the command line). */
  configKeys: Record<string, unknown>;
}

type Kind = 'string' | 'bool' | 'seconds' | 'list';

interface FlagSpec {
  name: string;
  /** Multus's thin-entrypoint spelling, accepted too, so its DaemonSet args carry over. */
  alias?: string;
  kind: Kind;
  /** Shown in --help; '' means empty. */
  def: string;
  help: string;
  /** The InstallFlags field it sets, or the braid config key it writes into the generated config. */
  field?: keyof InstallFlags;
  configKey?: string;
}

// One table for parsing and --help. Names follow Multus's thin entrypoint where it has the flag
// (without its "multus-" prefix, which is accepted as an alias); the first group is the installer's,
// the second goes into the config.
const SPECS: FlagSpec[] = [
  { name: 'cni-bin-dir', kind: 'string', def: '/host/opt/cni/bin', field: 'cniBinDir', help: "the host's CNI bin dir, as mounted here: braid copies itself there" },
  { name: 'cni-conf-dir', kind: 'string', def: '/host/etc/cni/net.d', field: 'cniConfDir', help: "the host's CNI conf dir, as mounted here: 00-braid.conflist and braid.d/ go there" },
  { name: 'config-file', alias: 'multus-conf-file', kind: 'string', def: 'auto', field: 'configFile', help: "'auto' generates the config from the master conf; a path installs that config file instead (same basename)" },
  { name: 'autoconfig-dir', alias: 'multus-autoconfig-dir', kind: 'string', def: '', field: 'autoconfigDir', help: 'where to look for the master conf (default: --cni-conf-dir)' },
  { name: 'master-cni-file-name', alias: 'multus-master-cni-file-name', kind: 'string', def: '', field: 'masterCniFileName', help: 'use this file of --autoconfig-dir as the master instead of the first one the runtime would pick' },
  { name: 'host-root', kind: 'string', def: '/host', field: 'hostRoot', help: "where the host's / is mounted here: paths written into the config lose this prefix (/host/etc/x -> /etc/x); '' or / when the paths are already the host's" },
  { name: 'kubeconfig-file-host', alias: 'multus-kubeconfig-file-host', kind: 'string', def: '', field: 'kubeconfigFileHost', help: 'host path of the kubeconfig written to <cni-conf-dir>/braid.d/braid.kubeconfig (default: derived with --host-root)' },
  { name: 'service-account-dir', kind: 'string', def: '/var/run/secrets/kubernetes.io/serviceaccount', field: 'serviceAccountDir', help: 'token and ca.crt of the pod\'s service account; with KUBERNETES_SERVICE_HOST/PORT they make the node kubeconfig' },
  { name: 'options-file', kind: 'string', def: '', field: 'optionsFile', help: 'a JSON or YAML object of braid config keys (e.g. a mounted ConfigMap), merged over the generated config; re-read when it changes' },
  { name: 'cni-version', kind: 'string', def: '', field: 'cniVersion', help: "cniVersion of the generated config (default: the master's)" },
  { name: 'override-network-name', kind: 'bool', def: 'false', field: 'overrideNetworkName', help: "name the generated config after the master network instead of 'braid-cni-network'" },
  { name: 'cleanup-config-on-exit', kind: 'bool', def: 'false', field: 'cleanupConfigOnExit', help: "on SIGTERM, remove braid's config and kubeconfig (the binary stays: running pods need it for DEL)" },
  { name: 'skip-config-watch', kind: 'bool', def: 'false', field: 'skipConfigWatch', help: 'install once, then only wait for SIGTERM: no regeneration, no token refresh' },
  { name: 'skip-binary-copy', alias: 'skip-multus-binary-copy', kind: 'bool', def: 'false', field: 'skipBinaryCopy', help: 'do not copy the braid executable into --cni-bin-dir' },
  { name: 'readiness-file', kind: 'string', def: '/tmp/braid-install/ready', field: 'readinessFile', help: "exists exactly while braid's config is installed and current (the DaemonSet's readiness probe)" },
  { name: 'poll-interval', kind: 'seconds', def: '1', field: 'pollInterval', help: 'seconds between checks of the master conf, the options file and the service-account token' },
  { name: 'check-readiness', kind: 'bool', def: 'false', field: 'checkReadiness', help: 'exit 0 if --readiness-file exists, else 1, and do nothing else (an exec probe for an image without a shell)' },
  { name: 'namespace-isolation', kind: 'bool', def: '', configKey: 'namespaceIsolation', help: 'config key namespaceIsolation' },
  { name: 'global-namespaces', kind: 'string', def: '', configKey: 'globalNamespaces', help: 'config key globalNamespaces (comma-separated)' },
  { name: 'multus-namespace', kind: 'string', def: '', configKey: 'multusNamespace', help: 'config key multusNamespace' },
  { name: 'default-networks', kind: 'list', def: '', configKey: 'defaultNetworks', help: 'config key defaultNetworks (comma-separated)' },
  { name: 'readiness-indicator-file', kind: 'string', def: '', configKey: 'readinessindicatorfile', help: 'config key readinessindicatorfile (a host path)' },
  { name: 'conf-dir', alias: 'multus-cni-conf-dir', kind: 'string', def: '', configKey: 'confDir', help: 'config key confDir (a host path; Multus\'s flag writes a key Multus ignores, #1506)' },
  { name: 'log-level', alias: 'multus-log-level', kind: 'string', def: '', configKey: 'logLevel', help: 'config key logLevel of the CNI plugin (the installer always logs its actions)' },
  { name: 'log-file', alias: 'multus-log-file', kind: 'string', def: '', configKey: 'logFile', help: 'config key logFile (a host path)' },
  { name: 'log-to-stderr', alias: 'multus-log-to-stderr', kind: 'bool', def: '', configKey: 'logToStderr', help: 'config key logToStderr' },
  { name: 'help', kind: 'bool', def: 'false', field: 'help', help: 'this text' },
];

/** A command-line mistake: the message says which flag. */
export class FlagError extends Error {}

function convert(spec: FlagSpec, raw: string | undefined): unknown {
  switch (spec.kind) {
    case 'bool':
      if (raw === undefined || raw === 'true') return true;
      if (raw === 'false') return false;
      throw new FlagError(`--${spec.name}: expected true or false, got ${JSON.stringify(raw)}`);
    case 'seconds': {
      const n = Number(raw);
      if (raw === undefined || raw === '' || !Number.isFinite(n) || n <= 0) throw new FlagError(`--${spec.name}: expected a positive number of seconds, got ${JSON.stringify(raw ?? '')}`);
      return n;
    }
    case 'list':
      return (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    default:
      if (raw === undefined) throw new FlagError(`--${spec.name} needs a value`);
      return raw;
  }
}

function defaults(): InstallFlags {
  const flags = { configKeys: {} } as unknown as Record<string, unknown>;
  for (const s of SPECS) if (s.field) flags[s.field] = s.kind === 'string' ? s.def : convert(s, s.def);
  return flags as unknown as InstallFlags;
}

/** Parses `--flag value`, `--flag=value` and bare boolean flags; unknown flags are errors. */
export function parseInstallFlags(args: string[]): InstallFlags {
  const flags = defaults();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const m = /^--?([a-z-]+)(?:=(.*))?$/s.exec(arg);
    const spec = m ? SPECS.find((s) => s.name === m[1] || s.alias === m[1]) : undefined;
    if (!m || !spec) throw new FlagError(`unknown flag ${JSON.stringify(arg)}`);
    let raw = m[2];
    if (raw === undefined && spec.kind !== 'bool') {
      if (i + 1 >= args.length) throw new FlagError(`--${spec.name} needs a value`);
      raw = args[++i];
    }
    const value = convert(spec, raw);
    if (spec.field) (flags as unknown as Record<string, unknown>)[spec.field] = value;
    if (spec.configKey) flags.configKeys[spec.configKey] = value;
  }
  if (!flags.autoconfigDir) flags.autoconfigDir = flags.cniConfDir;
  return flags;
}

/** The text of `braid install --help`. */
export function installHelp(): string {
  const row = (s: FlagSpec): string => {
    const value = s.kind === 'bool' ? '' : s.kind === 'seconds' ? ' <seconds>' : ' <value>';
    const def = s.def && s.kind !== 'bool' ? ` (default ${s.def})` : '';
    const alias = s.alias ? ` (or --${s.alias})` : '';
    return `  --${s.name}${value}${alias}\n      ${s.help}${def}`;
  };
  return [
    'braid install: the DaemonSet entrypoint. Copies braid into the host\'s CNI bin dir, writes',
    '00-braid.conflist from the master conf (the one the runtime would pick) and a node kubeconfig whose',
    'token file follows the service-account token, then keeps them current until SIGTERM.',
    '',
    'Usage: braid install [flags]      (boolean flags take no value, or =true / =false)',
    '',
    'Installer flags:',
    ...SPECS.filter((s) => s.field).map(row),
    '',
    'Flags that set keys of the generated config (written only when given):',
    ...SPECS.filter((s) => s.configKey).map(row),
    '',
  ].join('\n');
}
