// Smoke tests of the real bundles from scripts/build.mjs (no Electron binary needed):
// - dist/electron/main.js runs under plain Node with `electron` stubbed (scripts/fixtures/),
//   on the real core, and answers IPC and protocol requests;
// - dist/electron/preload.cjs loads as a sandboxed CommonJS preload and installs window.demix;
// - dist/engine-worker.js starts as a worker thread and speaks the worker protocol.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessWorker } from '../main/queue/process-worker.ts';
import { DemixRemoteError } from '../preload/contract.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'demix-build-'));

beforeAll(async () => {
  const { buildAll } = await import('./build.mjs');
  // The app page (and its CSP) is served from dist/renderer: build it when a fresh clone has none.
  await buildAll({ renderer: !existsSync(path.join(dist, 'renderer', 'index.html')) });
}, 180_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('npm run build', () => {
  it('writes the three bundles, the manifests and the icon', () => {
    for (const f of ['electron/main.js', 'electron/preload.cjs', 'engine-worker.js', 'media-worker.js', 'models/htdemucs.json', 'electron/icon.png']) {
      expect(existsSync(path.join(dist, f)), f).toBe(true);
    }
    const main = readFileSync(path.join(dist, 'electron', 'main.js'), 'utf8');
    // Native modules stay external; nothing from the renderer or tsx is bundled.
    expect(main).toMatch(/from "better-sqlite3"|require\("better-sqlite3"\)/);
    expect(main).not.toContain('node_modules/react-dom');
    expect(main).not.toContain('tsx/esm/api');
  });

  it('the bundled main process runs on the real core (electron stubbed)', () => {
    const userData = path.join(tmp, 'userData');
    writeFileSync(path.join(tmp, 'first.mp3'), 'not really audio');
    writeFileSync(path.join(tmp, 'second.flac'), 'not really audio either');
    const res = spawnSync(process.execPath, ['--import', './scripts/fixtures/electron-stub-loader.mjs', 'dist/electron/main.js'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, DEMIX_STUB: JSON.stringify({ userData, appPath: root, song: 'first.mp3', cwd: tmp, song2: path.join(tmp, 'second.flac') }) },
    });
    const events = res.stdout
      .split('\n')
      .filter((l) => l.startsWith('STUB '))
      .map((l) => JSON.parse(l.slice(5)) as { what: string; [k: string]: unknown });
    const by = (what: string) => events.filter((e) => e.what === what);
    expect(by('drive-error'), res.stderr).toEqual([]);
    expect(res.status, res.stderr).toBe(0);
    expect(by('schemes')[0].schemes).toEqual(['demix-app', 'demix-media']);
    expect(by('window')[0]).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, preload: path.join(dist, 'electron', 'preload.cjs') });
    expect(by('load')[0].url).toBe('demix-app://app/index.html');
    expect(by('ipc-handle').map((e) => e.channel)).toEqual(['demix:invoke']);
    const invokes = by('invoke');
    expect(invokes[0].result).toEqual({ ok: true, value: { contractVersion: 1, appVersion: '0.0.0-stub', host: 'electron' } });
    expect(invokes[1]).toMatchObject({ ok: true, keys: expect.arrayContaining(['outputDir', 'concurrency']) });
    expect(invokes[2].result).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(invokes[3].result).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(by('media')[0].status).toBe(404);
    // Single-instance forwarding and macOS open-file put the files in the running app's queue.
    expect(by('jobs')[0]).toEqual({ what: 'jobs', names: ['first.mp3', 'second.flac'], statuses: ['queued', 'queued'] });
    expect(by('focus').length).toBeGreaterThanOrEqual(1); // and bring the window forward
    expect(String(by('app-page')[0].csp)).toContain("script-src 'self'");
    expect(by('quit')).toHaveLength(1);
    expect(existsSync(path.join(userData, 'demix.db'))).toBe(true); // the core lives in Electron's userData
    // Engine processes start as Electron utility processes (main/electron/engine-process.ts,
    // tested with electron mocked) from the shipped host entry, which the build copies.
    expect(readFileSync(path.join(dist, 'electron', 'main.js'), 'utf8')).toMatch(/utilityProcess\.fork\(/);
    expect(by('utility-fork')).toEqual([]); // nothing here starts an engine (the stub would refuse)
    expect(readFileSync(path.join(dist, 'engine-host.mjs'), 'utf8')).toBe(readFileSync(path.join(root, 'engine', 'process-host.mjs'), 'utf8'));
    expect(readFileSync(path.join(dist, 'engine-spawner.mjs'), 'utf8')).toBe(readFileSync(path.join(root, 'engine', 'spawner.mjs'), 'utf8'));
  });

  it('the preload bundle installs window.demix from a sandbox-style CommonJS load', async () => {
    const code = readFileSync(path.join(dist, 'electron', 'preload.cjs'), 'utf8');
    const executed: { func: (...a: unknown[]) => unknown; args: unknown[] }[] = [];
    const exposedKeys: string[] = [];
    const invokes: unknown[][] = [];
    const electron = {
      contextBridge: {
        executeInMainWorld: (s: { func: (...a: unknown[]) => unknown; args: unknown[] }) => executed.push(s),
        exposeInMainWorld: (k: string) => exposedKeys.push(k),
      },
      ipcRenderer: {
        on() {},
        send() {},
        invoke: async (...a: unknown[]) => {
          invokes.push(a);
          return a[1] === 'jobs:get' ? { ok: false, error: { code: 'NOT_FOUND', message: 'No job.' } } : { ok: true, value: { answer: 42 } };
        },
      },
      webUtils: { getPathForFile: () => '/x.wav' },
    };
    // A sandboxed preload gets a restricted `require`: only 'electron' (and a few others) resolve.
    const sandboxRequire = (id: string) => {
      if (id === 'electron') return electron;
      throw new Error(`module not found in the sandbox: ${id}`);
    };
    const module = { exports: {} };
    vm.runInNewContext(code, { require: sandboxRequire, module, exports: module.exports, console, Promise, Error, setTimeout });
    expect(exposedKeys).toEqual([]);
    expect(executed).toHaveLength(1);

    // Electron serialises the installer into the page's world.
    const page = vm.createContext({ raw: executed[0].args[0] });
    vm.runInContext(`(${executed[0].func.toString()})(raw)`, page);
    const demix = (page as { demix: { invoke(c: string, r: unknown): Promise<unknown>; mediaUrl(a: string, b: string): string } }).demix;
    expect(await demix.invoke('settings:get', {})).toEqual({ answer: 42 });
    expect(invokes[0]).toEqual(['demix:invoke', 'settings:get', {}]);
    const err = await demix.invoke('jobs:get', { id: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DemixRemoteError);
    expect(err).toMatchObject({ code: 'NOT_FOUND', message: 'No job.' });
    expect(demix.mediaUrl('a', 'vocals')).toBe('demix-media://job/a/vocals');
  });

  it('the engine worker bundle starts in its own process from dist/engine-host.mjs and speaks the worker protocol', async () => {
    // As the app starts it (main/queue/pool.ts): a process whose entry is the copied host.
    const worker = new ProcessWorker(path.join(dist, 'engine-worker.js'), { host: path.join(dist, 'engine-host.mjs') });
    try {
      const reply = await new Promise<{ type: string; error?: { code: string; message: string } }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.postMessage({ type: 'init', modelId: 'no-such-model', device: 'cpu' });
      });
      expect(reply.type).toBe('init-error');
      expect(reply.error?.code).toBe('MODEL_NOT_FOUND');
      expect(reply.error?.message).toMatch(/htdemucs/); // lists the known models: manifests found from dist/
    } finally {
      await worker.terminate();
    }
  });

  it('the media worker bundle starts and answers peaks requests (with the engine error code)', async () => {
    const worker = new Worker(path.join(dist, 'media-worker.js'));
    try {
      const reply = await new Promise<{ id: number; ok: boolean; error?: { code?: string } }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.postMessage({ id: 7, op: 'peaks', file: path.join(tmp, 'missing.wav') });
      });
      expect(reply).toMatchObject({ id: 7, ok: false, error: { code: 'INPUT_NOT_FOUND' } });
    } finally {
      await worker.terminate();
    }
  });

  it('the media worker bundle renders a practice mixdown (signalsmith-stretch bundled, its WASM run in the thread)', async () => {
    const tone = path.join(tmp, 'tone.wav');
    const made = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-ac', '2', tone]);
    expect(made.status).toBe(0);
    const worker = new Worker(path.join(dist, 'media-worker.js'));
    try {
      const reply = await new Promise<{ id: number; ok: boolean; value?: { path: string; durationSec: number } }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        const opts = { inputs: [{ path: tone, gain: 1 }], outDir: tmp, fileName: 'slow.wav', format: 'wav', bits: 16, clipMode: 'rescale', practice: { tempoPct: 50, semitones: -2 } };
        worker.postMessage({ id: 8, op: 'mixdown', opts });
      });
      expect(reply).toMatchObject({ id: 8, ok: true, value: { path: path.join(tmp, 'slow.wav') } });
      expect(reply.value!.durationSec).toBeCloseTo(2, 3);
    } finally {
      await worker.terminate();
    }
  });
});
