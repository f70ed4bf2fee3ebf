import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config/braid-config';
import { configureLog, log, logEnabled, setLogContext, withLogContext } from '../../src/log';

let dir: string;
let file: string;

/** Logs to a fresh file only (never to the test runner's stderr). */
function useLog(level: string, format = ''): void {
  configureLog({ level, format, toStderr: false, file, options: DEFAULTS.logOptions });
}

const written = (): string[] => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-log-'));
  file = path.join(dir, 'braid.log');
  setLogContext({ command: 'ADD', container: 'c0ffee', pod: 'team-a/web-0' });
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('levels', () => {
  it('unset shows errors and warnings but not verbose; an explicit panic hides warnings too', () => {
    useLog('');
    log('warning', 'w1');
    log('error', 'e1');
    log('verbose', 'v1');
    useLog('panic');
    log('warning', 'w2');
    log('error', 'e2');
    expect(written().map((l) => l.replace(/^\S+ /, ''))).toEqual([
      '[warning] ADD container=c0ffee pod=team-a/web-0: w1',
      '[error] ADD container=c0ffee pod=team-a/web-0: e1',
    ]);
  });

  it('builds no message and no fields for a level that is off', () => {
    useLog('');
    let built = 0;
    log('debug', () => { built++; return 'never'; }, () => { built++; return {}; });
    log('verbose', 'v', () => { built++; return {}; });
    expect(built).toBe(0);
    expect(logEnabled('verbose')).toBe(false);
    useLog('debug');
    log('debug', () => { built++; return 'now'; }, () => { built++; return { n: 1 }; });
    expect(built).toBe(2);
    expect(written()).toHaveLength(1);
  });
});

describe('formats', () => {
  it('text puts fields after the message as key=value, quoting what has spaces and leaving out what is undefined', () => {
    useLog('verbose');
    log('verbose', 'network chosen', { network: 'team-a/storage', from: 'NAD from the API', by: undefined, exitCode: 0, stdin: { a: 1 } });
    expect(written()[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z \[verbose\] ADD container=c0ffee pod=team-a\/web-0: network chosen network=team-a\/storage from="NAD from the API" exitCode=0 stdin=\{"a":1\}$/);
  });

  it('json writes one object per line with every key, null for what is unknown', () => {
    useLog('verbose', 'Json');
    log('verbose', 'delegate call', { exitCode: 0, durationMs: 1.5 });
    setLogContext({ command: 'GC', container: '', pod: '' });
    log('error', 'gc failed');
    const [a, b] = written().map((l) => JSON.parse(l));
    expect(a).toEqual({ time: expect.any(String), level: 'verbose', container: 'c0ffee', pod: 'team-a/web-0', command: 'ADD', msg: 'delegate call', fields: { exitCode: 0, durationMs: 1.5 } });
    expect(b).toEqual({ time: expect.any(String), level: 'error', container: null, pod: null, command: 'GC', msg: 'gc failed', fields: {} });
  });

  it('redacts secrets in messages and fields, in both formats', () => {
    for (const format of ['text', 'json']) {
      useLog('debug', format);
      log('debug', 'call failed: Authorization: Bearer s3cr3t-t0ken', { stdin: { token: 's3cr3t-t0ken', master: 'eth1' } });
    }
    const text = written().join('\n');
    expect(text).not.toContain('s3cr3t-t0ken');
    expect(text).toContain('eth1');
    expect(text.match(/\[redacted\]/g)).toHaveLength(4);
  });
});

describe('withLogContext', () => {
  it('tags lines with another container and pod, and restores the context even when the work fails', async () => {
    useLog('warning');
    await expect(withLogContext({ container: 'stale1', pod: 'ns/old' }, async () => {
      log('warning', 'inside');
      throw new Error('boom');
    })).rejects.toThrow('boom');
    log('warning', 'after');
    expect(written().map((l) => l.replace(/^\S+ \[warning\] /, ''))).toEqual([
      'ADD container=stale1 pod=ns/old: inside',
      'ADD container=c0ffee pod=team-a/web-0: after',
    ]);
  });
});
