import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { describe, expect, it } from 'vitest';
import { importBraidConfig } from '../helpers/unit';

// packaging/dynamic-networks-patch.yaml, applied to the shipped DaemonSet as `kubectl patch` applies a
// strategic merge patch (containers by name, volumeMounts by mountPath, volumes by name, `$patch: replace`),
// gives a valid DaemonSet whose agent container sees what a reconcile needs, at the host's own paths.

const { DEFAULTS } = await importBraidConfig();
const ROOT = path.resolve(__dirname, '../..');
const daemonSet = yaml.load(fs.readFileSync(path.join(ROOT, 'packaging/kubernetes/30-daemonset.yaml'), 'utf8')) as any;
const patch = yaml.load(fs.readFileSync(path.join(ROOT, 'packaging/dynamic-networks-patch.yaml'), 'utf8')) as any;

/** Merges list `patch` into `base` by `key`, each element merged by `merge`. */
function mergeByKey(base: any[] = [], patched: any[] = [], key: string, merge: (a: any, b: any) => any): any[] {
  const out = [...base];
  for (const p of patched) {
    const i = out.findIndex((b) => b[key] === p[key]);
    if (i >= 0) out[i] = merge(out[i], p);
    else out.push(p);
  }
  return out;
}

function mergeContainer(base: any, p: any): any {
  const { $patch, ...securityContext } = p.securityContext ?? {};
  return {
    ...base,
    ...(p.securityContext ? { securityContext: $patch === 'replace' ? securityContext : { ...base.securityContext, ...securityContext } } : {}),
    volumeMounts: mergeByKey(base.volumeMounts, p.volumeMounts, 'mountPath', (a, b) => ({ ...a, ...b })),
  };
}

function patched(): any {
  const ds = structuredClone(daemonSet);
  const spec = ds.spec.template.spec;
  spec.containers = mergeByKey(spec.containers, patch.spec.template.spec.containers, 'name', mergeContainer);
  spec.volumes = mergeByKey(spec.volumes, patch.spec.template.spec.volumes, 'name', (a, b) => ({ ...a, ...b }));
  return ds;
}

describe('the dynamic-networks patch of the DaemonSet', () => {
  it('patches only the agent container, and the result is a valid DaemonSet', () => {
    expect(patch.spec.template.spec.containers.map((c: any) => c.name)).toEqual(['agent']);
    expect(daemonSet.spec.template.spec.containers.map((c: any) => c.name)).toContain('agent');
    expect(() => new DaemonSet(patched()).validate()).not.toThrow();
  });

  it('gives the agent braid\'s cache, the plugins, the pods\' netns and the device-info files at the host\'s paths', () => {
    const spec = patched().spec.template.spec;
    const agent = spec.containers.find((c: any) => c.name === 'agent');
    const hostPathOf = (mountPath: string) => {
      const mount = agent.volumeMounts.find((m: any) => mountPath === m.mountPath || mountPath.startsWith(`${m.mountPath}/`));
      expect(mount, `a mount holding ${mountPath}`).toBeDefined();
      const volume = spec.volumes.find((v: any) => v.name === mount.name);
      return path.join(volume.hostPath.path, path.relative(mount.mountPath, mountPath));
    };
    for (const dir of [DEFAULTS.cniDir, DEFAULTS.binDir, '/var/lib/cni/networks', '/var/run/netns', DEFAULTS.deviceInfoDir]) {
      expect(hostPathOf(dir)).toBe(dir);
    }
    expect(agent.volumeMounts.find((m: any) => m.mountPath === '/var/run/netns').mountPropagation).toBe('HostToContainer');
    expect(agent.securityContext).toEqual({ runAsUser: 0, privileged: true });
  });

  it('leaves the shipped DaemonSet\'s agent unprivileged, without the pods\' netns', () => {
    const agent = daemonSet.spec.template.spec.containers.find((c: any) => c.name === 'agent');
    expect(agent.securityContext.privileged).toBeUndefined();
    expect(agent.volumeMounts.map((m: any) => m.mountPath)).not.toContain('/var/run/netns');
  });
});
