#!/usr/bin/env node
/**
 * Packs what scripts/gpu-providers.ts needs on a bare GPU machine that has no Node.js, no npm, no
 * ffmpeg and no network (the lent device machine of this workplace), in parts small enough to
 * travel one per call:
 *
 *   node scripts/gpu-carry.mjs --out <checkout>/.gpu [--cache DIR] [--node PATH] [--part-mb 46]
 *
 * What it makes (in --out, a folder the checkout's .git/info/exclude must ignore):
 *   c1/, c2/, …   parts of one tar (part-00, part-01, …), each folder small enough for one call;
 *                  the last folder also holds device-run.sh and SHA256SUMS
 * The tar holds:
 *   node.xz        a self-contained Linux x64 Node binary (default /opt/node22/bin/node)
 *   model.onnx.xz  the htdemucs weights (checked against models/htdemucs.json on the device)
 *   app.tar.xz     app/gpu-providers.mjs (esbuild bundle; engine/decode.ts swapped for
 *                  scripts/gpu-wav-decode.ts, which reads plain wav in-process), app/ort-thread.mjs,
 *                  app/models/*.json, app/node_modules/onnxruntime-{node,common} (linux x64 only),
 *                  app/clip-30s.wav (the known-answer mixtures concatenated to 30 s, decoded here)
 *   gl/*.deb       the Vulkan/EGL loaders (libvulkan1 …), unpacked on the device (Dawn needs libvulkan.so.1)
 *
 * On the device: copy each cN's parts to /tmp/demix-parts in consecutive calls, then run
 * `bash .gpu/cN/device-run.sh .gpu/cN` in the last one (it reassembles, checks, unpacks and runs the
 * script, writing gpu-providers.json and gpu-providers.log to $OUT). Compressed files are cached in
 * --cache (default: os.tmpdir()/demix-gpu-carry) and reused while their source is unchanged.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, cpSync, createReadStream, existsSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const out = path.resolve(opt('--out', path.join(root, '.gpu')));
const cache = path.resolve(opt('--cache', path.join(os.tmpdir(), 'demix-gpu-carry')));
const nodeBin = realpathSync(opt('--node', existsSync('/opt/node22/bin/node') ? '/opt/node22/bin/node' : process.execPath));
const partBytes = Math.floor(Number(opt('--part-mb', '46')) * 1e6);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

async function sha256(file) {
  const h = createHash('sha256');
  for await (const c of createReadStream(file)) h.update(c);
  return h.digest('hex');
}

/** xz of `src` in the cache, redone only when the source's size or mtime changed. */
function cachedXz(src, name) {
  mkdirSync(cache, { recursive: true });
  const dst = path.join(cache, name);
  const st = statSync(src);
  const stamp = `${dst}.source`;
  const want = `${src} ${st.size} ${st.mtimeMs}`;
  if (existsSync(dst) && existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return dst;
  console.log(`compressing ${src} (minutes on a slow machine)…`);
  const fd = openSync(`${dst}.tmp`, 'w');
  const r = spawnSync('xz', ['-T0', '-1', '-c', src], { stdio: ['ignore', fd, 'inherit'] });
  closeSync(fd);
  if (r.status !== 0) throw new Error(`xz ${src} failed`);
  renameSync(`${dst}.tmp`, dst);
  writeFileSync(stamp, want);
  return dst;
}

const stage = path.join(cache, 'stage');
rmSync(stage, { recursive: true, force: true });
const app = path.join(stage, 'app');
mkdirSync(path.join(app, 'models'), { recursive: true });

// 1. The script, bundled; engine/decode.ts → scripts/gpu-wav-decode.ts (which itself imports the real one).
const wavDecode = path.join(root, 'scripts', 'gpu-wav-decode.ts');
const swapDecode = {
  name: 'wav-decode',
  setup(b) {
    b.onResolve({ filter: /\/decode\.ts$/ }, (a) => {
      if (a.importer === wavDecode) return undefined;
      if (path.resolve(a.resolveDir, a.path) === path.join(root, 'engine', 'decode.ts')) return { path: wavDecode };
      return undefined;
    });
  },
};
await build({
  absWorkingDir: root,
  entryPoints: ['scripts/gpu-providers.ts'],
  outfile: path.join(app, 'gpu-providers.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['onnxruntime-node', 'ffmpeg-static'],
  banner: { js: "import { createRequire as __demixCreateRequire } from 'node:module';\nconst require = __demixCreateRequire(import.meta.url);" },
  plugins: [swapDecode],
  logLevel: 'warning',
  legalComments: 'none',
});
copyFileSync(path.join(root, 'engine', 'ort-thread.mjs'), path.join(app, 'ort-thread.mjs'));
for (const f of readdirSync(path.join(root, 'models'))) if (f.endsWith('.json')) copyFileSync(path.join(root, 'models', f), path.join(app, 'models', f));

// 2. onnxruntime-node for linux x64 only, and onnxruntime-common.
const nm = path.join(root, 'node_modules');
const ortDir = path.join(app, 'node_modules', 'onnxruntime-node');
for (const p of ['package.json', 'dist', 'bin/napi-v6/linux/x64']) cpSync(path.join(nm, 'onnxruntime-node', p), path.join(ortDir, p), { recursive: true });
for (const p of ['package.json', 'dist']) cpSync(path.join(nm, 'onnxruntime-common', p), path.join(app, 'node_modules', 'onnxruntime-common', p), { recursive: true });

// 3. The 30 s clip, decoded here (the device has no ffmpeg): 16-bit stereo wav at 44.1 kHz.
const fx = path.join(root, 'test', 'fixtures', 'known-answer');
const list = path.join(stage, 'list.txt');
writeFileSync(list, [0, 1, 2, 0].map((i) => `file '${path.join(fx, `song0${i}`, 'mixture.flac')}'`).join('\n') + '\n');
run('ffmpeg', ['-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-t', '30', '-ac', '2', '-ar', '44100', '-c:a', 'pcm_s16le', path.join(app, 'clip-30s.wav')]);

// 4. The tar: node, weights, app, Vulkan loader debs.
const payload = path.join(stage, 'payload');
mkdirSync(path.join(payload, 'gl'), { recursive: true });
copyFileSync(cachedXz(nodeBin, 'node.xz'), path.join(payload, 'node.xz'));
const manifest = JSON.parse(readFileSync(path.join(root, 'models', 'htdemucs.json'), 'utf8'));
const weights = path.join(nm, manifest.weights.npmPackage, manifest.weights.file);
copyFileSync(cachedXz(weights, 'model.onnx.xz'), path.join(payload, 'model.onnx.xz'));
run('tar', ['-C', stage, '-cJf', path.join(payload, 'app.tar.xz'), 'app']);
// Debian's amd64 packages of the loaders (same list as the device notes), fetched once into the cache.
const debs = path.join(cache, 'debs');
if (!existsSync(debs) || !readdirSync(debs).some((f) => f.startsWith('libvulkan1'))) {
  mkdirSync(debs, { recursive: true });
  const lists = path.join(cache, 'apt-lists');
  mkdirSync(path.join(lists, 'partial'), { recursive: true });
  const o = ['-oAPT::Architecture=amd64', '-oAPT::Architectures=amd64', `-oDir::State::Lists=${lists}`];
  run('apt-get', [...o, 'update']);
  run('apt-get', [...o, 'download', 'libvulkan1', 'libegl1', 'libglvnd0', 'libopengl0', 'libgl1', 'libglx0', 'libgles2'], { cwd: debs });
}
for (const f of readdirSync(debs)) if (f.endsWith('.deb')) copyFileSync(path.join(debs, f), path.join(payload, 'gl', f));
const tarFile = path.join(stage, 'all.tar');
run('tar', ['-C', payload, '-cf', tarFile, '.']);

// 5. Parts, one folder per call; the last also gets the device script and the checksums.
rmSync(out, { recursive: true, force: true });
const size = statSync(tarFile).size;
const nParts = Math.ceil(size / partBytes);
const each = Math.ceil(size / nParts);
run('split', ['-b', String(each), '-d', '-a', '2', tarFile, path.join(stage, 'part-')]);
const sums = [];
for (let i = 0; i < nParts; i++) {
  const name = `part-${String(i).padStart(2, '0')}`;
  const dir = path.join(out, `c${i + 1}`);
  mkdirSync(dir, { recursive: true });
  copyFileSync(path.join(stage, name), path.join(dir, name));
  sums.push(`${await sha256(path.join(dir, name))}  ${name}`);
}
const last = path.join(out, `c${nParts}`);
writeFileSync(path.join(last, 'SHA256SUMS'), sums.join('\n') + '\n');
copyFileSync(path.join(root, 'scripts', 'gpu-device-run.sh'), path.join(last, 'device-run.sh'));
rmSync(tarFile);
for (const f of readdirSync(stage)) if (f.startsWith('part-')) rmSync(path.join(stage, f));

const ignored = spawnSync('git', ['-C', path.dirname(out), 'check-ignore', '-q', out]).status === 0;
console.log(`tar ${(size / 1e6).toFixed(1)} MB in ${nParts} part(s) of ≤ ${(each / 1e6).toFixed(1)} MB: ${out}/c1 … c${nParts}`);
console.log(`device calls: cp cN/part-* /tmp/demix-parts/ (one call per folder, back to back), then bash .gpu/c${nParts}/device-run.sh .gpu/c${nParts}`);
console.log(`test here first: copy the other parts to /tmp/g-parts, then SKIP_GL=1 DEMIX_GPU_WORK=/tmp/g bash ${last}/device-run.sh ${last} /tmp/g-parts`);
if (!ignored) console.log(`WARNING: ${out} is not ignored by git there: add it to .git/info/exclude before a device call.`);
