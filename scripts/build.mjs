#!/usr/bin/env node
/**
 * `npm run build`: bundles the Electron main process, the preload and the engine worker with
 * esbuild, copies the model manifests and the app icon next to them, then builds the renderer
 * with vite (when vite.config.ts exists).
 *
 *   dist/electron/main.js     ESM (package.json "type": "module"); native modules stay external
 *   dist/electron/preload.cjs CommonJS, as sandboxed preloads must be
 *   dist/cli.js               the `demix` CLI (bin/demix.js uses it while it is fresh, else tsx)
 *   dist/cli.inputs.json      the source files dist/cli.js and the worker were built from
 *   dist/engine-worker.js     ESM worker_threads entry (onnxruntime-node external)
 *   dist/media-worker.js      ESM worker_threads entry for peaks and mixdowns (main/media-worker.ts)
 *   dist/ort-thread.mjs       the thread that runs ONNX Runtime (copied from engine/)
 *   dist/engine-host.mjs      the engine worker's process entry (copied from engine/process-host.mjs)
 *   dist/engine-spawner.mjs   the engine process's ffmpeg spawner on Linux (copied from engine/spawner.mjs)
 *   dist/models/*.json        built-in model manifests (models/registry.ts looks there)
 *   dist/electron/icon.png    window/drag icon
 *   dist/THIRD-PARTY-NOTICES.txt  from the production dependency tree (scripts/licenses.mjs)
 *   dist/renderer/            vite build (with third-party-notices.txt, see vite.config.ts)
 *
 * Bundles are written to a temporary name and renamed into place, so a CLI or worker that
 * starts during a rebuild never reads half a file.
 *
 * Flags: --no-renderer (skip vite), --cli (only the CLI, its worker and the notices: what
 * postinstall builds), --renderer (only the renderer), --quiet.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { CLI_INPUTS } from './freshness.mjs';
import { renderNotices } from './licenses.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const args = new Set(process.argv.slice(2));
let quiet = args.has('--quiet');
const say = (m) => quiet || console.log(m);
/** Only errors from now on (postinstall prints its own one-line summaries). */
export function setQuiet(q = true) {
  quiet = q;
}

/** Native or runtime-resolved packages: loaded from node_modules at run time, never bundled. */
export const NATIVE_EXTERNALS = ['better-sqlite3', 'onnxruntime-node', 'ffmpeg-static', 'bufferutil', 'utf-8-validate'];

// ESM bundles that contain CommonJS dependencies need a real `require` for Node built-ins.
const esmBanner = {
  js: [
    "import { createRequire as __demixCreateRequire } from 'node:module';",
    'const require = __demixCreateRequire(import.meta.url);',
  ].join('\n'),
};

const common = {
  absWorkingDir: root,
  bundle: true,
  sourcemap: 'linked',
  get logLevel() {
    return quiet ? 'error' : 'warning';
  },
  legalComments: 'none',
};

/** Writes a file under a temporary name, then renames it into place. */
function writeAtomic(file, contents) {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, file);
}

/** Writes esbuild's in-memory output files atomically; returns the source inputs (outside node_modules). */
function writeOutputs(result) {
  for (const f of result.outputFiles) writeAtomic(f.path, f.contents);
  return Object.keys(result.metafile.inputs).filter((f) => !f.includes('node_modules/') && !f.startsWith('<'));
}

/** Chunks of earlier builds that nothing has needed for an hour (a CLI started before a rebuild may still load its own). */
function removeOldChunks(keep) {
  const dir = path.join(dist, 'chunks');
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) {
    const p = path.join(dir, f);
    if (!keep.has(p) && Date.now() - statSync(p).mtimeMs > 3600_000) rmSync(p, { force: true });
  }
}

function copyAtomic(from, to) {
  mkdirSync(path.dirname(to), { recursive: true });
  const tmp = `${to}.${process.pid}.tmp`;
  copyFileSync(from, tmp);
  renameSync(tmp, to);
}

/**
 * The `demix` CLI and the engine worker it starts (plus the ONNX Runtime thread and the model
 * manifests they look up next to themselves). Needs only esbuild: postinstall runs this.
 */
export async function buildCli() {
  // The CLI is split: what `demix --version` needs is parsed at start; ONNX Runtime, the web
  // bridge and the doctor load from dist/chunks/ only when a command uses them. The worker is
  // one self-contained file, as the packaged app (which has no dist/chunks/) needs it.
  const node = { ...common, platform: 'node', format: 'esm', target: 'node20', external: NATIVE_EXTERNALS, banner: esmBanner, write: false, metafile: true };
  const [cli, worker, mediaWorker] = await Promise.all([
    build({ ...node, entryPoints: { cli: 'main/cli.ts' }, outdir: 'dist', chunkNames: 'chunks/[name]-[hash]', splitting: true }),
    build({ ...node, entryPoints: ['engine/worker.ts'], outfile: 'dist/engine-worker.js' }),
    build({ ...node, entryPoints: ['main/media-worker.ts'], outfile: 'dist/media-worker.js' }),
  ]);
  // The model's own thread (engine/session.ts ThreadRunner) is plain JavaScript: copied as is.
  copyAtomic(path.join(root, 'engine', 'ort-thread.mjs'), path.join(dist, 'ort-thread.mjs'));
  // The engine worker's process entry (main/queue/process-worker.ts) is plain JavaScript too.
  copyAtomic(path.join(root, 'engine', 'process-host.mjs'), path.join(dist, 'engine-host.mjs'));
  copyAtomic(path.join(root, 'engine', 'spawner.mjs'), path.join(dist, 'engine-spawner.mjs'));
  for (const f of readdirSync(path.join(root, 'models'))) {
    if (f.endsWith('.json')) copyAtomic(path.join(root, 'models', f), path.join(dist, 'models', f));
  }
  // Chunks first, entries last: an entry never points at a chunk that is not there yet.
  const isChunk = (f) => f.path.includes(`${path.sep}chunks${path.sep}`);
  cli.outputFiles.sort((a, b) => Number(isChunk(b)) - Number(isChunk(a)));
  const inputs = [...new Set([...writeOutputs(worker), ...writeOutputs(mediaWorker), ...writeOutputs(cli), 'engine/ort-thread.mjs', 'engine/process-host.mjs', 'engine/spawner.mjs', 'scripts/build.mjs'])].sort();
  removeOldChunks(new Set(cli.outputFiles.map((f) => f.path)));
  // Written last: bin/demix.js trusts dist/cli.js only when this list is there and older.
  writeAtomic(path.join(root, CLI_INPUTS), JSON.stringify({ inputs }, null, 1) + '\n');
  say('esbuild: dist/cli.js, dist/engine-worker.js, dist/media-worker.js');
}

/** dist/THIRD-PARTY-NOTICES.txt from the production dependency tree (shipped by the installers). */
export function writeNotices() {
  writeAtomic(path.join(dist, 'THIRD-PARTY-NOTICES.txt'), renderNotices(root));
}

/**
 * The renderer (vite), built into a temporary folder and swapped in, so a running `demix serve`
 * never serves a half-emptied folder. Returns false when vite is not installed.
 */
export function buildRenderer() {
  const vite = path.join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  if (!existsSync(path.join(root, 'vite.config.ts')) || !existsSync(vite)) {
    say('vite: not installed, renderer not built');
    return false;
  }
  const out = path.join(dist, 'renderer');
  const tmp = path.join(dist, `.renderer-${process.pid}-${Date.now()}`);
  const old = `${tmp}-old`;
  const res = spawnSync(process.execPath, [vite, 'build', '--outDir', tmp, ...(quiet ? ['--logLevel', 'error'] : [])], {
    cwd: root,
    stdio: quiet ? ['ignore', 'ignore', 'pipe'] : 'inherit',
    encoding: 'utf8',
  });
  if (res.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    const why = (res.stderr ?? '').trim().split('\n').filter(Boolean).pop();
    throw new Error(`vite build failed (exit ${res.status ?? res.signal})${why ? `: ${why}` : ''}`);
  }
  if (existsSync(out)) renameSync(out, old);
  renameSync(tmp, out);
  rmSync(old, { recursive: true, force: true });
  return true;
}

export async function buildAll({ renderer = true } = {}) {
  rmSync(path.join(dist, 'electron'), { recursive: true, force: true });
  mkdirSync(path.join(dist, 'electron'), { recursive: true });

  await Promise.all([
    build({
      ...common,
      entryPoints: ['main/electron/main.ts'],
      outfile: 'dist/electron/main.js',
      platform: 'node',
      format: 'esm',
      target: 'node22',
      external: ['electron', ...NATIVE_EXTERNALS],
      banner: esmBanner,
    }),
    build({
      ...common,
      entryPoints: ['preload/index.ts'],
      outfile: 'dist/electron/preload.cjs',
      platform: 'browser',
      format: 'cjs',
      target: 'chrome130',
      external: ['electron'],
      // The main-world installer is serialised by Electron: it must stay free of injected
      // helpers (no keepNames); minifying renames only its own locals.
      keepNames: false,
      minify: true,
    }),
    buildCli(),
  ]);
  say('esbuild: dist/electron/main.js, dist/electron/preload.cjs');
  writeNotices();

  const icon = path.join(root, 'build', 'icon.png');
  if (existsSync(icon)) copyFileSync(icon, path.join(dist, 'electron', 'icon.png'));

  if (renderer) buildRenderer();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const run = args.has('--cli')
    ? buildCli().then(writeNotices)
    : args.has('--renderer')
      ? Promise.resolve().then(buildRenderer)
      : buildAll({ renderer: !args.has('--no-renderer') });
  run.catch((e) => {
    console.error(`build failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
