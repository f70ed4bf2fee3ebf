import path = require('node:path');
import type { InstallFlags } from './flags';

/** The generated config's file name: sorts before the usual cluster-network confs, so the runtime picks it. */
export const OWN_CONF_NAME = '00-braid.conflist';
/** The installed executable's name in the CNI bin dir (the plugin `type`). */
export const BINARY_NAME = 'braid';

/** Where the installer writes, in its own (container) view, and how each path looks on the host. */
export interface Layout {
  binary: string;
  kubeconfigDir: string;
  kubeconfig: string;
  token: string;
  /** Maps a path of the container's view to the host's. */
  hostPath: (p: string) => string;
  kubeconfigHost: string;
  tokenHost: string;
}

/** Paths of the container's view turned into the host's: the --host-root prefix is dropped. */
export function hostPathMapper(hostRoot: string): (p: string) => string {
  const root = hostRoot ? path.resolve(hostRoot) : '/';
  if (root === '/') return (p) => path.resolve(p);
  return (p) => {
    const abs = path.resolve(p);
    if (abs === root) return '/';
    if (!abs.startsWith(`${root}/`)) throw new Error(`${abs} is not under --host-root ${root}: its host path is unknown`);
    return abs.slice(root.length);
  };
}

/** The installer's file layout for these flags. */
export function layout(flags: InstallFlags): Layout {
  const hostPath = hostPathMapper(flags.hostRoot);
  const kubeconfigDir = path.join(flags.cniConfDir, 'braid.d');
  const kubeconfig = path.join(kubeconfigDir, 'braid.kubeconfig');
  const kubeconfigHost = flags.kubeconfigFileHost || hostPath(kubeconfig);
  return {
    binary: path.join(flags.cniBinDir, BINARY_NAME),
    kubeconfigDir,
    kubeconfig,
    token: path.join(kubeconfigDir, 'token'),
    hostPath,
    kubeconfigHost,
    // The token sits next to the kubeconfig on the host too, wherever --kubeconfig-file-host puts it.
    tokenHost: path.join(path.dirname(kubeconfigHost), 'token'),
  };
}
