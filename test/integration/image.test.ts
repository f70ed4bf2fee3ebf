import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BRAID } from '../helpers/braid';
import { digestOf } from '../../packaging/oci-image.mjs';

// `npm run image`: dist/braid-image.tar is an OCI image-layout archive holding dist/braid and exactly
// the shared libraries ldd resolves for it, with `braid install` as its entrypoint, byte-for-byte
// reproducible. containerd-image.test.ts imports and runs it.

const ROOT = path.resolve(__dirname, '../..');

/** One tar entry: name, type ('0' file, '5' dir), mode, owner, mtime and contents. */
interface TarEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  data: Buffer;
}

/** Reads a ustar archive (what tar writers agree on: name, mode, ids, size, mtime, type). */
function readTar(buf: Buffer): TarEntry[] {
  const out: TarEntry[] = [];
  const num = (off: number, len: number) => parseInt(buf.toString('ascii', off, off + len).replace(/\0.*$/, '').trim() || '0', 8);
  for (let off = 0; off + 512 <= buf.length && buf[off] !== 0; ) {
    const size = num(off + 124, 12);
    out.push({
      name: buf.toString('utf8', off, off + 100).replace(/\0.*$/, ''),
      type: String.fromCharCode(buf[off + 156]),
      mode: num(off + 100, 8),
      uid: num(off + 108, 8),
      gid: num(off + 116, 8),
      mtime: num(off + 136, 12),
      data: buf.subarray(off + 512, off + 512 + size),
    });
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** Runs `npm run image` into a temp file and returns its path. */
function buildImage(dir: string, name: string, ...flags: string[]): string {
  const out = path.join(dir, name);
  execFileSync('npm', ['run', '--silent', 'image', '--', `--out=${out}`, ...flags], { cwd: ROOT, stdio: 'pipe', timeout: 120_000 });
  return out;
}

/** The paths ldd prints for a dynamically linked file (the vDSO has none). */
function lddPaths(file: string): string[] {
  return execFileSync('ldd', [file], { encoding: 'utf8' }).split('\n')
    .map((l) => /(?:=>\s*|^\s*)(\/\S+)\s+\(0x/.exec(l)?.[1]).filter((p): p is string => !!p);
}

describe('npm run image', () => {
  it('builds an OCI image archive of braid and its shared libraries, entrypoint `braid install`, with the same digest every time', () => {
    const dir = fs.mkdtempSync(path.join(ROOT, 'dist/.image-test-'));
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
    const first = fs.readFileSync(buildImage(dir, 'a.tar'));
    // The same bytes from another path with another mtime: only contents count.
    const copy = path.join(dir, 'braid');
    fs.copyFileSync(BRAID, copy);
    fs.utimesSync(copy, new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'));
    const second = fs.readFileSync(buildImage(dir, 'b.tar', `--bin=${copy}`));
    expect(digestOf(second)).toBe(digestOf(first));

    // The image layout: oci-layout, index.json and content-addressed blobs, nothing else.
    const archive = readTar(first);
    const byName = new Map(archive.map((e) => [e.name, e]));
    expect(JSON.parse(byName.get('oci-layout')!.data.toString())).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(byName.get('index.json')!.data.toString());
    expect(index.schemaVersion).toBe(2);
    expect(index.manifests).toHaveLength(1);
    const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
    expect(index.manifests[0].annotations['io.containerd.image.name']).toBe(`localhost/braid:${version}`);
    const blob = (digest: string): Buffer => {
      const data = byName.get(`blobs/sha256/${digest.replace('sha256:', '')}`)!.data;
      expect(digestOf(data)).toBe(digest); // content-addressed for real
      return data;
    };
    const manifest = JSON.parse(blob(index.manifests[0].digest).toString());
    expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(manifest.layers).toHaveLength(1);
    const config = JSON.parse(blob(manifest.config.digest).toString());
    const layerGz = blob(manifest.layers[0].digest);
    expect(archive.map((e) => e.name).sort()).toEqual(['blobs/', 'blobs/sha256/', 'index.json', 'oci-layout',
      ...[index.manifests[0].digest, manifest.config.digest, manifest.layers[0].digest].map((d: string) => `blobs/sha256/${d.slice(7)}`)].sort());

    // The config: entrypoint `braid install`, linux/amd64, no timestamps or history.
    expect(config.config.Entrypoint).toEqual(['/braid', 'install']);
    expect(config.os).toBe('linux');
    expect(config.architecture).toBe('amd64');
    expect(config).not.toHaveProperty('created');
    expect(config).not.toHaveProperty('history');
    const layerTar = gunzipSync(layerGz);
    expect(config.rootfs.diff_ids).toEqual([digestOf(layerTar)]);

    // The layer: /braid and exactly what ldd resolves for it and for the native addons it embeds and
    // dlopen()s (today a subset of braid's own), plus their directories.
    const layer = readTar(layerTar);
    const addons = [path.join(ROOT, 'src/generated/braid_netns.node'), path.join(ROOT, 'node_modules/netlink/prebuilds/linux-x64/node.napi.node')];
    const libs = [...new Set([BRAID, ...addons].flatMap(lddPaths))].sort().map((p) => p.slice(1));
    expect(libs).toEqual(expect.arrayContaining([expect.stringMatching(/libc\.so\.6$/), expect.stringMatching(/^lib64\/ld-linux-x86-64\.so\.2$/)]));
    const dirs = [...new Set(libs.flatMap((l) => l.split('/').slice(0, -1).map((_, i, parts) => `${parts.slice(0, i + 1).join('/')}/`)))];
    expect(layer.map((e) => e.name).sort()).toEqual(['braid', ...libs, ...dirs].sort());
    const braid = layer.find((e) => e.name === 'braid')!;
    expect(digestOf(braid.data)).toBe(digestOf(fs.readFileSync(BRAID)));
    expect(braid.mode).toBe(0o755);
    for (const lib of libs) expect(digestOf(layer.find((e) => e.name === lib)!.data)).toBe(digestOf(fs.readFileSync(`/${lib}`)));
    // Reproducible metadata: root-owned, epoch mtimes, regular files and directories only.
    for (const e of [...layer, ...archive]) {
      expect({ name: e.name, uid: e.uid, gid: e.gid, mtime: e.mtime }).toEqual({ name: e.name, uid: 0, gid: 0, mtime: 0 });
      expect(['0', '5']).toContain(e.type);
    }
  }, 180_000);
});
