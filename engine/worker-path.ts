/** Path of the script to start an engine worker thread with. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliBundleProblem } from '../scripts/freshness.mjs';

/**
 * From sources (CLI through tsx, `demix serve`, tests, benches): the prebuilt dist/engine-worker.js
 * while it is newer than every source it was built from (scripts/freshness.mjs, the check
 * bin/demix.js makes for dist/cli.js), else a bootstrap that registers tsx in the thread and
 * imports worker.ts. The bundle starts about twice as fast: tsx transpiles the engine's modules
 * in every new thread (`npm run bench` → scripts/bench-engine-start.ts measures both).
 * DEMIX_FROM_SOURCE=1 always takes the sources.
 */
export function engineWorkerPath(here = path.dirname(fileURLToPath(import.meta.url))): string {
  const source = path.join(here, 'worker-entry.mjs');
  if (path.basename(here) === 'engine' && existsSync(source)) {
    const root = path.dirname(here);
    if (process.env.DEMIX_FROM_SOURCE !== '1' && cliBundleProblem(root) === null) return path.join(root, 'dist', 'engine-worker.js');
    return source;
  }
  // Bundled app: dist/engine-worker.js next to (or one level above) the bundle that imports this.
  for (const p of [path.join(here, 'engine-worker.js'), path.join(here, '..', 'engine-worker.js')]) if (existsSync(p)) return p;
  return source;
}
