import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ApiServer } from '../helpers/apiserver.mjs';
import { runBraidAsync } from '../helpers/braid';
import { fakeCalls, ok } from '../helpers/cni';
import { hostLocalLeases, linksIn, v4SubnetAllocator } from '../helpers/host';
import { NETWORKS, useApiServer } from '../helpers/k8s';
import { logWorld, entries, jsonRecords, lines } from '../helpers/log-world';

// braid's log at debug, as JSON, without secrets, and GC's lines: the real executable, exec'd as a runtime does, in real netns with the reference plugins,
// talking HTTPS (with a bearer token) to the test kube-apiserver.
// Address range of this file: 10.250.245.0/24 … 10.250.249.0/24.

let api: ApiServer;
useApiServer((s) => { api = s; });

const nextSubnet = v4SubnetAllocator(245, 5);
const world = (annotations: Record<string, string> = {}) => logWorld(api, nextSubnet, annotations);

describe('debug', () => {
  it('shows the exact stdin of every delegate, with tokens and secrets redacted', async () => {
    const w = world({ [NETWORKS]: 'mv-secret' });
    const secrets = { token: api.token, auth: api.token, header: `Bearer ${api.token}`, kubeconfigData: { 'client-key-data': 'S0VZ', token: api.token } };
    api.addNad('team-logs', 'mv-secret', w.macvlan('mv-secret', { password: api.token }, [{ type: 'fake', ...secrets, keep: 'visible' }]));
    const conf = w.conf({ logLevel: 'debug' });
    const added = await w.run('ADD', conf);
    ok(added);
    expect(added.stderr).not.toContain(api.token);
    const stdins = entries(added.stderr, 'delegate stdin');
    expect(stdins.map((e) => [e.command, e.plugin, e.network, e.ifname])).toEqual([
      ['ADD', 'bridge', 'podnet', 'eth0'], ['ADD', 'macvlan', 'mv-secret', 'net1'], ['ADD', 'fake', 'mv-secret', 'net1'],
    ]);
    // what the chained plugin really got, and what the log shows of it
    const [received] = fakeCalls(w.sb.fakeLog);
    const logged = stdins[2].stdin;
    expect(received.config.token).toBe(api.token);
    expect(logged).toEqual({
      ...received.config,
      token: '[redacted]',
      auth: '[redacted]',
      header: 'Bearer [redacted]',
      kubeconfigData: { 'client-key-data': '[redacted]', token: '[redacted]' },
    });
    expect(logged.keep).toBe('visible');
    expect(stdins[1].stdin.password).toBe('[redacted]');
    ok(await w.run('DEL', conf));
  });
});


describe('logFormat json', () => {
  it('writes one JSON object per line (time, level, container, pod, command, msg, fields) to stderr and logFile', async () => {
    const w = world({ [NETWORKS]: 'mv-json' });
    api.addNad('team-logs', 'mv-json', w.macvlan('mv-json'));
    const logFile = path.join(w.sb.dir, 'logs', 'braid.log');
    const conf = w.conf({ logLevel: 'debug', logFormat: 'json', logFile });
    const added = await w.run('ADD', conf);
    ok(added);
    const deleted = await w.run('DEL', conf);
    ok(deleted);
    const records = [...jsonRecords(added.stderr), ...jsonRecords(deleted.stderr)];
    for (const rec of records) {
      expect(rec.container).toBe(w.containerID);
      expect(rec.pod).toBe(w.pod);
    }
    expect(new Set(records.map((r) => r.command))).toEqual(new Set(['ADD', 'DEL']));
    // the file holds the same records
    expect(jsonRecords(fs.readFileSync(logFile, 'utf8')).map((r) => r.msg)).toEqual(records.map((r) => r.msg));

    const chosen = records.filter((r) => r.msg === 'network chosen').map((r) => r.fields);
    expect(chosen).toEqual([
      { network: 'podnet', ifname: 'eth0', from: 'inline', by: 'delegates[0]', plugins: 'bridge' },
      { network: 'team-logs/mv-json', ifname: 'net1', from: 'NAD from the API', by: `pod annotation ${NETWORKS}`, plugins: 'macvlan' },
    ]);
    const calls = records.filter((r) => r.msg === 'delegate call');
    expect(calls.map((r) => [r.command, r.fields.plugin, r.fields.exitCode])).toEqual([
      ['ADD', 'bridge', 0], ['ADD', 'macvlan', 0], ['DEL', 'macvlan', 0], ['DEL', 'bridge', 0],
    ]);
    for (const c of calls) expect(c.fields.durationMs).toBeTypeOf('number');
    const stdin = records.find((r) => r.msg === 'delegate stdin' && r.fields.plugin === 'macvlan')!;
    expect(stdin.level).toBe('debug');
    expect(stdin.fields.stdin).toMatchObject({ cniVersion: '1.0.0', name: 'mv-json', type: 'macvlan', mode: 'bridge' });
    const trip = records.find((r) => r.msg === 'API round trip' && r.fields.method === 'PATCH')!;
    expect(trip.fields).toMatchObject({ status: 200, path: `/api/v1/namespaces/${w.pod.replace('/', '/pods/')}/status` });
    expect(trip.fields.durationMs).toBeTypeOf('number');
  });

  it('wraps a delegate\'s stderr in a record, so stderr still parses line by line', async () => {
    const w = world();
    const conf = w.conf({ logFormat: 'JSON' });
    (conf.delegates as unknown[]).push({ cniVersion: '1.0.0', name: 'crashnet', type: 'crash' });
    const added = await w.run('ADD', conf);
    expect(added.status).not.toBe(0);
    const records = jsonRecords(added.stderr);
    const passed = records.find((r) => r.msg === 'plugin stderr')!;
    expect(passed.level).toBe('error');
    expect(passed.fields).toMatchObject({ command: 'ADD', plugin: 'crash', network: 'crashnet', ifname: 'net1' });
    expect(passed.fields.stderr).toContain('kaboom, the plugin fell over');
    expect(records.at(-1)).toMatchObject({ level: 'error', command: 'ADD', container: w.containerID, pod: w.pod });
    expect(linksIn(path.basename(w.netns))).toEqual([]);
  });

  it('a bad log setting is reported as a record even at panic, so stderr still parses', async () => {
    const w = world();
    const conf = w.conf({ logFormat: 'json', logLevel: 'panic', logOptions: { maxAge: -1 } });
    const added = await w.run('ADD', conf);
    ok(added);
    const records = jsonRecords(added.stderr);
    expect(records).toEqual([expect.objectContaining({ level: 'warning', container: w.containerID, pod: w.pod, msg: expect.stringContaining('logOptions.maxAge') })]);
    ok(await w.run('DEL', conf));
  });

  it('an unknown logFormat warns and falls back to text; it never fails the command', async () => {
    const w = world();
    const conf = w.conf({ logFormat: 'xml' });
    const added = await w.run('ADD', conf);
    ok(added);
    expect(lines(added.stderr)).toEqual([expect.stringContaining(`[warning] ADD container=${w.containerID} pod=${w.pod}: unknown logFormat "xml": using text`)]);
    ok(await w.run('DEL', conf));
  });
});

describe('secrets', () => {
  it('the API token never appears in any log output, at any level, in either format, on stderr or in logFile', async () => {
    const w = world({ [NETWORKS]: 'mv-token' });
    const tokenBearing = {
      type: 'fake',
      token: api.token,
      header: `Bearer ${api.token}`,
      httpLine: `Authorization: Bearer ${api.token}`,
      note: `K8S_TOKEN=${api.token}`,
      kubeconfig: { users: [{ user: { token: api.token, 'client-key-data': Buffer.from(api.token).toString('base64') } }] },
      yaml: `users:\n- user:\n    token: ${api.token}\n`,
    };
    api.addNad('team-logs', 'mv-token', w.macvlan('mv-token', { password: api.token }, [tokenBearing]));
    const logFile = path.join(w.sb.dir, 'braid.log');
    let everything = '';
    for (const logFormat of ['text', 'json']) {
      for (const logLevel of ['', 'panic', 'error', 'warning', 'verbose', 'debug']) {
        const conf = w.conf({ logLevel, logFormat, logFile, someUnknownKey: true });
        const added = await w.run('ADD', conf);
        ok(added);
        const deleted = await w.run('DEL', conf);
        ok(deleted);
        everything += added.stdout + added.stderr + deleted.stdout + deleted.stderr;
      }
    }
    everything += fs.readFileSync(logFile, 'utf8');
    // the secrets were logged (redacted) at debug, and everything else too
    expect(everything).toContain('[redacted]');
    expect(everything).toContain('"plugin":"fake"');
    expect(everything).toContain('Bearer [redacted]');
    expect(everything).not.toContain(api.token);
    expect(everything).not.toContain(Buffer.from(api.token).toString('base64'));
    expect(fakeCalls(w.sb.fakeLog).filter((c) => c.command === 'ADD').every((c) => c.config.token === api.token)).toBe(true);
  });
});

describe('GC', () => {
  it('lines about a stale container it deletes carry that container and its pod', async () => {
    const w = world();
    const conf = w.conf({ cniVersion: '1.1.0' });
    ok(await w.run('ADD', conf));
    const gc = await runBraidAsync({ command: 'GC', config: { ...conf, logLevel: 'verbose', 'cni.dev/valid-attachments': [] } });
    ok(gc);
    const about = lines(gc.stderr).filter((l) => l.includes(w.containerID));
    expect(about.map((l) => l.replace(/^\S+ /, ''))).toEqual([
      `[verbose] GC container=${w.containerID} pod=${w.pod}: GC: container ${w.containerID} is stale; deleting its attachments`,
      expect.stringMatching(`^\\[verbose\\] GC container=${w.containerID} pod=${w.pod}: delegate call command=DEL plugin=bridge network=podnet ifname=eth0 exitCode=0 durationMs=`),
      `[verbose] GC container=${w.containerID} pod=${w.pod}: Del: podnet:eth0 ok`,
    ]);
    expect(hostLocalLeases(w.sb.ipamDir)).toEqual([]);
    expect(w.sb.cacheFiles()).toEqual([]);
  });
});

