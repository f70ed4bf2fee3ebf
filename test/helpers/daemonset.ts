import * as fs from 'node:fs';
import * as yaml from 'js-yaml';

// The kubelet's part in running a DaemonSet container, for `ctr run`: a container of a manifest in
// packaging/kubernetes/ turned into ctr flags (mounts, read-only root, capabilities, argv), so the
// tests run the image exactly as the manifest says.

// The capabilities ctr gives a container by default: `drop: [ALL]` drops these (ctr 1.6 takes only names).
const CTR_DEFAULT_CAPS = ['CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP', 'SETPCAP',
  'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE'].map((c) => `CAP_${c}`);

/** How one DaemonSet container runs under `ctr run`. */
export interface CtrContainer {
  image: string;
  /** `ctr run` flags before the image: mounts, --read-only, --cap-drop. */
  flags: string[];
  /** The whole argv (ctr replaces the image's entrypoint when given one): command or entrypoint, then args. */
  argv: string[];
  /** The exec readiness probe's command, if it has one. */
  readinessCommand?: string[];
}

/** What the test provides in the kubelet's place. */
export interface KubeletStandIn {
  /** The image's entrypoint (Kubernetes appends `args` to it when `command` is unset). */
  entrypoint: string[];
  /** Creates a hostPath volume's dir if needed (type DirectoryOrCreate) and returns the path ctr mounts. */
  hostPath: (nodePath: string) => string;
  /** The dir a configMap volume is projected from. */
  configMap: (name: string) => string;
}

/** The flags and argv to run container `name` of the DaemonSet in `manifest` with `ctr run`. */
export function daemonSetContainer(manifest: string, name: string, kubelet: KubeletStandIn): CtrContainer {
  const ds = yaml.loadAll(fs.readFileSync(manifest, 'utf8')).find((d: any) => d?.kind === 'DaemonSet') as any;
  const spec = ds.spec.template.spec;
  const c = spec.containers.find((x: any) => x.name === name);
  if (!c) throw new Error(`${manifest}: no container ${name}`);
  const flags: string[] = [];
  for (const m of c.volumeMounts ?? []) {
    const v = spec.volumes.find((x: any) => x.name === m.name);
    const mode = m.readOnly ? 'ro' : 'rw';
    if (v.hostPath) flags.push('--mount', `type=bind,src=${kubelet.hostPath(v.hostPath.path)},dst=${m.mountPath},options=rbind:${mode}`);
    else if (v.configMap) flags.push('--mount', `type=bind,src=${kubelet.configMap(v.configMap.name)},dst=${m.mountPath},options=rbind:${mode}`);
    else if (v.emptyDir) flags.push('--mount', `type=tmpfs,src=tmpfs,dst=${m.mountPath},options=nosuid:nodev`);
    else throw new Error(`${manifest}: volume ${m.name} of a kind the tests do not provide`);
  }
  const sc = c.securityContext ?? {};
  if (sc.readOnlyRootFilesystem) flags.push('--read-only');
  const dropped: string[] = sc.capabilities?.drop ?? [];
  for (const cap of dropped.includes('ALL') ? CTR_DEFAULT_CAPS : dropped.map((d) => `CAP_${d}`)) flags.push('--cap-drop', cap);
  return {
    image: c.image,
    flags,
    argv: [...(c.command ?? kubelet.entrypoint), ...(c.args ?? [])],
    readinessCommand: c.readinessProbe?.exec?.command,
  };
}
