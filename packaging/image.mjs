// `npm run image`: packs dist/braid and exactly the shared libraries `ldd` says it and the native
// addons embedded in it (dlopen()ed at run time) load into
// dist/braid-image.tar, an OCI image archive (`ctr image import`, `podman load`) whose entrypoint is
// `braid install`. No Docker, no registry: packaging/oci-image.mjs writes the image layout itself.
// Flags: --bin=PATH (default dist/braid), --out=PATH (default dist/braid-image.tar),
//        --name=REF (default localhost/braid:<package version>).
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { filesFromHost, writeOciImage } from './oci-image.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, fallback) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
const bin = path.resolve(root, opt('bin', 'dist/braid'));
const out = path.resolve(root, opt('out', 'dist/braid-image.tar'));
const name = opt('name', `localhost/braid:${version}`);

/** The absolute paths of the shared objects (and the ELF interpreter) `ldd` resolves for `file`. */
function sharedLibraries(file) {
  let text;
  try {
    text = execFileSync('ldd', [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if (/not a dynamic executable|statically linked/.test(`${err.stdout}${err.stderr}`)) return [];
    throw err;
  }
  const missing = text.split('\n').filter((l) => l.includes('not found'));
  if (missing.length) throw new Error(`${file}: missing shared libraries:\n${missing.join('\n')}`);
  // "libc.so.6 => /lib/.../libc.so.6 (0x..)" and "/lib64/ld-linux-x86-64.so.2 (0x..)"; the vDSO has no path.
  return [...text.matchAll(/(?:=>\s*|^\s*)(\/\S+)\s+\(0x/gm)].map((m) => m[1]).sort();
}

if (!fs.existsSync(bin)) {
  console.error(`${bin} does not exist: run npm run build first`);
  process.exit(1);
}
// The addons packaging/build.mjs embeds: braid writes them out and dlopen()s them, so their
// libraries must be in the image too.
const addons = [
  ...fs.readdirSync(path.join(root, 'src/generated')).filter((f) => f.endsWith('.node')).map((f) => path.join(root, 'src/generated', f)),
  createRequire(path.join(root, 'package.json')).resolve('netlink/prebuilds/linux-x64/node.napi.node'),
];
const libs = [...new Set([bin, ...addons].flatMap(sharedLibraries))].sort();
const files = filesFromHost({ '/braid': bin, ...Object.fromEntries(libs.map((l) => [l, l])) });
const digest = writeOciImage({
  files,
  entrypoint: ['/braid', 'install'],
  name,
  labels: { 'org.opencontainers.image.title': 'braid', 'org.opencontainers.image.version': version },
  out,
});
console.log(`built ${path.relative(root, out)}: ${name} ${digest} (${files.length} files: /braid, ${libs.join(', ')})`);
