import { SUBCOMMANDS } from './subcommands';

/** The text of `braid --help`: subcommands, CNI mode and the environment it reads. */
export function helpText(): string {
  const names = Object.keys(SUBCOMMANDS);
  const width = Math.max(10, ...names.map((n) => n.length)) + 2;
  const rows = names.map((n) => `  ${n.padEnd(width)}${SUBCOMMANDS[n].summary}`);
  return [
    'braid: a CNI meta-plugin for multi-homed pods (Multus-compatible)',
    '',
    'Usage:',
    '  braid <subcommand> [flags]     a tool for operators (see below)',
    '  braid --version                package version and supported CNI versions',
    '  braid --help                   this text',
    '  CNI_COMMAND=ADD ... braid < netconf.json',
    '                                 CNI plugin mode, as a container runtime execs it',
    '',
    'Subcommands (each takes --help):',
    ...(rows.length > 0 ? rows : ['  (none)']),
    '',
    'CNI environment (plugin mode; the network config is read from stdin):',
    '  CNI_COMMAND      ADD, DEL, CHECK, STATUS, GC or VERSION',
    '  CNI_CONTAINERID  the container (sandbox) ID',
    '  CNI_NETNS        path of the pod network namespace (ADD, CHECK; optional on DEL)',
    '  CNI_IFNAME       interface name of the cluster network, usually eth0',
    '  CNI_ARGS         K=V pairs; K8S_POD_NAMESPACE, K8S_POD_NAME and K8S_POD_UID name the pod',
    '  CNI_PATH         directories searched for delegate plugins (after the config\'s binDir)',
    '',
    'Results and CNI errors are printed on stdout as JSON; logs go to stderr and/or logFile.',
    '',
  ].join('\n');
}
