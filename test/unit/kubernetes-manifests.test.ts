import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, ServiceAccount } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseInstallFlags } from '../../src/install/flags';
import { hostPathMapper, layout, OWN_CONF_NAME } from '../../src/install/layout';
import { importBraidConfig } from '../helpers/unit';

// Every manifest of packaging/kubernetes/ is a valid object of its kind (kubernetes-models' OpenAPI
// validators: types, required fields, enums), and the DaemonSet's mounts, args and probe agree with
// what `braid install` does by default, so that `kubectl apply -f packaging/kubernetes/` just works.

const { DEFAULTS } = await importBraidConfig();
const ROOT = path.resolve(__dirname, '../..');
const DIR = path.join(ROOT, 'packaging/kubernetes');
const MODELS: Record<string, new (o: any) => { validate: () => void }> = {
  CustomResourceDefinition, DaemonSet, ClusterRole, ClusterRoleBinding, ConfigMap, ServiceAccount,
};

const docs = fs.readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f)).sort()
  .flatMap((f) => yaml.loadAll(fs.readFileSync(path.join(DIR, f), 'utf8')).map((doc: any) => ({ file: f, doc })));
const ofKind = (kind: string): any[] => docs.filter((d) => d.doc.kind === kind).map((d) => d.doc);
const one = (kind: string): any => {
  expect(ofKind(kind)).toHaveLength(1);
  return ofKind(kind)[0];
};

describe('packaging/kubernetes manifests', () => {
  it('are each a valid Kubernetes object of their kind', () => {
    expect(docs.map((d) => d.doc.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'CustomResourceDefinition', 'DaemonSet', 'ServiceAccount']);
    for (const { file, doc } of docs) {
      const Model = MODELS[doc.kind];
      expect(() => new Model(doc).validate(), `${file}: ${doc.kind}`).not.toThrow();
    }
    // The validator does catch a broken object.
    const broken = structuredClone(one('DaemonSet'));
    delete broken.spec.selector;
    expect(() => new DaemonSet(broken).validate()).toThrow(/selector/);
  });

  it('define the NAD CRD as the NAD spec does: k8s.cni.cncf.io/v1, namespaced, spec.config a string', () => {
    const crd = one('CustomResourceDefinition');
    expect(crd.metadata.name).toBe('network-attachment-definitions.k8s.cni.cncf.io');
    expect(crd.spec).toMatchObject({
      group: 'k8s.cni.cncf.io',
      scope: 'Namespaced',
      names: { plural: 'network-attachment-definitions', kind: 'NetworkAttachmentDefinition', shortNames: ['net-attach-def'] },
    });
    expect(crd.spec.versions).toHaveLength(1);
    expect(crd.spec.versions[0]).toMatchObject({ name: 'v1', served: true, storage: true });
    expect(crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.config.type).toBe('string');
  });

  it('grant the service account exactly the README\'s minimal rules, bound to the DaemonSet\'s account', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const block = /\*\*RBAC\*\*[^]*?```yaml\n([^]*?)```/.exec(readme);
    expect(block).not.toBeNull();
    expect(one('ClusterRole').rules).toEqual((yaml.load(block![1]) as any).rules);
    const sa = one('ServiceAccount');
    const binding = one('ClusterRoleBinding');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: one('ClusterRole').metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]);
    const ds = one('DaemonSet');
    expect(ds.metadata.namespace).toBe(sa.metadata.namespace);
    expect(ds.spec.template.spec.serviceAccountName).toBe(sa.metadata.name);
  });

  it('run the DaemonSet on every node, host-networked, node-critical, with requests and a selector matching its pods', () => {
    const ds = one('DaemonSet');
    const pod = ds.spec.template.spec;
    expect(ds.spec.selector.matchLabels).toEqual(ds.spec.template.metadata.labels);
    expect(pod.hostNetwork).toBe(true);
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(pod.tolerations).toContainEqual({ operator: 'Exists' }); // no key, no effect: every taint
    for (const c of pod.containers) {
      expect(c.resources.requests.cpu).toBeTruthy();
      expect(c.resources.requests.memory).toBeTruthy();
    }
  });

  it('mount the host dirs where braid install looks for them, so every path it writes is the host\'s', () => {
    const ds = one('DaemonSet');
    const pod = ds.spec.template.spec;
    const install = pod.containers.find((c: any) => c.name === 'install');
    expect(install.command).toBeUndefined(); // the image's entrypoint, /braid install
    const flags = parseInstallFlags(install.args);
    const volumes = new Map<string, any>(pod.volumes.map((v: any) => [v.name, v]));
    const mounts = new Map<string, any>(install.volumeMounts.map((m: any) => [m.mountPath, m]));
    for (const m of install.volumeMounts) expect(volumes.has(m.name), m.name).toBe(true);
    const hostPathOf = (dir: string): string => volumes.get(mounts.get(dir)?.name)?.hostPath?.path;
    // The container sees the host's /X at <host-root>/X: the mapping the installer uses is the mounts' own.
    const toHost = hostPathMapper(flags.hostRoot);
    for (const dir of [flags.cniBinDir, flags.cniConfDir]) expect(hostPathOf(dir), dir).toBe(toHost(dir));
    expect(hostPathOf(flags.cniBinDir)).toBe('/opt/cni/bin');
    expect(hostPathOf(flags.cniConfDir)).toBe('/etc/cni/net.d');
    expect(layout(flags).kubeconfigHost).toBe('/etc/cni/net.d/braid.d/braid.kubeconfig');
    // braid's cache and device-info dirs, at the paths braid uses by default.
    expect(hostPathOf(DEFAULTS.cniDir)).toBe(DEFAULTS.cniDir);
    expect(hostPathOf(DEFAULTS.deviceInfoDir)).toBe(DEFAULTS.deviceInfoDir);
    // The options file comes from the ConfigMap's key.
    const optionsMount = install.volumeMounts.find((m: any) => flags.optionsFile.startsWith(`${m.mountPath}/`));
    const cm = volumes.get(optionsMount.name).configMap;
    expect(cm.name).toBe(one('ConfigMap').metadata.name);
    expect(Object.keys(one('ConfigMap').data)).toContain(path.basename(flags.optionsFile));
    expect(yaml.load(one('ConfigMap').data[path.basename(flags.optionsFile)]) ?? {}).toBeTypeOf('object');
    expect(flags.cleanupConfigOnExit).toBe(true);
  });

  it('probe readiness with braid install --check-readiness on a readiness file in a writable volume', () => {
    const pod = one('DaemonSet').spec.template.spec;
    const install = pod.containers.find((c: any) => c.name === 'install');
    const probe = install.readinessProbe.exec.command;
    expect(probe.slice(0, 3)).toEqual(['/braid', 'install', '--check-readiness']);
    const probeFlags = parseInstallFlags(probe.slice(2));
    expect(probeFlags.readinessFile).toBe(parseInstallFlags(install.args).readinessFile);
    const dir = path.dirname(probeFlags.readinessFile);
    const mount = install.volumeMounts.find((m: any) => m.mountPath === dir);
    expect(mount, `a volume at ${dir}`).toBeDefined();
    expect(pod.volumes.find((v: any) => v.name === mount.name).emptyDir).toBeDefined();
  });

  it('run the agent on the config the installer writes, at the host paths it names, with its socket dir on the host and probes on its port', () => {
    const pod = one('DaemonSet').spec.template.spec;
    const install = pod.containers.find((c: any) => c.name === 'install');
    const agent = pod.containers.find((c: any) => c.name === 'agent');
    expect(agent.command).toEqual(['/braid', 'agent']);
    expect(agent.image).toBe(install.image);
    const config = agent.args.find((a: string) => a.startsWith('--config='))!.slice('--config='.length);
    const volumes = new Map<string, any>(pod.volumes.map((v: any) => [v.name, v]));
    const hostPathAt = (dir: string): string | undefined => {
      const m = agent.volumeMounts.find((v: any) => v.mountPath === dir);
      return m && volumes.get(m.name)?.hostPath?.path;
    };
    // The conflist (and the kubeconfig path inside it) are read at their host paths.
    expect(config).toBe(`/etc/cni/net.d/${OWN_CONF_NAME}`);
    expect(hostPathAt(path.dirname(config))).toBe(path.dirname(config));
    expect(layout(parseInstallFlags(install.args)).kubeconfigHost.startsWith(`${path.dirname(config)}/`)).toBe(true);
    expect(hostPathAt(path.dirname(DEFAULTS.agentSocket))).toBe(path.dirname(DEFAULTS.agentSocket));
    expect(hostPathAt(path.dirname(DEFAULTS.kubeletSocket))).toBe(path.dirname(DEFAULTS.kubeletSocket));
    expect(agent.env).toContainEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    const port = Number(agent.args.find((a: string) => a.startsWith('--metrics-address='))!.split(':').at(-1));
    expect(agent.livenessProbe.httpGet).toEqual({ path: '/healthz', port });
    expect(agent.readinessProbe.httpGet).toEqual({ path: '/readyz', port });
    const rules = one('ClusterRole').rules;
    for (const resource of ['pods', 'network-attachment-definitions']) {
      expect(rules.find((r: any) => r.resources.includes(resource)).verbs).toEqual(expect.arrayContaining(['list', 'watch']));
    }
  });
});
