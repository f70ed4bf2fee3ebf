import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { BRAID } from '../helpers/braid';
import { sandbox } from '../helpers/host';
import { eventually, fakeHost, readJson, startInstaller, type FakeHost, type RunningInstaller } from '../helpers/installer';
import { importBraidConfig } from '../helpers/unit';

// `braid install` as the DaemonSet runs it: the real executable as a child process, with temp dirs
// standing in for the host's CNI dirs (mounted under a host root) and for the service-account mount.

const { parseBraidConfig } = await importBraidConfig();
const IN_CLUSTER = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '6443' };
const CALICO = {
  cniVersion: '0.4.0',
  name: 'k8s-pod-network',
  plugins: [{ type: 'calico' }, { type: 'portmap', capabilities: { portMappings: true } }, { type: 'bandwidth', capabilities: { bandwidth: true } }],
};

const own = (h: FakeHost): string => path.join(h.confDir, '00-braid.conflist');
const write = (file: string, doc: unknown): void => fs.writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
const mode = (file: string): number => fs.statSync(file).mode & 0o777;
// A log line comes through a pipe, after the change it reports: wait for it.
const logged = (inst: RunningInstaller, text: string): Promise<void> => eventually(`log line ${JSON.stringify(text)}`, () => inst.stderr().includes(text), inst);

// A projected service-account volume as the kubelet writes it: files behind a ..data symlink that is swapped atomically.
function projectToken(h: FakeHost, token: string, generation: number, ca = 'ZmFrZQ=='): void {
  fs.mkdirSync(h.saDir, { recursive: true });
  const data = path.join(h.saDir, `..gen${generation}`);
  fs.mkdirSync(data);
  fs.writeFileSync(path.join(data, 'token'), token);
  fs.writeFileSync(path.join(data, 'ca.crt'), `-----BEGIN CERTIFICATE-----\n${ca}\n-----END CERTIFICATE-----\n`);
  fs.symlinkSync(path.basename(data), path.join(h.saDir, '..data_tmp'));
  fs.renameSync(path.join(h.saDir, '..data_tmp'), path.join(h.saDir, '..data'));
  for (const f of ['token', 'ca.crt']) if (!fs.existsSync(path.join(h.saDir, f))) fs.symlinkSync(`..data/${f}`, path.join(h.saDir, f));
}

describe('braid install: the executable', () => {
  it('replaces an older binary that is running by rename (no ETXTBSY), then skips an identical copy', async () => {
    const h = fakeHost(sandbox());
    const target = path.join(h.binDir, 'braid');
    fs.copyFileSync('/bin/sleep', target);
    const old = spawn(target, ['60']); // a braid of the old version, still running
    try {
      const inst = startInstaller(h);
      await eventually('the copy', () => inst.stderr().includes(`copied ${BRAID} to ${target}`), inst);
      expect(fs.readFileSync(target).equals(fs.readFileSync(BRAID))).toBe(true);
      expect(mode(target)).toBe(0o755);
      expect(old.exitCode).toBeNull();
      expect(fs.readdirSync(h.binDir)).toEqual(['braid']);
      expect(await inst.stop()).toBe(0);
    } finally {
      old.kill('SIGKILL');
    }
    const inode = fs.statSync(target).ino;
    const again = startInstaller(h);
    await eventually('the skip', () => again.stderr().includes(`${target} is already this executable: not copied`), again);
    expect(fs.statSync(target).ino).toBe(inode);
    await again.stop();
  });
});

describe('braid install: the generated config', () => {
  it('takes the first conf the runtime would load, with host paths, the capabilities union and the node kubeconfig', async () => {
    const h = fakeHost(sandbox());
    write(path.join(h.confDir, '01-broken.conf'), '{"cniVersion": ');
    write(path.join(h.confDir, '02-notype.conf'), { cniVersion: '1.0.0', name: 'x' });
    write(path.join(h.confDir, '05-multus.conf'), { cniVersion: '1.0.0', name: 'multus-cni-network', type: 'multus', kubeconfig: '/k' });
    write(path.join(h.confDir, '10-calico.conflist'), CALICO);
    write(path.join(h.confDir, '20-flannel.conflist'), { cniVersion: '1.0.0', name: 'cbr0', plugins: [{ type: 'flannel' }] });
    projectToken(h, 'token-one', 1);
    const inst = startInstaller(h, [], IN_CLUSTER);
    await eventually('readiness', () => fs.existsSync(h.readiness), inst);

    const conf = readJson(own(h));
    expect(conf).toEqual({
      cniVersion: '0.4.0',
      name: 'braid-cni-network',
      plugins: [{
        type: 'braid',
        capabilities: { bandwidth: true, portMappings: true, 'io.kubernetes.cri.pod-annotations': true },
        clusterNetwork: '/etc/cni/net.d/10-calico.conflist',
        kubeconfig: '/etc/cni/net.d/braid.d/braid.kubeconfig',
      }],
    });
    const parsed = parseBraidConfig({ ...conf.plugins[0], name: conf.name, cniVersion: conf.cniVersion });
    expect(parsed.clusterNetwork).toBe('/etc/cni/net.d/10-calico.conflist');
    expect(parsed.unknownKeys).toEqual([]);

    const kubeconfigFile = path.join(h.confDir, 'braid.d/braid.kubeconfig');
    const kc = yaml.load(fs.readFileSync(kubeconfigFile, 'utf8')) as any;
    expect(kc['current-context']).toBe('braid');
    expect(kc.clusters[0].cluster.server).toBe('https://127.0.0.1:6443');
    expect(Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString()).toContain('ZmFrZQ==');
    expect(kc.users[0].user).toEqual({ tokenFile: '/etc/cni/net.d/braid.d/token' });
    expect(fs.readFileSync(path.join(h.confDir, 'braid.d/token'), 'utf8')).toBe('token-one');
    expect(mode(path.join(h.confDir, 'braid.d/token'))).toBe(0o600);
    expect(mode(kubeconfigFile)).toBe(0o600);
    expect(mode(path.join(h.confDir, 'braid.d'))).toBe(0o700);
    await logged(inst, '01-broken.conf');
    await logged(inst, "a multus config cannot be braid's cluster network");
    expect(inst.stderr()).not.toContain('token-one');
    await inst.stop();
  });

  it('waits for a master, regenerates when it changes or an earlier one appears, and removes the config when none is left', async () => {
    const h = fakeHost(sandbox());
    const inst = startInstaller(h);
    await eventually('the wait', () => inst.stderr().includes(`waiting for a master conf`), inst);
    expect(fs.existsSync(own(h))).toBe(false);
    expect(fs.existsSync(h.readiness)).toBe(false);

    const master = path.join(h.confDir, '10-calico.conflist');
    write(master, { ...CALICO, plugins: [{ type: 'calico' }] });
    await eventually('the config', () => readJson(own(h))?.plugins[0].clusterNetwork === '/etc/cni/net.d/10-calico.conflist', inst);
    expect(readJson(own(h)).plugins[0].capabilities).toEqual({ 'io.kubernetes.cri.pod-annotations': true });
    await eventually('readiness', () => fs.existsSync(h.readiness), inst);

    write(master, ''); // caught mid-rewrite: the config stays as it is
    await logged(inst, `master ${master} does not parse (being rewritten?): keeping the current config`);
    expect(readJson(own(h)).plugins[0].clusterNetwork).toBe('/etc/cni/net.d/10-calico.conflist');
    expect(fs.existsSync(h.readiness)).toBe(true);
    write(master, CALICO);
    await eventually('regeneration', () => readJson(own(h))?.plugins[0].capabilities.bandwidth === true, inst);
    await logged(inst, `regenerated ${own(h)} from master ${master}`);

    write(path.join(h.confDir, '05-cilium.conflist'), { cniVersion: '1.0.0', name: 'cilium', plugins: [{ type: 'cilium-cni' }] });
    await eventually('the earlier master', () => readJson(own(h))?.plugins[0].clusterNetwork === '/etc/cni/net.d/05-cilium.conflist', inst);
    expect(readJson(own(h)).cniVersion).toBe('1.0.0');

    fs.rmSync(path.join(h.confDir, '05-cilium.conflist'));
    fs.rmSync(master);
    await eventually('removal', () => !fs.existsSync(own(h)), inst);
    expect(fs.existsSync(h.readiness)).toBe(false);
    await logged(inst, `removed ${own(h)}: waiting for a master conf`);
    expect(fs.readdirSync(h.confDir)).toEqual([]);
    await inst.stop();
  });

  it('rewrites the token file (0600) when the projected service-account token rotates, and the kubeconfig when the CA does', async () => {
    const h = fakeHost(sandbox());
    write(path.join(h.confDir, '10-calico.conflist'), CALICO);
    projectToken(h, 'token-one', 1);
    const inst = startInstaller(h, [], IN_CLUSTER);
    const token = path.join(h.confDir, 'braid.d/token');
    await eventually('the token', () => fs.existsSync(h.readiness), inst);
    expect(fs.readFileSync(token, 'utf8')).toBe('token-one');
    const kubeconfig = fs.readFileSync(path.join(h.confDir, 'braid.d/braid.kubeconfig'), 'utf8');

    projectToken(h, 'token-two', 2);
    await eventually('the rotated token', () => fs.readFileSync(token, 'utf8') === 'token-two', inst);
    expect(mode(token)).toBe(0o600);
    expect(fs.readFileSync(path.join(h.confDir, 'braid.d/braid.kubeconfig'), 'utf8')).toBe(kubeconfig);
    await logged(inst, 'service-account token rotated');
    expect(inst.stderr()).not.toMatch(/token-(one|two)/);

    projectToken(h, 'token-two', 3, 'bmV3Y2E='); // the cluster's CA rotates: the kubeconfig follows
    const kubeconfigFile = path.join(h.confDir, 'braid.d/braid.kubeconfig');
    await eventually('the new CA', () => fs.readFileSync(kubeconfigFile, 'utf8') !== kubeconfig, inst);
    const ca = (yaml.load(fs.readFileSync(kubeconfigFile, 'utf8')) as any).clusters[0].cluster['certificate-authority-data'];
    expect(Buffer.from(ca, 'base64').toString()).toContain('bmV3Y2E=');
    expect(mode(kubeconfigFile)).toBe(0o600);
    await inst.stop();
  });

  it('outside a cluster writes no kubeconfig, leaves the key out, and says so', async () => {
    const h = fakeHost(sandbox());
    write(path.join(h.confDir, '10-calico.conflist'), CALICO);
    const inst = startInstaller(h);
    await eventually('readiness', () => fs.existsSync(h.readiness), inst);
    expect(readJson(own(h)).plugins[0]).not.toHaveProperty('kubeconfig');
    expect(fs.existsSync(path.join(h.confDir, 'braid.d'))).toBe(false);
    await logged(inst, 'clusterless host (KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set)');
    await inst.stop();
  });

  it('merges flags and the options file into the config, and refuses an options file that breaks it', async () => {
    const h = fakeHost(sandbox());
    write(path.join(h.confDir, '10-calico.conflist'), CALICO);
    const options = path.join(h.hostRoot, '..', 'options.yaml');
    write(options, 'logLevel: verbose\nnadDir: /etc/braid/nads\n');
    const inst = startInstaller(h, ['--options-file', options, '--namespace-isolation', '--default-networks', 'a,b', '--override-network-name'], {});
    await eventually('readiness', () => fs.existsSync(h.readiness), inst);
    const conf = readJson(own(h));
    expect(conf.name).toBe('k8s-pod-network');
    expect(conf.plugins[0]).toMatchObject({ logLevel: 'verbose', nadDir: '/etc/braid/nads', namespaceIsolation: true, defaultNetworks: ['a', 'b'] });

    fs.rmSync(options); // an optional ConfigMap that is gone: no options, still ready
    await eventually('the options dropped', () => readJson(own(h))?.plugins[0].logLevel === undefined, inst);
    await logged(inst, `options file ${options} does not exist: no options`);
    expect(fs.existsSync(h.readiness)).toBe(true);

    write(options, 'logLevel: verbose\n');
    await eventually('the options back', () => readJson(own(h))?.plugins[0].logLevel === 'verbose', inst);
    write(options, 'delegateTimeout: "soon"\n');
    await eventually('not ready', () => !fs.existsSync(h.readiness), inst);
    await logged(inst, 'delegateTimeout');
    expect(readJson(own(h)).plugins[0].logLevel).toBe('verbose'); // the last good config stays
    await inst.stop();
  });
});

describe('braid install: lifecycle', () => {
  it('on SIGTERM with --cleanup-config-on-exit removes the config and kubeconfig, keeps the binary, and exits 0', async () => {
    const h = fakeHost(sandbox());
    write(path.join(h.confDir, '10-calico.conflist'), CALICO);
    projectToken(h, 'token-one', 1);
    const inst = startInstaller(h, ['--cleanup-config-on-exit'], IN_CLUSTER);
    await eventually('readiness', () => fs.existsSync(h.readiness), inst);
    expect(await inst.stop()).toBe(0);
    expect(fs.readdirSync(h.confDir)).toEqual(['10-calico.conflist']);
    expect(fs.existsSync(h.readiness)).toBe(false);
    expect(fs.existsSync(path.join(h.binDir, 'braid'))).toBe(true);
    expect(inst.stderr()).toContain(`cleanup: removed ${own(h)}`);
  });

  it('on SIGTERM without --cleanup-config-on-exit leaves the config in place and withdraws readiness', async () => {
    const h = fakeHost(sandbox());
    write(path.join(h.confDir, '10-calico.conflist'), CALICO);
    const inst = startInstaller(h);
    await eventually('readiness', () => fs.existsSync(h.readiness), inst);
    expect(await inst.stop()).toBe(0);
    expect(fs.existsSync(own(h))).toBe(true);
    expect(fs.existsSync(h.readiness)).toBe(false);
  });

  it('--skip-config-watch waits for a master, installs once, then only waits for SIGTERM', async () => {
    const h = fakeHost(sandbox());
    const inst = startInstaller(h, ['--skip-config-watch']);
    await logged(inst, 'waiting for a master conf');
    write(path.join(h.confDir, '10-calico.conflist'), CALICO);
    await logged(inst, 'installed: not watching for changes (--skip-config-watch)');
    expect(readJson(own(h)).plugins[0].clusterNetwork).toBe('/etc/cni/net.d/10-calico.conflist');
    write(path.join(h.confDir, '05-cilium.conflist'), { cniVersion: '1.0.0', name: 'cilium', plugins: [{ type: 'cilium-cni' }] });
    await new Promise((r) => setTimeout(r, 500)); // five poll intervals: nothing may change
    expect(readJson(own(h)).plugins[0].clusterNetwork).toBe('/etc/cni/net.d/10-calico.conflist');
    expect(inst.child.exitCode).toBeNull();
    expect(await inst.stop()).toBe(0);
  });

  it('--config-file installs the given config under its own name once braid\'s parser accepts it', async () => {
    const h = fakeHost(sandbox());
    const given = path.join(h.hostRoot, '..', '05-braid.conf');
    write(given, { cniVersion: '1.0.0', name: 'given', type: 'braid', delegates: [{ cniVersion: '1.0.0', name: 'p', type: 'ptp' }] });
    const inst = startInstaller(h, ['--config-file', given]);
    await eventually('readiness', () => fs.existsSync(h.readiness), inst);
    expect(fs.readFileSync(path.join(h.confDir, '05-braid.conf'), 'utf8')).toBe(fs.readFileSync(given, 'utf8'));
    write(given, { cniVersion: '1.0.0', name: 'given', type: 'braid' }); // no cluster network: refused, the installed one stays
    await eventually('not ready', () => !fs.existsSync(h.readiness), inst);
    await logged(inst, `--config-file ${given}: invalid braid config: at least one delegate/clusterNetwork must be specified`);
    expect(readJson(path.join(h.confDir, '05-braid.conf')).delegates).toHaveLength(1);
    await inst.stop();
  });

  it('--check-readiness answers from the readiness file, and --help documents every flag', () => {
    const h = fakeHost(sandbox());
    const check = () => spawnSync(BRAID, ['install', '--check-readiness', '--readiness-file', h.readiness]).status;
    expect(check()).toBe(1);
    fs.mkdirSync(path.dirname(h.readiness), { recursive: true });
    fs.writeFileSync(h.readiness, '');
    expect(check()).toBe(0);
    const help = spawnSync(BRAID, ['install', '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    for (const flag of ['--cni-bin-dir', '--cni-conf-dir', '--cleanup-config-on-exit', '--config-file', '--host-root', '--kubeconfig-file-host', '--options-file', '--service-account-dir', '--readiness-file']) {
      expect(help.stdout).toContain(flag);
    }
    const bad = spawnSync(BRAID, ['install', '--no-such-flag'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('unknown flag "--no-such-flag"');
  });
});
