import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../testing/test-harness.ts';
import { engineWorkerPath } from './worker-path.ts';

/** A repository layout: engine/ sources and a dist/ bundle built from them (at `builtAt`). */
function layout(builtAt: number): string {
  const root = tempDir();
  mkdirSync(path.join(root, 'engine'));
  mkdirSync(path.join(root, 'dist'));
  for (const f of ['engine/worker-entry.mjs', 'engine/worker.ts']) {
    writeFileSync(path.join(root, f), '');
    utimesSync(path.join(root, f), builtAt / 1000 - 60, builtAt / 1000 - 60);
  }
  writeFileSync(path.join(root, 'dist/cli.inputs.json'), JSON.stringify({ inputs: ['engine/worker.ts'] }));
  for (const f of ['dist/cli.js', 'dist/engine-worker.js', 'dist/media-worker.js']) {
    writeFileSync(path.join(root, f), '');
    utimesSync(path.join(root, f), builtAt / 1000, builtAt / 1000);
  }
  return root;
}

describe('engineWorkerPath from the sources', () => {
  const saved = process.env.DEMIX_FROM_SOURCE;
  afterEach(() => {
    if (saved === undefined) delete process.env.DEMIX_FROM_SOURCE;
    else process.env.DEMIX_FROM_SOURCE = saved;
  });

  it('takes the prebuilt dist/engine-worker.js while it is fresh (no tsx in the thread)', () => {
    delete process.env.DEMIX_FROM_SOURCE;
    const root = layout(Date.now());
    expect(engineWorkerPath(path.join(root, 'engine'))).toBe(path.join(root, 'dist', 'engine-worker.js'));
  });

  it('falls back to the tsx bootstrap when a source is newer than the bundle, or when asked to', () => {
    delete process.env.DEMIX_FROM_SOURCE;
    const root = layout(Date.now() - 3600_000);
    const now = Date.now() / 1000;
    utimesSync(path.join(root, 'engine/worker.ts'), now, now);
    expect(engineWorkerPath(path.join(root, 'engine'))).toBe(path.join(root, 'engine', 'worker-entry.mjs'));

    const fresh = layout(Date.now());
    process.env.DEMIX_FROM_SOURCE = '1';
    expect(engineWorkerPath(path.join(fresh, 'engine'))).toBe(path.join(fresh, 'engine', 'worker-entry.mjs'));
  });

  it('without a build: the tsx bootstrap', () => {
    delete process.env.DEMIX_FROM_SOURCE;
    const root = tempDir();
    mkdirSync(path.join(root, 'engine'));
    writeFileSync(path.join(root, 'engine/worker-entry.mjs'), '');
    expect(engineWorkerPath(path.join(root, 'engine'))).toBe(path.join(root, 'engine', 'worker-entry.mjs'));
  });
});
