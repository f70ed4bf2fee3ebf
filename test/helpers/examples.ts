import * as fs from 'node:fs';
import * as path from 'node:path';

/** The example configs and manifests shipped in conf-examples/. */
export const EXAMPLES = path.resolve(__dirname, '../../conf-examples');

/**
 * A copy in `dir` of an example braid config made usable on a test machine: confDir and network paths
 * point into conf-examples/, and the node-only kubeconfig and readinessindicatorfile are dropped.
 */
export function runnableExample(file: string, dir: string): string {
  const doc = JSON.parse(fs.readFileSync(path.join(EXAMPLES, file), 'utf8'));
  for (const p of (doc.plugins ?? [doc]).filter((q: any) => q.type === 'braid')) {
    delete p.kubeconfig;
    delete p.readinessindicatorfile;
    p.confDir = EXAMPLES;
    p.cniDir = path.join(dir, 'cache'); // never the host's /var/lib/cni/multus
    if (typeof p.clusterNetwork === 'string' && p.clusterNetwork.includes('/')) p.clusterNetwork = path.join(EXAMPLES, path.basename(p.clusterNetwork));
  }
  const out = path.join(dir, file);
  fs.writeFileSync(out, JSON.stringify(doc));
  return out;
}
