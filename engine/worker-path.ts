/** Path of the script to start an engine worker thread with. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function engineWorkerPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // From sources (CLI, tests): a bootstrap that registers tsx, then imports worker.ts.
  const source = path.join(here, 'worker-entry.mjs');
  if (path.basename(here) === 'engine' && existsSync(source)) return source;
  // Bundled app: dist/engine-worker.js next to (or one level above) the bundle that imports this.
  for (const p of [path.join(here, 'engine-worker.js'), path.join(here, '..', 'engine-worker.js')]) if (existsSync(p)) return p;
  return source;
}
