import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBraid } from '../helpers/braid';
import { ok } from '../helpers/cni';
import { sandbox } from '../helpers/host';

// Every exec of braid pays for the node built-ins it loads. VERSION and a plain (clusterless) ADD and DEL
// must load none of what only the API, the agent, the kubelet or an off log line needs. Lists what
// node loaded through test/fixtures/builtin-modules-probe.cjs.

const PROBE = path.resolve(__dirname, '../fixtures/builtin-modules-probe.cjs');
/** Built-ins a plain ADD or DEL has no use for: TLS/HTTP (the API), compression, perf_hooks (timings), tty. */
const NOT_ON_THE_PLAIN_PATH = ['tls', '_tls_wrap', 'https', 'http', 'http2', 'zlib', 'crypto', 'perf_hooks', 'tty', 'worker_threads'];

function builtinsOf(stderr: string): string[] {
  const line = /^BUILTINS (.*)$/m.exec(stderr);
  expect(line, stderr).not.toBeNull();
  return JSON.parse(line![1]);
}

describe('what an exec of braid loads', () => {
  it('VERSION loads no child_process and nothing of the plain path\'s exclusions', () => {
    const r = runBraid({ command: 'VERSION', env: { NODE_OPTIONS: `--require=${PROBE}` } });
    expect(r.status).toBe(0);
    const loaded = builtinsOf(r.stderr);
    expect(loaded.filter((m) => [...NOT_ON_THE_PLAIN_PATH, 'child_process'].includes(m))).toEqual([]);
  });

  it('a clusterless ADD and its DEL, at the default log level, load no TLS, HTTP, zlib, crypto or perf_hooks', () => {
    const sb = sandbox();
    const netns = sb.netns();
    const config = {
      cniVersion: '1.0.0', name: 'braid', type: 'braid', cniDir: sb.cniDir,
      delegates: [{ cniVersion: '1.0.0', name: 'lo', plugins: [{ type: 'loopback' }] }],
    };
    const call = { containerID: `modules-${sb.id}`, netns, ifname: 'eth0', config, env: { NODE_OPTIONS: `--require=${PROBE}` } };
    const add = runBraid({ command: 'ADD', ...call });
    ok(add);
    const addLoaded = builtinsOf(add.stderr);
    expect(addLoaded).toContain('child_process'); // the delegate did run
    expect(addLoaded.filter((m) => NOT_ON_THE_PLAIN_PATH.includes(m))).toEqual([]);
    const del = runBraid({ command: 'DEL', ...call });
    expect(del.status, del.stderr).toBe(0);
    expect(builtinsOf(del.stderr).filter((m) => NOT_ON_THE_PLAIN_PATH.includes(m))).toEqual([]);
    expect(sb.cacheFiles()).toEqual([]);
  });
});
