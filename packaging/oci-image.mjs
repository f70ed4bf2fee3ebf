// A reproducible OCI image archive writer over the image-layout spec: a ustar writer plus the
// index/manifest/config JSON. Every tar entry has uid/gid 0, no owner names, mtime 0 and a mode
// derived only from "executable or not", entries are sorted, the config carries no timestamps and
// gzip's header has no mtime: the same files give the same bytes, hence the same digest.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';

const BLOCK = 512;

/** Writes `value` as a NUL-terminated, zero-padded octal field of `width` bytes at `offset`. */
function octal(header, offset, width, value) {
  header.write(value.toString(8).padStart(width - 1, '0') + '\0', offset, width, 'ascii');
}

/** One ustar header block for a regular file ('0') or a directory ('5'). */
function tarHeader(name, mode, size, type) {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar path too long for ustar: ${name}`);
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  octal(h, 100, 8, mode);
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, size);
  octal(h, 136, 12, 0); // mtime
  h.write(type, 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  h.fill(' ', 148, 156); // checksum is computed with its own field as spaces
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

/**
 * A tar archive (Buffer) of `files` ({ path, data, mode }), with every parent directory as its own
 * 0755 entry, all sorted by path so that parents come first.
 */
export function tarOf(files) {
  const dirs = new Set();
  for (const f of files) {
    for (let d = path.posix.dirname(f.path); d !== '.' && d !== '/'; d = path.posix.dirname(d)) dirs.add(`${d}/`);
  }
  const entries = [...[...dirs].map((d) => ({ path: d, dir: true })), ...files].sort((a, b) => (a.path < b.path ? -1 : 1));
  const parts = [];
  for (const e of entries) {
    if (e.dir) {
      parts.push(tarHeader(e.path, 0o755, 0, '5'));
      continue;
    }
    parts.push(tarHeader(e.path, e.mode, e.data.length, '0'), e.data);
    const pad = (BLOCK - (e.data.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/** `sha256:<hex>` of a buffer. */
export function digestOf(data) {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The image's files from host paths: contents followed through symlinks, mode 0755 if executable else 0644. */
export function filesFromHost(map) {
  return Object.entries(map).map(([inImage, hostPath]) => ({
    path: inImage.replace(/^\/+/, ''),
    data: fs.readFileSync(hostPath),
    mode: fs.statSync(hostPath).mode & 0o111 ? 0o755 : 0o644,
  }));
}

/**
 * Writes an OCI image-layout archive to `out` (atomically): one gzip layer of `files`, a config with
 * `entrypoint` and no timestamps, and an index naming the image `name` for both containerd
 * (io.containerd.image.name) and containers/image (org.opencontainers.image.ref.name).
 * Returns the manifest digest, which identifies the image.
 */
export function writeOciImage({ files, entrypoint, name, labels = {}, out }) {
  const layerTar = tarOf(files);
  const layer = gzipSync(layerTar, { level: 6 });
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Entrypoint: entrypoint, WorkingDir: '/', Labels: labels },
    rootfs: { type: 'layers', diff_ids: [digestOf(layerTar)] },
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf(layer), size: layer.length }],
  }));
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: digestOf(manifest),
      size: manifest.length,
      platform: { architecture: 'amd64', os: 'linux' },
      annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': name },
    }],
  }));
  const blob = (data) => ({ path: `blobs/sha256/${digestOf(data).slice(7)}`, data, mode: 0o644 });
  const archive = tarOf([
    { path: 'oci-layout', data: Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })), mode: 0o644 },
    { path: 'index.json', data: index, mode: 0o644 },
    blob(config), blob(manifest), blob(layer),
  ]);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, archive);
  fs.renameSync(tmp, out);
  return digestOf(manifest);
}
