import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lockHolder, lockPath, withLock } from '../../src/store/lock';
import { asyncCniError } from '../helpers/unit';

// The per-container lock: one holder at a time, private files, takeover of a dead holder's lock only.

/** A PID that no process has: a child that has already exited. */
function deadPid(): number {
  return spawnSync('true').pid!;
}

/** How a lock names a running process: its PID and its start time from /proc/<pid>/stat. */
function tokenOf(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return `${pid} ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
}

describe('withLock', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-unit-lock-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs fn holding a 0600 lock file (in a 0700 dir) that names this process, and removes it afterwards', async () => {
    const locks = path.join(dir, 'locks');
    const seen = await withLock(locks, 'c1', 1000, async () => ({
      owner: fs.readFileSync(path.join(locks, 'c1.lock'), 'utf8'),
      mode: fs.statSync(path.join(locks, 'c1.lock')).mode & 0o777,
    }));
    expect(seen).toEqual({ owner: tokenOf(process.pid), mode: 0o600 });
    expect(fs.statSync(locks).mode & 0o777).toBe(0o700);
    expect(fs.readdirSync(locks)).toEqual([]);
  });

  it('serialises holders of one container and lets other containers through', async () => {
    const order: string[] = [];
    const hold = (id: string, tag: string, ms: number) => withLock(dir, id, 5000, async () => {
      order.push(`${tag}+`);
      await new Promise((r) => setTimeout(r, ms));
      order.push(`${tag}-`);
    });
    await Promise.all([hold('c1', 'a', 80), hold('c1', 'b', 0), hold('c2', 'x', 0)]);
    expect(order.indexOf('b+')).toBeGreaterThan(order.indexOf('a-'));
    expect(order.indexOf('x-')).toBeLessThan(order.indexOf('a-'));
  });

  it('takes over a lock whose holder is dead, leaving no takeover guard behind', async () => {
    fs.writeFileSync(path.join(dir, 'c1.lock'), String(deadPid()));
    expect(await withLock(dir, 'c1', 2000, async () => 'ran')).toBe('ran');
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it.each([
    ['PID and start time', () => tokenOf(process.ppid)],
    ['bare PID, as older locks hold', () => String(process.ppid)],
  ])('never takes over a live holder\'s lock (%s): it gives up with code 11 naming the container', async (_, token) => {
    fs.writeFileSync(path.join(dir, 'c1.lock'), token());
    const err = await asyncCniError(withLock(dir, 'c1', 200, async () => 'ran'));
    expect(err.code).toBe(11);
    expect(err.message).toContain('container c1 is locked');
    expect(fs.readFileSync(path.join(dir, 'c1.lock'), 'utf8')).toBe(token());
  });

  it('takes over a lock whose PID now belongs to another process (PID reuse after a crash or a reboot)', async () => {
    const [pid, start] = tokenOf(process.ppid).split(' ');
    fs.writeFileSync(path.join(dir, 'c1.lock'), `${pid} ${Number(start) + 1}`);
    expect(await withLock(dir, 'c1', 2000, async () => 'ran')).toBe('ran');
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('takes over a lock file left without a holder (garbage, or a crash between create and write) once it is old', async () => {
    const lock = path.join(dir, 'c1.lock');
    fs.writeFileSync(lock, 'garbage');
    await asyncCniError(withLock(dir, 'c1', 100, async () => 'ran')); // a fresh one may be a holder mid-write
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(lock, old, old);
    expect(await withLock(dir, 'c1', 2000, async () => 'ran')).toBe('ran');
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('clears a takeover guard abandoned by a process that died inside it', async () => {
    fs.writeFileSync(path.join(dir, 'c1.lock'), String(deadPid()));
    const guard = path.join(dir, 'c1.lock.break');
    fs.writeFileSync(guard, '');
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(guard, old, old);
    expect(await withLock(dir, 'c1', 2000, async () => 'ran')).toBe('ran');
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('lockHolder (what braid inspect reports)', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-unit-lockholder-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is undefined for a free lock, alive for the running holder inside withLock, dead for a holder that exited', async () => {
    expect(lockHolder(lockPath(dir, 'c1'))).toBeUndefined();
    const inside = await withLock(dir, 'c1', 1000, async () => lockHolder(lockPath(dir, 'c1')));
    expect(inside).toEqual({ token: tokenOf(process.pid), alive: true });
    fs.writeFileSync(lockPath(dir, 'c2'), `${deadPid()} 1`);
    expect(lockHolder(lockPath(dir, 'c2'))).toMatchObject({ alive: false });
  });

  it('a fresh unwritten lock counts as held (its holder is writing it), an old one as abandoned', () => {
    const file = lockPath(dir, 'c3');
    fs.writeFileSync(file, '');
    expect(lockHolder(file)).toEqual({ token: '', alive: true });
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(file, old, old);
    expect(lockHolder(file)).toEqual({ token: '', alive: false });
  });
});
