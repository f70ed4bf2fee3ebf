import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');

// Native addons ride inside the single executable as bytes (esbuild "binary" loader). dlopen() needs
// a real file, so each is written once to a private root-owned directory under a name carrying its
// build-time SHA-256, then dlopen()ed; later runs reuse the file after checking owner and mode.

function cacheDir(): string {
  if (process.env.BRAID_NATIVE_DIR) return process.env.BRAID_NATIVE_DIR;
  const uid = process.getuid ? process.getuid() : 0;
  return uid === 0 ? '/run/braid' : path.join(os.tmpdir(), `braid-${uid}`);
}

function trusted(st: fs.Stats): boolean {
  const uid = process.getuid ? process.getuid() : st.uid;
  return st.uid === uid && (st.mode & 0o022) === 0;
}

const loaded = new Map<string, unknown>();

/** Returns an embedded addon's exports, writing it to the private cache and dlopen()ing it on first use. */
export function loadEmbeddedAddon<T>(name: string, bytes: Uint8Array, sha256: string): T {
  const file = path.join(cacheDir(), `${name}-${sha256.slice(0, 16)}.node`);
  if (loaded.has(file)) return loaded.get(file) as T;
  const dir = path.dirname(file);
  let ok = false;
  try {
    const st = fs.statSync(file);
    ok = st.isFile() && st.size === bytes.length && trusted(st) && trusted(fs.statSync(dir));
    if (ok && process.env.BRAID_VERIFY_NATIVE === '1') {
      const { createHash } = require('node:crypto') as typeof import('node:crypto'); // only here: crypto costs ~2 ms to load
      ok = createHash('sha256').update(fs.readFileSync(file)).digest('hex') === sha256;
    }
  } catch {
    ok = false;
  }
  if (!ok) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!trusted(fs.statSync(dir))) throw new Error(`native cache dir ${dir} is not private`);
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, bytes, { mode: 0o700 });
    fs.renameSync(tmp, file); // atomic: concurrent invocations never see a partial file
  }
  const mod = { exports: {} as T };
  process.dlopen(mod, file);
  loaded.set(file, mod.exports);
  return mod.exports;
}
