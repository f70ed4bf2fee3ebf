import fs = require('node:fs');
import path = require('node:path');
import { CniError, ErrorCode } from '../cni/errors';
import { ensurePrivateDir, safeFileName } from './files';

const POLL_MS = 20;

// A lock names its holder by PID and start time ("<pid> <start>"; the start is field 22 of
// /proc/<pid>/stat, in clock ticks since boot). A PID reused by another process after braid died, or
// after a reboot (the locks live under cniDir, on disk), then no longer passes for the holder.
function startTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

let self: string | undefined;
function selfToken(): string {
  self ??= `${process.pid} ${startTime(process.pid) ?? ''}`.trim();
  return self;
}

// The holder still runs: same PID and same start time (a bare PID, as older locks hold, is only checked for life).
function alive(token: string): boolean {
  const [pid, start] = token.split(' ');
  if (start !== undefined) return startTime(Number(pid)) === start;
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// The holder's token; undefined while the holder has created the file but not yet written it.
function ownerOf(file: string): string | undefined {
  try {
    const token = fs.readFileSync(file, 'utf8').trim();
    return /^\d+( \d+)?$/.test(token) ? token : undefined;
  } catch {
    return undefined;
  }
}

// A lock whose holder died (braid killed mid-operation) is taken over. Takeovers are serialised by an
// exclusive `.break` file, and the lock is removed only if it still names the dead holder: a lock that
// someone re-took meanwhile is never removed. (Only takeovers remove other processes' locks.)
function breakStale(file: string): void {
  const holder = ownerOf(file);
  // A holder writes its token right after creating the file: one without a token for long is debris.
  if (holder === undefined ? !olderThan(file, ABANDONED_MS) : alive(holder)) return;
  const guard = `${file}.break`;
  try {
    fs.closeSync(fs.openSync(guard, 'wx', 0o600));
  } catch {
    clearAbandonedGuard(guard);
    return;
  }
  try {
    if (ownerOf(file) === holder) fs.rmSync(file, { force: true });
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

// Takeover guards and unwritten locks exist for microseconds; older ones were left by a process that died.
const ABANDONED_MS = 10_000;

function olderThan(file: string, ms: number): boolean {
  try {
    return Date.now() - fs.statSync(file).mtimeMs > ms;
  } catch {
    return false; // gone already
  }
}

function clearAbandonedGuard(guard: string): void {
  if (olderThan(guard, ABANDONED_MS)) fs.rmSync(guard, { force: true });
}

/** The lock file of container `id` in `dir`. */
export function lockPath(dir: string, id: string): string {
  return path.join(dir, `${safeFileName(id)}.lock`);
}

/** Who holds a lock file: the holder's token ("<pid> <start>"; '' while unwritten) and whether it still runs. */
export interface LockHolder { token: string; alive: boolean }

/**
 * The holder of a lock file, judged as a waiting braid would judge it (a dead holder's lock is taken
 * over by the next operation); undefined when the lock is free.
 */
export function lockHolder(file: string): LockHolder | undefined {
  if (!fs.existsSync(file)) return undefined;
  const token = ownerOf(file);
  return { token: token ?? '', alive: token === undefined ? !olderThan(file, ABANDONED_MS) : alive(token) };
}

/** Runs `fn` holding the per-container lock `<dir>/<id>.lock` (0600 file, 0700 dir), waiting up to `timeoutMs`. */
export async function withLock<T>(dir: string, id: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  ensurePrivateDir(dir);
  const file = lockPath(dir, id);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = fs.openSync(file, 'wx', 0o600);
      fs.writeSync(fd, selfToken());
      fs.closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    breakStale(file);
    if (Date.now() > deadline) {
      throw new CniError(ErrorCode.TryAgainLater, `container ${id} is locked by another braid operation (${file})`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  try {
    return await fn();
  } finally {
    if (ownerOf(file) === selfToken()) fs.rmSync(file, { force: true });
  }
}
