import { describe, expect, it } from 'vitest';
import type { NetworkConfig } from '../../src/config/netconf';
import { FlagError, installHelp, parseInstallFlags } from '../../src/install/flags';
import type { GenerateInput } from '../../src/install/generate';
import { hostPathMapper, layout } from '../../src/install/layout';
import { importBraidConfig } from '../helpers/unit';

// The pure parts of `braid install`: flags, host paths and the generated config.

await importBraidConfig(); // generates the config validator on a fresh clone
const { checkBraidConfig, generateConfig } = await import('../../src/install/generate');

const MASTER: NetworkConfig = {
  name: 'k8s-pod-network',
  cniVersion: '0.3.1',
  plugins: [{ type: 'calico' }, { type: 'portmap', capabilities: { portMappings: true, snat: false } }, { type: 'tuning', capabilities: 'x' }],
};
const input = (over: Partial<GenerateInput> = {}): GenerateInput => ({
  master: MASTER,
  masterHostFile: '/etc/cni/net.d/10-calico.conflist',
  cniVersion: '',
  overrideNetworkName: false,
  binDirHost: '/opt/cni/bin',
  flagKeys: {},
  options: {},
  ...over,
});

describe('braid install flags', () => {
  it('default to the DaemonSet layout of Multus\'s thin entrypoint', () => {
    const f = parseInstallFlags([]);
    expect(f).toMatchObject({ cniBinDir: '/host/opt/cni/bin', cniConfDir: '/host/etc/cni/net.d', autoconfigDir: '/host/etc/cni/net.d', configFile: 'auto', hostRoot: '/host', cleanupConfigOnExit: false, pollInterval: 1 });
    expect(f.configKeys).toEqual({});
    expect(layout(f)).toMatchObject({ binary: '/host/opt/cni/bin/braid', kubeconfigHost: '/etc/cni/net.d/braid.d/braid.kubeconfig', tokenHost: '/etc/cni/net.d/braid.d/token' });
  });

  it('take values as --flag=value or --flag value, Multus\'s spellings, and booleans bare or =false', () => {
    const f = parseInstallFlags(['--multus-conf-file=/etc/x.conf', '--cni-conf-dir', '/c', '-cleanup-config-on-exit', '--skip-multus-binary-copy=false',
      '--multus-log-level', 'debug', '--namespace-isolation=false', '--multus-kubeconfig-file-host=/k/kc', '--default-networks', 'a, b']);
    expect(f).toMatchObject({ configFile: '/etc/x.conf', cniConfDir: '/c', autoconfigDir: '/c', cleanupConfigOnExit: true, skipBinaryCopy: false });
    expect(f.configKeys).toEqual({ logLevel: 'debug', namespaceIsolation: false, defaultNetworks: ['a', 'b'] });
    expect(layout(f).tokenHost).toBe('/k/token');
  });

  it('refuse unknown flags, missing values and bad booleans or intervals, naming the flag', () => {
    expect(() => parseInstallFlags(['--rename-conf-file'])).toThrow(new FlagError('unknown flag "--rename-conf-file"'));
    expect(() => parseInstallFlags(['--cni-bin-dir'])).toThrow('--cni-bin-dir needs a value');
    expect(() => parseInstallFlags(['--cleanup-config-on-exit=yes'])).toThrow('--cleanup-config-on-exit: expected true or false');
    expect(() => parseInstallFlags(['--poll-interval=0'])).toThrow('--poll-interval: expected a positive number');
  });

  it('are all documented by --help', () => {
    const help = installHelp();
    for (const flag of ['--cni-bin-dir', '--config-file', '--multus-conf-file', '--conf-dir', '--check-readiness', '--options-file']) expect(help).toContain(flag);
  });
});

describe('host paths', () => {
  it('drop the host root, refuse paths outside it, and are the identity for /', () => {
    const toHost = hostPathMapper('/host');
    expect(toHost('/host/etc/cni/net.d/10-calico.conflist')).toBe('/etc/cni/net.d/10-calico.conflist');
    expect(toHost('/host')).toBe('/');
    expect(() => toHost('/hostile/x')).toThrow('/hostile/x is not under --host-root /host');
    expect(hostPathMapper('')('/etc/x')).toBe('/etc/x');
    expect(hostPathMapper('/')('/etc/x')).toBe('/etc/x');
  });
});

describe('the generated config', () => {
  it('points at the master by host path with the union of its true capabilities plus pod annotations', () => {
    const doc = generateConfig(input({ kubeconfigHost: '/etc/cni/net.d/braid.d/braid.kubeconfig' }));
    expect(doc).toEqual({
      cniVersion: '0.3.1',
      name: 'braid-cni-network',
      plugins: [{
        type: 'braid',
        capabilities: { portMappings: true, 'io.kubernetes.cri.pod-annotations': true },
        clusterNetwork: '/etc/cni/net.d/10-calico.conflist',
        kubeconfig: '/etc/cni/net.d/braid.d/braid.kubeconfig',
      }],
    });
    expect(() => checkBraidConfig(doc)).not.toThrow();
  });

  it('writes binDir only when the host bin dir is not the default, and no kubeconfig on a clusterless host', () => {
    const plugin = (generateConfig(input({ binDirHost: '/var/lib/rancher/k3s/data/bin' })).plugins as any[])[0];
    expect(plugin.binDir).toBe('/var/lib/rancher/k3s/data/bin');
    expect(plugin).not.toHaveProperty('kubeconfig');
  });

  it('layers flag keys, then the options file, over what it generates; the options may name version and network', () => {
    const doc = generateConfig(input({
      cniVersion: '1.0.0',
      overrideNetworkName: true,
      flagKeys: { logLevel: 'debug', namespaceIsolation: true },
      options: { logLevel: 'verbose', name: 'pods', capabilities: { bandwidth: true, portMappings: false } },
    }));
    expect(doc.cniVersion).toBe('1.0.0');
    expect(doc.name).toBe('pods');
    expect((doc.plugins as any[])[0]).toMatchObject({
      logLevel: 'verbose',
      namespaceIsolation: true,
      capabilities: { portMappings: false, bandwidth: true, 'io.kubernetes.cri.pod-annotations': true },
    });
    expect(generateConfig(input({ overrideNetworkName: true })).name).toBe('k8s-pod-network');
  });

  it('refuses options that would stop it being braid\'s, and a config braid\'s parser rejects', () => {
    expect(() => generateConfig(input({ options: { type: 'multus' } }))).toThrow('options file: type cannot be set');
    expect(() => generateConfig(input({ options: { capabilities: ['x'] } }))).toThrow('capabilities must be an object');
    expect(() => checkBraidConfig(generateConfig(input({ options: { delegateTimeout: 'soon' } })))).toThrow('delegateTimeout');
    expect(() => checkBraidConfig({ cniVersion: '1.0.0', name: 'x', plugins: [{ type: 'calico' }] })).toThrow('no plugin of type braid');
  });
});
