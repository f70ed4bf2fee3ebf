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

// A lock whose holder died (braid killed mid-operation) is taken over. The rename to a private
// name makes the takeover atomic; if another process re-took the lock in between, it is put back.
function breakStale(file: string): void {
  const pid = ownerOf(file);
  if (pid === undefined || alive(pid)) return;
  const moved = `${file}.stale.${process.pid}`;
  try {
    fs.renameSync(file, moved);
  } catch {
    return;
  }
  const movedOwner = ownerOf(moved);
  if (movedOwner !== undefined && movedOwner !== pid && alive(movedOwner)) {
    try { fs.linkSync(moved, file); } catch { /* someone else holds it now; they win */ }
  }
  fs.rmSync(moved, { force: true });
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
