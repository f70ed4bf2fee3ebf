import { asCniError, CniError, ErrorCode } from '../cni/errors';
import type { Request } from '../cni/env';
import type { BraidConfig } from '../config/braid-config';
import { findPlugin } from '../delegate/find';
import { defaultRouteChange } from '../plan/default-route';
import { buildPlan } from '../plan/plan';
import { openApi, openNadDir } from '../resolve/nads';
import { POD_ANNOTATIONS_CAPABILITY, resolveInputs, type GivenInputs } from '../resolve/resolve';
import { writeAll } from '../stdio';
import { flag, outputFormat, runCommand, UsageError, type CommandSpec, type ParsedArgs } from './args';
import { loadBraidConfigFile } from './config-file';
import { readDevicesFile } from './devices-file';
import { podMetadata, readDocuments } from './manifests';
import { planView, renderPlan, type PlanView } from './plan-view';

const SPEC: CommandSpec = {
  usage: `Usage: braid plan --config FILE --pod POD.yaml [--nad-dir DIR | --kubeconfig FILE] [--devices FILE] [flags]

A dry run of ADD for a pod: no netns, no plugin runs. Prints, per attachment in order, the network, the
interface name, CNI_ARGS, the exact JSON each delegate would get on stdin (with the injected deviceID,
runtimeConfig and args) and what happens to the default routes. It resolves and plans with ADD's code,
so it fails where ADD would fail, with the same message and CNI error code.

Flags:
  --config FILE      braid config (conf or conflist, as in the runtime's config dir)
  --pod FILE         pod manifest (YAML or JSON; a workload's pod template works too)
  --nad-dir DIR      read NADs from the manifests in DIR instead of the config's API or nadDir
  --kubeconfig FILE  read NADs from this cluster instead of the config's
  --devices FILE     device IDs the kubelet would assign, by resource name (YAML or JSON), e.g.
                       {"intel.com/sriov_netdevice": ["0000:3b:02.1"]}
                     without it, networks with a resourceName ask the node's kubelet, as ADD does
  --container-id ID  container ID to plan for (default: plan-<pod name>)
  --ifname NAME      CNI_IFNAME of the cluster network (default: eth0)
  --cni-args ARGS    CNI_ARGS as the runtime sends them (default: containerd's, from the manifest:
                       IgnoreUnknown=1;K8S_POD_NAMESPACE=..;K8S_POD_NAME=..;K8S_POD_INFRA_CONTAINER_ID=..;K8S_POD_UID=..)
  -o, --output FMT   text (default) or json
  -h, --help         this text

Exit status: 0 planned, 1 ADD would fail (the CNI error is printed), 2 usage error.
`,
  flags: {
    config: 'value', pod: 'value', 'nad-dir': 'value', kubeconfig: 'value', devices: 'value',
    'container-id': 'value', ifname: 'value', 'cni-args': 'value', output: 'value',
  },
};

/** The pod a manifest describes: namespace (default "default"), name, UID and its annotations. */
async function podFromManifest(file: string): Promise<{ namespace: string; name: string; uid: string; annotations: Record<string, string> }> {
  const docs = await readDocuments(file);
  for (const doc of docs) {
    const pod = podMetadata(doc.value);
    if (!pod) continue;
    const own = ((doc.value as { metadata?: Record<string, unknown> }).metadata ?? {});
    const str = (...vs: unknown[]) => vs.find((v): v is string => typeof v === 'string' && v !== '');
    const name = str(pod.metadata.name, own.name);
    if (!name) throw new CniError(ErrorCode.InvalidConfig, `${file}: the pod has no metadata.name`);
    const annotations = Object.fromEntries(Object.entries(pod.metadata.annotations ?? {}).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
    return { namespace: str(pod.metadata.namespace, own.namespace) ?? 'default', name, uid: str(pod.metadata.uid, own.uid) ?? '', annotations };
  }
  throw new CniError(ErrorCode.InvalidConfig, `${file}: no Pod (or workload with a pod template) in it`);
}

/** Plans the pod's ADD from the flags: the same resolve and buildPlan calls ADD makes. */
async function makePlan(parsed: ParsedArgs): Promise<PlanView> {
  const configFile = flag(parsed, 'config');
  const podFile = flag(parsed, 'pod');
  if (!configFile || !podFile) throw new UsageError('--config and --pod are required');
  const nadDir = flag(parsed, 'nad-dir');
  const kubeconfig = flag(parsed, 'kubeconfig');
  if (nadDir && kubeconfig) throw new UsageError('--nad-dir and --kubeconfig are alternatives: give one');
  let config: BraidConfig = loadBraidConfigFile(configFile);
  if (kubeconfig) config = { ...config, kubeconfig };
  const pod = await podFromManifest(podFile);
  // What containerd and CRI-O put in runtimeConfig when braid declares the capability.
  if (config.capabilities[POD_ANNOTATIONS_CAPABILITY]) config = { ...config, runtimeConfig: { ...config.runtimeConfig, [POD_ANNOTATIONS_CAPABILITY]: pod.annotations } };
  const containerID = flag(parsed, 'container-id') ?? `plan-${pod.name}`;
  const cniArgs = flag(parsed, 'cni-args')
    ?? `IgnoreUnknown=1;K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name};K8S_POD_INFRA_CONTAINER_ID=${containerID};K8S_POD_UID=${pod.uid}`;
  const req: Request = {
    command: 'ADD', containerID, netns: '', ifname: flag(parsed, 'ifname') ?? 'eth0', args: cniArgs,
    path: (process.env.CNI_PATH ?? '').split(':').filter(Boolean),
  };
  const devicesFile = flag(parsed, 'devices');
  // A dry run writes nothing: the API is opened without the TLS session cache, and the agent is not asked.
  const nads = nadDir ? await openNadDir(nadDir) : await openApi(config, { tlsSessions: false });
  const given: GivenInputs = {
    pod: { ref: { namespace: pod.namespace, name: pod.name, uid: pod.uid, infraContainerID: containerID }, annotations: pod.annotations, exists: true, uid: pod.uid || undefined },
    ...(nads ? { nads } : {}),
    ...(devicesFile ? { devices: await readDevicesFile(devicesFile) } : {}),
  };
  const { input } = await resolveInputs(req, config, given);
  const plan = buildPlan(input);
  const dirs = [...new Set([config.binDir, ...req.path])];
  const missing = plan.flatMap((att) => att.config.plugins.flatMap((p) => {
    try {
      findPlugin(p.type as string, dirs);
      return [];
    } catch (e) {
      return [`network ${JSON.stringify(att.network)}: ${asCniError(e).message} (ADD on this machine would fail)`];
    }
  }));
  return planView({ namespace: pod.namespace, name: pod.name }, containerID, plan, defaultRouteChange(plan), missing);
}

/** `braid plan`: exit 0 planned, 1 ADD would fail, 2 usage. */
export function main(args: string[]): Promise<number> {
  return runCommand(args, SPEC, async (parsed) => {
    const format = outputFormat(parsed);
    if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[0])}`);
    let view: PlanView;
    try {
      view = await makePlan(parsed);
    } catch (e) {
      if (e instanceof UsageError) throw e;
      const err = asCniError(e);
      const error = { code: err.code, msg: err.message, ...(err.details ? { details: err.details } : {}) };
      writeAll(1, format === 'json' ? `${JSON.stringify({ error })}\n` : `braid plan: ADD would fail with CNI error ${err.code}: ${err.message}\n`);
      return 1;
    }
    writeAll(1, format === 'json' ? `${JSON.stringify(view, null, 2)}\n` : renderPlan(view));
    return 0;
  });
}
