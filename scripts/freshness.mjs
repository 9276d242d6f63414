/**
 * Is a build output newer than everything it was built from? Plain JavaScript with no
 * dependencies, because bin/demix.js asks it at every start (a few dozen stat calls).
 *
 * - The CLI bundle (dist/cli.js + dist/engine-worker.js, by scripts/build.mjs) records its
 *   source inputs in dist/cli.inputs.json (from esbuild's metafile).
 * - The renderer (dist/renderer, by vite) is compared with renderer/, preload/ and the files
 *   that shape its build.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** Newest modification time (ms) of the files (folders are walked); missing files count as 0. */
export function newestMtime(paths) {
  let newest = 0;
  const visit = (p) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(p)) if (name !== 'node_modules' && !name.startsWith('.')) visit(path.join(p, name));
    } else if (st.mtimeMs > newest) newest = st.mtimeMs;
  };
  for (const p of paths) visit(p);
  return newest;
}

function mtimeOf(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return null;
  }
}

export const CLI_BUNDLE = 'dist/cli.js';
export const CLI_INPUTS = 'dist/cli.inputs.json';

/** Why dist/cli.js cannot be used (a short phrase), or null when it is present and fresh. */
export function cliBundleProblem(root) {
  const built = Math.min(...[CLI_BUNDLE, 'dist/engine-worker.js', 'dist/media-worker.js'].map((f) => mtimeOf(path.join(root, f)) ?? -1));
  if (built < 0) return 'not built';
  let inputs;
  try {
    inputs = JSON.parse(readFileSync(path.join(root, CLI_INPUTS), 'utf8')).inputs;
  } catch {
    return 'no input list';
  }
  if (!Array.isArray(inputs) || inputs.length === 0) return 'no input list';
  for (const rel of inputs) {
    const m = mtimeOf(path.join(root, rel));
    if (m === null) return `${rel} is gone`;
    if (m > built) return `${rel} changed`;
  }
  return null;
}

/** What the renderer build depends on (relative to the repository root). */
export const RENDERER_INPUTS = ['renderer', 'preload', 'vite.config.ts', 'scripts/licenses.mjs', 'package.json'];

/** Why dist/renderer must be (re)built (a short phrase), or null when it is fresh. */
export function rendererProblem(root, outDir = path.join(root, 'dist', 'renderer')) {
  const built = mtimeOf(path.join(outDir, 'index.html'));
  if (built === null) return 'not built';
  if (mtimeOf(path.join(outDir, 'third-party-notices.txt')) === null) return 'no licence notices';
  return newestMtime(RENDERER_INPUTS.map((p) => path.join(root, p))) > built ? 'sources changed' : null;
}
