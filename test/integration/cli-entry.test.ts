import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBraid, runBraidTool } from '../helpers/braid';

const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as { version: string };

describe('braid as a command for people', () => {
  it('--version prints the package version and every supported CNI version on stdout', () => {
    const r = runBraidTool(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`braid ${pkg.version}`);
    expect(r.stdout).toMatch(/CNI versions: 0\.1\.0, .*1\.0\.0, 1\.1\.0/);
  });

  it('--help lists the CNI environment variables and exits 0', () => {
    const r = runBraidTool(['--help']);
    expect(r.status).toBe(0);
    for (const v of ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS', 'CNI_PATH']) expect(r.stdout).toContain(v);
    expect(r.stdout).toMatch(/Subcommands/);
  });

  it('--help lists every subcommand, and each one answers its own --help with exit 0', () => {
    const help = runBraidTool(['--help']).stdout;
    for (const sub of ['validate', 'plan', 'inspect', 'install', 'agent']) {
      expect(help).toMatch(new RegExp(`^  ${sub} +\\S`, 'm'));
      const own = runBraidTool([sub, '--help']);
      expect(own.status, `${sub} --help`).toBe(0);
      expect(own.stdout, `${sub} --help`).toContain(`braid ${sub}`);
    }
  });

  it('no CNI_COMMAND and no arguments prints the help and exits 1 instead of CNI error JSON', () => {
    const r = runBraidTool([]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('CNI_COMMAND');
    expect(r.stderr).toContain('Usage:');
  });

  it('an unknown subcommand is a usage error (exit 2) naming it', () => {
    const r = runBraidTool(['frobnicate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown subcommand "frobnicate"');
  });

  it('a runtime-style call (CNI_* set) without CNI_COMMAND still gets code 4 JSON naming CNI_COMMAND', () => {
    const r = runBraidTool([], { CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' }, '{"cniVersion":"1.1.0"}');
    expect(r.status).not.toBe(0);
    expect(r.json).toMatchObject({ code: 4 });
    expect(r.json.msg).toContain('CNI_COMMAND');
  });

  it('CNI mode still answers an unknown CNI_COMMAND with code 4 JSON', () => {
    const r = runBraid({ command: 'FROB' });
    expect(r.status).not.toBe(0);
    expect(r.json).toMatchObject({ code: 4 });
  });
});
