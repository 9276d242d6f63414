/**
 * Test support (imported only by *.test.ts files): temp folders, a core wired to the fake
 * engine worker (fake-engine-worker.test-double.mjs), and waiting helpers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Job } from '../preload/contract.ts';
import { createCore, type Core, type CoreOptions } from '../main/core.ts';

export const FAKE_WORKER = fileURLToPath(new URL('./fake-engine-worker.test-double.mjs', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

export function tempDir(prefix = 'demix-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Configures the fake worker for workers started from now on (worker threads copy the env). */
export function fakeWorkerConfig(cfg: {
  segments?: number;
  segmentMs?: number;
  stemSeconds?: number;
  provider?: string;
  /** Each segment is a synchronous wait (like ONNX Runtime's native run). */
  blocking?: boolean;
  /** File that gets one line per worker event (see the fake worker's header). */
  log?: string;
  /** Reported with `ready` (why a GPU provider was not used). */
  fallbackReason?: string;
  /** Report the segments' delays as the engine's session.run time (result timings). */
  reportRunMs?: boolean;
  /** Reported with every result as the engine's tempo/beats/key. */
  analysis?: { bpm: number | null; key: string | null; keyConfidence: number | null; beats: number[]; downbeat: number | null; tempoSource?: string | null; ms?: number };
}): void {
  process.env.DEMIX_FAKE_WORKER = JSON.stringify(cfg);
}

export async function fakeCore(dataDir: string, extra: Partial<CoreOptions> = {}): Promise<Core> {
  return createCore({ dataDir, host: 'cli', appVersion: 'test', workerScript: FAKE_WORKER, pollMs: 100, onWarning: () => {}, ...extra });
}

/** Writes `n` small files with distinct content (the fake engine never decodes them). */
export function makeInputs(dir: string, names: string[]): string[] {
  return names.map((n, i) => {
    const p = path.join(dir, n);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, `ID3 fake audio ${i} ${n}`); // an ID3 tag start: named and sniffed as audio (the engine is a double)
    return p;
  });
}

export async function waitFor<T>(fn: () => T | null | undefined | false, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function waitIdle(core: Core, timeoutMs = 60_000): Promise<true> {
  return waitFor(() => {
    const s = core.queue.state();
    return s.queued + s.running === 0;
  }, timeoutMs, 'the queue to drain');
}

export function waitStatus(core: Core, id: string, status: Job['status'] | Job['status'][], timeoutMs = 30_000): Promise<Job> {
  const want = Array.isArray(status) ? status : [status];
  return waitFor(() => {
    const j = core.jobs.get(id);
    return want.includes(j.status) ? j : null;
  }, timeoutMs, `job ${id} to be ${want.join('|')}`);
}

export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out.sort();
}
