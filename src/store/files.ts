import fs = require('node:fs');
import path = require('node:path');

/** Creates `dir` (and parents) as 0700, tightening it if it already exists with looser bits. */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.statSync(dir);
  if ((st.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
}

/**
 * Writes `data` to `file` atomically: a 0600 temp file, fsync, rename, then fsync of the directory.
 * `durable: false` skips the fsyncs, for a cache whose loss after a crash costs nothing but a miss.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, opts: { durable?: boolean } = {}): void {
  ensurePrivateDir(path.dirname(file));
  replaceFile(file, data, 0o600, opts.durable ?? true);
}

/**
 * Replaces `file` atomically with `data` (created with `mode`, less the umask) in a directory that must
 * exist, whose own mode is left alone: temp file, rename, and (when `durable`) fsyncs of file and directory.
 * Readers see the old bytes or the new, never half.
 */
export function replaceFile(file: string, data: string | Uint8Array, mode: number, durable = true): void {
  const dir = path.dirname(file);
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeFileSync(fd, data);
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  if (!durable) return;
  const dfd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(dfd);
  } finally {
    fs.closeSync(dfd);
  }
}

/** Turns a container ID into a safe file name: anything outside [A-Za-z0-9_.-] and a leading '.' are %-escaped. */
export function safeFileName(id: string): string {
  const escaped = id.replace(/[^A-Za-z0-9_.-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return escaped.startsWith('.') ? `%2e${escaped.slice(1)}` : escaped;
}
