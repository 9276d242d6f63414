#!/usr/bin/env node
/**
 * `npm run build`: bundles the Electron main process, the preload and the engine worker with
 * esbuild, copies the model manifests and the app icon next to them, then builds the renderer
 * with vite (when vite.config.ts exists).
 *
 *   dist/electron/main.js     ESM (package.json "type": "module"); native modules stay external
 *   dist/electron/preload.cjs CommonJS, as sandboxed preloads must be
 *   dist/engine-worker.js     ESM worker_threads entry (onnxruntime-node external)
 *   dist/media-worker.js      ESM worker_threads entry for peaks and mixdowns (main/media-worker.ts)
 *   dist/ort-thread.mjs       the thread that runs ONNX Runtime (copied from engine/)
 *   dist/models/*.json        built-in model manifests (models/registry.ts looks there)
 *   dist/electron/icon.png    window/drag icon
 *   dist/renderer/            vite build
 *
 * Flags: --no-renderer (skip vite), --quiet.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const args = new Set(process.argv.slice(2));
const quiet = args.has('--quiet');
const say = (m) => quiet || console.log(m);

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
  logLevel: quiet ? 'error' : 'warning',
  legalComments: 'none',
};

export async function buildAll({ renderer = true } = {}) {
  rmSync(path.join(dist, 'electron'), { recursive: true, force: true });
  rmSync(path.join(dist, 'engine-worker.js'), { force: true });
  rmSync(path.join(dist, 'engine-worker.js.map'), { force: true });
  rmSync(path.join(dist, 'media-worker.js'), { force: true });
  rmSync(path.join(dist, 'media-worker.js.map'), { force: true });
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
    build({
      ...common,
      entryPoints: ['engine/worker.ts'],
      outfile: 'dist/engine-worker.js',
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: NATIVE_EXTERNALS,
      banner: esmBanner,
    }),
    build({
      ...common,
      entryPoints: ['main/media-worker.ts'],
      outfile: 'dist/media-worker.js',
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: NATIVE_EXTERNALS,
      banner: esmBanner,
    }),
  ]);
  say('esbuild: dist/electron/main.js, dist/electron/preload.cjs, dist/engine-worker.js, dist/media-worker.js');

  // The model's own thread (engine/session.ts ThreadRunner) is plain JavaScript: copied as is.
  copyFileSync(path.join(root, 'engine', 'ort-thread.mjs'), path.join(dist, 'ort-thread.mjs'));

  const modelsOut = path.join(dist, 'models');
  mkdirSync(modelsOut, { recursive: true });
  for (const f of readdirSync(path.join(root, 'models'))) {
    if (f.endsWith('.json')) copyFileSync(path.join(root, 'models', f), path.join(modelsOut, f));
  }
  const icon = path.join(root, 'build', 'icon.png');
  if (existsSync(icon)) copyFileSync(icon, path.join(dist, 'electron', 'icon.png'));

  if (!renderer) return;
  if (!existsSync(path.join(root, 'vite.config.ts'))) {
    say('vite: no vite.config.ts yet, renderer not built');
    return;
  }
  const vite = path.join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  const res = spawnSync(process.execPath, [vite, 'build', ...(quiet ? ['--logLevel', 'error'] : [])], { cwd: root, stdio: 'inherit' });
  if (res.status !== 0) throw new Error(`vite build failed (exit ${res.status ?? res.signal})`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildAll({ renderer: !args.has('--no-renderer') }).catch((e) => {
    console.error(`build failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
