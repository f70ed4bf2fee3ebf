import fs = require('node:fs');
import path = require('node:path');

/** True when both files exist and hold the same bytes (sizes first, then 1 MiB chunks). */
export function sameContent(a: string, b: string): boolean {
  let sa: fs.Stats;
  let sb: fs.Stats;
  try {
    sa = fs.statSync(a);
    sb = fs.statSync(b);
  } catch {
    return false;
  }
  if (sa.size !== sb.size) return false;
  if (sa.dev === sb.dev && sa.ino === sb.ino) return true;
  const fa = fs.openSync(a, 'r');
  const fb = fs.openSync(b, 'r');
  try {
    const ba = Buffer.alloc(1 << 20);
    const bb = Buffer.alloc(1 << 20);
    for (let pos = 0; pos < sa.size;) {
      const n = fs.readSync(fa, ba, 0, ba.length, pos);
      if (n <= 0 || fs.readSync(fb, bb, 0, n, pos) !== n || !ba.subarray(0, n).equals(bb.subarray(0, n))) return false;
      pos += n;
    }
    return true;
  } finally {
    fs.closeSync(fa);
    fs.closeSync(fb);
  }
}

/**
 * Installs `source` as `target` (0755): copied to a temp file in the target's directory, fsynced, then
 * renamed over it. A running braid keeps its old inode, a starting one sees old or new, never a
 * partial file, and writing never meets ETXTBSY. Returns false when `target` already has these bytes.
 */
export function installBinary(source: string, target: string): boolean {
  if (sameContent(source, target)) return false;
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`);
  try {
    fs.copyFileSync(source, tmp);
    fs.chmodSync(tmp, 0o755);
    const fd = fs.openSync(tmp, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  return true;
}
