import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { FIXTURE_PLUGINS, REFERENCE_PLUGINS, runBraid, runBraidTool } from '../helpers/braid';
import { failed } from '../helpers/cni';
import { sandbox, type Sandbox } from '../helpers/host';
import { EXAMPLES, runnableExample } from '../helpers/examples';
import { NETWORKS, POD_ANNOTATIONS } from '../helpers/k8s';

// `braid validate` on every example and on broken copies of them: the JSON pointer and message of each
// problem, its exit status, and that ADD refuses what validate refuses, with the same message.

const examples = fs.readdirSync(EXAMPLES).filter((f) => /\.(conf|conflist|json|ya?ml)$/.test(f)).sort();
const NETWORKS_POINTER = '/metadata/annotations/k8s.v1.cni.cncf.io~1networks';

/** A bin dir holding a VERSION-answering stand-in for every plugin the examples name that Debian does not ship. */
function fakeBinDir(sb: Sandbox): string {
  const dir = path.join(sb.dir, 'bin');
  fs.mkdirSync(dir);
  for (const type of ['calico', 'cilium-cni', 'sriov']) {
    fs.writeFileSync(path.join(dir, type), '#!/bin/sh\necho \'{"cniVersion":"1.0.0","supportedVersions":["0.3.1","0.4.0","1.0.0"]}\'\n', { mode: 0o755 });
  }
  return dir;
}

function example(file: string): string {
  return fs.readFileSync(path.join(EXAMPLES, file), 'utf8');
}

/** validate --output json on `files` with the reference plugins (and `extra` flags); the parsed report. */
function validate(files: string[], ...extra: string[]): { status: number; report: any; stderr: string } {
  const r = runBraidTool(['validate', '--bin-dir', REFERENCE_PLUGINS, ...extra, '-o', 'json', ...files]);
  return { status: r.status, report: r.json, stderr: r.stderr };
}

/** A NAD manifest (YAML) whose spec.config is `config`. */
function nadYaml(name: string, config: unknown): string {
  return yaml.dump({ apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name }, spec: { config: typeof config === 'string' ? config : JSON.stringify(config) } });
}

describe('braid validate', () => {
  it('accepts every file in conf-examples/ with no errors and no warnings, delegates and named networks checked (exit 0)', () => {
    const sb = sandbox();
    // braid configs name node paths (/etc/cni/...): their copies name the examples instead
    const files = examples.map((f) => (f.startsWith('00-braid') ? runnableExample(f, sb.dir) : path.join(EXAMPLES, f)));
    const { status, report } = validate(files, '--bin-dir', fakeBinDir(sb));
    expect(report, 'stdout is the JSON report').toBeTypeOf('object');
    expect(report.errors).toEqual([]);
    expect(report.warnings).toEqual([]);
    expect(report.valid).toBe(true);
    expect(status).toBe(0);
  });

  it('the text report says valid and counts the files', () => {
    const r = runBraidTool(['validate', '--no-plugin-check', ...examples.map((f) => path.join(EXAMPLES, f))]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`valid: ${examples.length} file(s), 0 error(s), 0 warning(s)`);
  });

  it('points at every bad key of a broken braid conflist, and lists unknown keys and bad log settings as warnings (exit 1)', () => {
    const sb = sandbox();
    const doc = JSON.parse(example('00-braid.conflist'));
    Object.assign(doc.plugins[0], { logLevel: 'loud', delegateTimeout: 'soon', logLevl: 'debug' });
    const { status, report } = validate([sb.write('00-braid.conflist', doc)]);
    expect(status).toBe(1);
    expect(report.valid).toBe(false);
    const byPointer = Object.fromEntries(report.errors.map((e: any) => [e.pointer, e.message]));
    expect(byPointer['/plugins/0/delegateTimeout']).toMatch(/must be number/);
    expect(report.errors.every((e: any) => e.file.endsWith('00-braid.conflist') && e.code === 7)).toBe(true);
    expect(byPointer['/plugins/0/logLevel']).toBeUndefined(); // log settings never fail: a warning when the rest parses
    expect(report.warnings).toEqual([expect.objectContaining({ pointer: '/plugins/0/logLevl', message: 'unknown key "logLevl" is ignored' })]);
  });

  it('lists a log setting ADD would replace by its default as a warning pointing at it (exit 0)', () => {
    const sb = sandbox();
    const doc = JSON.parse(example('00-braid.conflist'));
    Object.assign(doc.plugins[0], { logLevel: 'loud', logOptions: { rotate: true } });
    const { status, report } = validate([sb.write('00-braid.conflist', doc)], '--no-plugin-check'); // the example names node paths
    expect(status).toBe(0);
    expect(report.warnings).toEqual([
      expect.objectContaining({ pointer: '/plugins/0/logOptions/rotate', message: 'logOptions: ignoring unknown key "rotate"' }),
      expect.objectContaining({ pointer: '/plugins/0/logLevel', message: expect.stringContaining('logLevel "loud" is not a level') }),
    ]);
  });

  it('points into inline delegates and plugin lists, and reports an unsupported cniVersion with code 1', () => {
    const sb = sandbox();
    const inline = JSON.parse(example('00-braid-inline.conf'));
    delete inline.delegates[1].name;
    const calico = JSON.parse(example('10-calico.conflist'));
    calico.plugins[1].type = '../portmap';
    const storage = { ...JSON.parse(example('storage.conf')), cniVersion: '2.0.0' };
    const { status, report } = validate([sb.write('inline.conf', inline), sb.write('calico.conflist', calico), sb.write('storage.conf', storage)]);
    expect(status).toBe(1);
    const find = (file: string) => report.errors.filter((e: any) => e.file.endsWith(file));
    expect(find('inline.conf')).toEqual([expect.objectContaining({ pointer: '/delegates/1/name', message: expect.stringMatching(/name "" is missing or invalid/) })]);
    expect(find('calico.conflist')).toEqual([expect.objectContaining({ pointer: '/plugins/1/type', message: expect.stringMatching(/"\.\.\/portmap": must be a plain file name/) })]);
    expect(find('storage.conf')).toEqual([expect.objectContaining({ pointer: '/cniVersion', code: 1 })]);
  });

  it('a conflist that is not JSON is one error at the root naming the decode failure', () => {
    const sb = sandbox();
    const { status, report } = validate([sb.write('bad.conflist', example('05-cilium.conflist').replace('"plugins"', 'plugins'))]);
    expect(status).toBe(1);
    expect(report.errors).toEqual([expect.objectContaining({ pointer: '', code: 6, message: expect.stringMatching(/^invalid JSON/) })]);
  });

  it('checks NAD delegates on this machine: a missing plugin, a cniVersion the plugin does not speak, bad spec.config JSON', () => {
    const sb = sandbox();
    const base = (yaml.load(example('nad-macvlan.yaml')) as any);
    const config = JSON.parse(base.spec.config);
    const file = sb.write('nads.yaml', [
      nadYaml('ok', config),
      nadYaml('typo', { ...config, type: 'macvlann' }),
      nadYaml('newer', { ...config, cniVersion: '1.1.0' }),
      nadYaml('broken', '{"type": "macvlan",'),
    ].join('---\n'));
    const { status, report } = validate([file]);
    expect(status).toBe(1);
    expect(report.errors).toEqual([
      expect.objectContaining({ document: 2, pointer: '/spec/config/type', message: expect.stringContaining(`failed to find plugin "macvlann" in path [${REFERENCE_PLUGINS}]`) }),
      expect.objectContaining({ document: 3, pointer: '/spec/config/cniVersion', code: 1, message: expect.stringMatching(/plugin "macvlan" \(.*\) does not support cniVersion 1\.1\.0; it supports .*1\.0\.0/) }),
      expect.objectContaining({ document: 4, pointer: '/spec/config', message: expect.stringContaining('spec.config is not valid JSON') }),
    ]);
  });

  it('on this machine, a braid config\'s networks must resolve and their delegates be found; an API-only NAD is a warning', () => {
    const sb = sandbox();
    fs.writeFileSync(path.join(sb.confDir, 'storage.conf'), example('storage.conf'));
    fs.writeFileSync(path.join(sb.confDir, 'calico.conflist'), example('10-calico.conflist'));
    const braid = {
      cniVersion: '1.0.0', name: 'braid', type: 'braid', confDir: sb.confDir, binDir: REFERENCE_PLUGINS, kubeconfig: '/nonexistent/kubeconfig',
      clusterNetwork: path.join(sb.confDir, 'calico.conflist'), defaultNetworks: ['storage', '/nowhere/x.conf', 'some-nad'],
    };
    const { status, report } = validate([sb.write('braid.conf', braid)]);
    expect(status).toBe(1);
    expect(report.errors).toEqual([
      expect.objectContaining({ pointer: '/clusterNetwork', message: expect.stringContaining('network ' + JSON.stringify(path.join(sb.confDir, 'calico.conflist')) + ': failed to find plugin "calico"') }),
      expect.objectContaining({ pointer: '/defaultNetworks/1', message: 'network /nowhere/x.conf: no such file or directory' }),
    ]);
    expect(report.warnings).toEqual([expect.objectContaining({ pointer: '/defaultNetworks/2', message: expect.stringContaining('only the API knows') })]);
  });

  it('a kind: List is checked item by item, its pointers starting at /items/N', () => {
    const sb = sandbox();
    const item = (name: string, type: string) => yaml.load(nadYaml(name, { cniVersion: '1.0.0', type }));
    const file = sb.write('list.json', { apiVersion: 'v1', kind: 'List', items: [item('a', 'macvlan'), item('b', 'bad/type')] });
    const { status, report } = validate([file]);
    expect(status).toBe(1);
    expect(report.errors).toEqual([expect.objectContaining({ document: 1, pointer: '/items/1/spec/config/type', message: expect.stringContaining('must be a plain file name') })]);
  });

  it('--no-plugin-check skips the delegate checks but keeps the parser\'s', () => {
    const sb = sandbox();
    const file = sb.write('nad.yaml', `${nadYaml('typo', { cniVersion: '1.0.0', type: 'macvlann' })}---\n${nadYaml('bad', { cniVersion: '1.0.0', type: 'a/b' })}`);
    const { status, report } = validate([file], '--no-plugin-check');
    expect(status).toBe(1);
    expect(report.errors).toEqual([expect.objectContaining({ document: 2, pointer: '/spec/config/type', message: expect.stringContaining('must be a plain file name') })]);
  });

  it('points into the networks annotation of pods and workload templates, and warns about interfaceRequest', () => {
    const sb = sandbox();
    const pod = yaml.load(example('pod-default-route.yaml')) as any;
    pod.metadata.annotations[NETWORKS] = JSON.stringify([{ name: 'macvlan-gw' }, { name: 'macvlan-gw', interface: 'net2', 'default-route': ['10.250.188.x'] }]);
    const deployment = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
      spec: { template: { metadata: { annotations: { [NETWORKS]: '[{"name": "macvlan-gw", "interfaceRequest": "data", "ipz": []}]' } } } },
    };
    const { status, report } = validate([sb.write('pod.yaml', yaml.dump(pod)), sb.write('deploy.json', deployment)]);
    expect(status).toBe(1);
    expect(report.errors).toEqual([expect.objectContaining({
      pointer: `${NETWORKS_POINTER}/1/default-route`, code: 7, message: expect.stringContaining('"default-route" gateway "10.250.188.x" is not an IP address'),
    })]);
    expect(report.warnings).toEqual([
      expect.objectContaining({ file: expect.stringMatching(/deploy\.json$/), pointer: `/spec/template${NETWORKS_POINTER}/0/interfaceRequest`, message: expect.stringContaining('deprecated') }),
      expect.objectContaining({ pointer: `/spec/template${NETWORKS_POINTER}/0/ipz`, message: 'unknown key "ipz" is ignored' }),
    ]);
  });

  it('--config: an empty spec.config is the config\'s confDir conf, and a NAD without cniVersion gets the config\'s (checked against the plugin)', () => {
    const sb = sandbox();
    fs.writeFileSync(path.join(sb.confDir, 'storage.conf'), example('storage.conf'));
    const config = sb.write('00-braid.conf', { cniVersion: '1.1.0', name: 'braid', type: 'braid', confDir: sb.confDir, binDir: REFERENCE_PLUGINS, clusterNetwork: 'storage' });
    const file = sb.write('nads.yaml', `${nadYaml('storage', '')}---\n${nadYaml('bare', { type: 'macvlan', master: 'eth1' })}`);
    const withConfig = validate([file], '--config', config);
    expect(withConfig.report.errors).toEqual([
      expect.objectContaining({ document: 2, pointer: '/spec/config/cniVersion', message: expect.stringContaining('does not support cniVersion 1.1.0') }),
    ]);
    const without = validate([file], '--no-plugin-check');
    expect(without.report.errors).toEqual([expect.objectContaining({ document: 1, pointer: '/spec/config', message: expect.stringContaining('spec.config is empty and /etc/cni/multus/net.d has no conf named "storage"') })]);
    expect(without.report.warnings).toEqual([expect.objectContaining({ document: 2, pointer: '/spec/config/cniVersion', message: expect.stringContaining('no cniVersion') })]);
  });

  it('usage errors exit 2: no file, an unknown flag, a bad --output', () => {
    for (const args of [['validate'], ['validate', '--frob', 'x.conf'], ['validate', '-o', 'yaml', 'x.conf']]) {
      const r = runBraidTool(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('Usage: braid validate');
    }
  });

  it('--help describes the subcommand and exits 0; braid --help lists it', () => {
    const r = runBraidTool(['validate', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--no-plugin-check');
    expect(runBraidTool(['--help']).stdout).toMatch(/\n {2}validate +check configs/);
  });

  it('what validate refuses, ADD refuses with the same message', () => {
    const sb = sandbox();
    const nadDir = path.join(sb.dir, 'nads');
    fs.mkdirSync(nadDir);
    const nadFile = path.join(nadDir, 'typo.yaml');
    fs.writeFileSync(nadFile, nadYaml('typo', { cniVersion: '1.0.0', type: 'macvlan', mode: 'bridge', ipam: { type: 'host-local', ranges: 'x' }, capabilities: { mac: 'yes' }, name: 'Bad Name' }));
    const { report } = validate([nadFile], '--no-plugin-check');
    expect(report.errors).toEqual([expect.objectContaining({ pointer: '/spec/config/name' })]);
    const add = runBraid({
      command: 'ADD', containerID: `val-${sb.id}`, netns: '/var/run/netns/none', ifname: 'eth0', args: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=p',
      path: `${REFERENCE_PLUGINS}:${FIXTURE_PLUGINS}`,
      config: {
        cniVersion: '1.0.0', name: 'braid', type: 'braid', cniDir: sb.cniDir, nadDir, capabilities: { [POD_ANNOTATIONS]: true },
        delegates: [{ cniVersion: '1.0.0', name: 'c', type: 'fake' }], runtimeConfig: { [POD_ANNOTATIONS]: { [NETWORKS]: 'typo' } },
      },
    });
    expect(failed(add, 7)).toContain(report.errors[0].message);
  });
});
