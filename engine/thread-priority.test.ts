import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { lowerThreadPriority } from './thread-priority.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

describe('lowerThreadPriority', () => {
  it.runIf(process.platform === 'linux')('lowers only the calling thread (and what it starts), never the process', async () => {
    const before = os.getPriority(0);
    // A real worker thread calls lowerThreadPriority, then starts a thread of its own, which inherits the value.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'demix-nice-'));
    const script = path.join(dir, 'w.mjs');
    writeFileSync(
      script,
      `import { register } from ${JSON.stringify(pathToFileURL(path.join(path.dirname(require.resolve('tsx/package.json')), 'dist', 'esm', 'api', 'index.mjs')).href)};
      import { parentPort, Worker } from 'node:worker_threads';
      register();
      const { lowerThreadPriority } = await import(${JSON.stringify(pathToFileURL(path.join(here, 'thread-priority.ts')).href)});
      const own = lowerThreadPriority(7);
      const child = new Worker("require('node:worker_threads').parentPort.postMessage(require('node:os').getPriority(0))", { eval: true });
      child.once('message', (inherited) => parentPort.postMessage({ own, inherited }));`,
    );
    const w = new Worker(script);
    const got = await new Promise<{ own: number; inherited: number }>((res, rej) => (w.once('message', res), w.once('error', rej)));
    rmSync(dir, { recursive: true, force: true });
    await w.terminate();
    expect(got.own).toBe(Math.max(before, 7));
    expect(got.inherited).toBe(Math.max(before, 7));
    expect(os.getPriority(0)).toBe(before); // the main thread (the core's event loop) is untouched
  });

  it('is a no-op off Linux (there the call would change the whole process) and for nice ≤ 0', () => {
    const before = os.getPriority(0);
    expect(lowerThreadPriority(10, 'darwin')).toBeNull();
    expect(lowerThreadPriority(10, 'win32')).toBeNull();
    expect(lowerThreadPriority(0, 'linux')).toBeNull();
    expect(os.getPriority(0)).toBe(before);
  });
});
