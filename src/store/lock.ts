import fs = require('node:fs');
import path = require('node:path');
import { CniError, ErrorCode } from '../cni/errors';
import { ensurePrivateDir, safeFileName } from './files';

const POLL_MS = 20;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ownerOf(file: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
    return Number.isFinite(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

// A lock whose holder died (braid killed mid-operation) is taken over. Takeovers are serialised by an
// exclusive `.break` file, and the lock is removed only if it still names the dead holder: a lock that
// someone re-took meanwhile is never removed. (Only takeovers remove other processes' locks.)
function breakStale(file: string): void {
  const pid = ownerOf(file);
  if (pid === undefined || alive(pid)) return;
  const guard = `${file}.break`;
  try {
    fs.closeSync(fs.openSync(guard, 'wx', 0o600));
  } catch {
    clearAbandonedGuard(guard);
    return;
  }
  try {
    if (ownerOf(file) === pid) fs.rmSync(file, { force: true });
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

// A takeover holds its guard for microseconds; one older than this was left by a process that died inside it.
const GUARD_MAX_AGE_MS = 10_000;

function clearAbandonedGuard(guard: string): void {
  try {
    if (Date.now() - fs.statSync(guard).mtimeMs > GUARD_MAX_AGE_MS) fs.rmSync(guard, { force: true });
  } catch {
    // gone already
  }
}

/** Runs `fn` holding the per-container lock `<dir>/<id>.lock` (0600 file, 0700 dir), waiting up to `timeoutMs`. */
export async function withLock<T>(dir: string, id: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  ensurePrivateDir(dir);
  const file = path.join(dir, `${safeFileName(id)}.lock`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = fs.openSync(file, 'wx', 0o600);
      fs.writeSync(fd, String(process.pid));
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
    if (ownerOf(file) === process.pid) fs.rmSync(file, { force: true });
  }
}
